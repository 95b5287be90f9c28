import type { RequestOptions } from '../core.js';
import { camelizeKeys, fromWire, toRequestBody } from '../models.js';
import type * as gen from '../models.gen.js';
import type { ListAllParams, Page, PageParams } from '../pagination.js';
import { Resource, seg } from './base.js';

/** The user's own JSON in a record, kept exactly as it came while the rest is camelCased. */
function keepVerbatim<T>(raw: unknown, fields: readonly string[]): T {
  if (typeof raw !== 'object' || raw === null) return raw as T;
  const record = raw as Record<string, unknown>;
  const rest: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(record)) if (!fields.includes(k)) rest[k] = v;
  const out = camelizeKeys(rest) as Record<string, unknown>;
  for (const f of fields) if (f in record) out[f] = record[f];
  return out as T;
}

/** A logged tool call; `arguments` and `result` are the user's JSON, as sent and answered. */
export type ToolCall = gen.ToolCall;
/** A project's public key for member assertions; `jwk` is kept as registered. */
export type SigningKey = gen.SigningKey;
/** A member session token for `/mcp`. */
export type SessionToken = gen.SessionToken;
/** Who the client's key is. */
export type Me = gen.Me;
/** A portal session (its `url` only in the create answer). */
export type PortalSession = gen.PortalSession;
/** A console sign-in. */
export type ConsoleSession = gen.ConsoleSession;
/** An opened portal. */
export type PortalExchange = gen.PortalExchange;

/** Filters of the call log. */
export interface ToolCallListParams extends PageParams {
  toolId?: string | undefined;
  memberId?: string | undefined;
  status?: 'succeeded' | 'failed' | 'refused' | undefined;
}

const toCall = (raw: unknown): ToolCall => keepVerbatim<ToolCall>(raw, ['arguments', 'result']);
const toSigningKey = (raw: unknown): SigningKey => keepVerbatim<SigningKey>(raw, ['jwk']);

/** `/projects/{id}/tool-calls`: every tool call `/mcp` made or refused. */
export class ToolCalls extends Resource {
  private path(projectId: string, callId?: string): string {
    const base = `/projects/${seg(projectId)}/tool-calls`;
    return callId === undefined ? base : `${base}/${seg(callId)}`;
  }

  list(projectId: string, params: ToolCallListParams = {}, options?: RequestOptions): Promise<Page<ToolCall>> {
    const query = {
      page: params.page,
      per_page: params.perPage,
      tool_id: params.toolId,
      member_id: params.memberId,
      status: params.status,
    };
    return this.listPage(this.path(projectId), query, toCall, options);
  }

  listAll(
    projectId: string,
    params: ListAllParams & Omit<ToolCallListParams, 'page' | 'perPage'> = {},
    options?: RequestOptions,
  ): AsyncGenerator<ToolCall, void, undefined> {
    const query = { per_page: params.perPage, tool_id: params.toolId, member_id: params.memberId, status: params.status };
    return this.listEvery(this.path(projectId), query, toCall, options);
  }

  async retrieve(projectId: string, callId: string, options?: RequestOptions): Promise<ToolCall> {
    return toCall(await this.client.request({ method: 'GET', path: this.path(projectId, callId), options }));
  }
}

/** `POST /projects/{id}/signing-keys`: exactly one of `publicKeyPem` and `jwk`. */
export interface SigningKeyCreateParams {
  kid: string;
  alg: 'ES256' | 'ES384' | 'EdDSA' | 'RS256';
  publicKeyPem?: string | undefined;
  jwk?: Record<string, unknown> | undefined;
}

/** `/projects/{id}/signing-keys`: the public keys a project's backend signs member assertions with. */
export class SigningKeys extends Resource {
  private path(projectId: string, keyId?: string): string {
    const base = `/projects/${seg(projectId)}/signing-keys`;
    return keyId === undefined ? base : `${base}/${seg(keyId)}`;
  }

  list(projectId: string, params: PageParams = {}, options?: RequestOptions): Promise<Page<SigningKey>> {
    return this.listPage(this.path(projectId), { page: params.page, per_page: params.perPage }, toSigningKey, options);
  }

  async create(projectId: string, params: SigningKeyCreateParams, options?: RequestOptions): Promise<SigningKey> {
    const body: Record<string, unknown> = { kid: params.kid, alg: params.alg };
    if (params.publicKeyPem !== undefined) body.public_key_pem = params.publicKeyPem;
    if (params.jwk !== undefined) body.jwk = params.jwk;
    return toSigningKey(await this.client.request({ method: 'POST', path: this.path(projectId), body, options }));
  }

  async retrieve(projectId: string, keyId: string, options?: RequestOptions): Promise<SigningKey> {
    return toSigningKey(await this.client.request({ method: 'GET', path: this.path(projectId, keyId), options }));
  }

  async delete(projectId: string, keyId: string, options?: RequestOptions): Promise<void> {
    await this.client.request({ method: 'DELETE', path: this.path(projectId, keyId), options });
  }
}

/** `/mcp` helpers for a project's backend. */
export class Mcp extends Resource {
  /**
   * Exchanges a member assertion (a JWT your backend signed) for a 15-minute `tng_mst_`
   * token an MCP client uses at `/mcp` for that member. An account-wide key names the
   * project with `projectId`.
   */
  async sessionToken(
    memberAssertion: string,
    params: { projectId?: string | undefined } = {},
    options?: RequestOptions,
  ): Promise<SessionToken> {
    const headers = params.projectId ? { 'X-Tengine-Project-Id': params.projectId, ...(options?.headers ?? {}) } : options?.headers;
    const raw = await this.client.request({
      method: 'POST',
      path: '/mcp/session-token',
      body: { member_assertion: memberAssertion },
      options: { ...options, headers },
    });
    return keepVerbatim<SessionToken>(raw, ['member']);
  }
}

/** `POST /projects/{id}/portal-sessions`. */
export interface PortalSessionCreateParams {
  permissions: Array<'read' | 'write' | 'webhook'>;
  sections?: Array<'keys' | 'webhooks' | 'deliveries' | 'usage'> | undefined;
  lifetimeSecs?: number | undefined;
  allowedOrigins?: string[] | undefined;
  theme?: { accent?: string; background?: string; text?: string; radius?: string } | undefined;
}

/** `/projects/{id}/portal-sessions`: embeddable portals for one project. */
export class PortalSessions extends Resource {
  private path(projectId: string, id?: string): string {
    const base = `/projects/${seg(projectId)}/portal-sessions`;
    return id === undefined ? base : `${base}/${seg(id)}`;
  }

  list(projectId: string, params: PageParams = {}, options?: RequestOptions): Promise<Page<PortalSession>> {
    return this.listPage(this.path(projectId), { page: params.page, per_page: params.perPage }, (raw) => fromWire<PortalSession>(raw), options);
  }

  async create(projectId: string, params: PortalSessionCreateParams, options?: RequestOptions): Promise<PortalSession> {
    const body = toRequestBody(params);
    return fromWire(await this.client.request({ method: 'POST', path: this.path(projectId), body, options }));
  }

  async revoke(projectId: string, id: string, options?: RequestOptions): Promise<void> {
    await this.client.request({ method: 'DELETE', path: this.path(projectId, id), options });
  }
}

/** Sign-in sessions of the console and the portal's code exchange. */
export class Sessions extends Resource {
  /** Exchanges the client's API key for a console token (`tng_cs_...`). */
  async signIn(options?: RequestOptions): Promise<ConsoleSession> {
    return fromWire(await this.client.request({ method: 'POST', path: '/console/sessions', body: {}, options }));
  }

  /** Ends the client's console session (its token is the client's key). */
  async signOut(options?: RequestOptions): Promise<void> {
    await this.client.request({ method: 'DELETE', path: '/console/sessions/current', options });
  }

  /** Opens a portal with its URL's one-time code (no key needed). */
  async exchangePortalCode(code: string, options?: RequestOptions): Promise<PortalExchange> {
    return fromWire(await this.client.request({ method: 'POST', path: '/portal/exchange', body: { code }, options }));
  }
}
