import type { RequestOptions } from '../core.js';
import { fromWire, toRequestBody, type ApiKey, type Permission } from '../models.js';
import type { CursorPageParams, ListAllParams, Page, PageParams } from '../pagination.js';
import { Resource, seg } from './base.js';

export interface ApiKeyCreateParams {
  /** 1..=100 characters. */
  name: string;
  /** A non-empty subset of `read`, `write`, `webhook`, `admin`. */
  permissions: Permission[];
  /** RFC 3339, in the future; omitted: the creating key's own expiry. */
  expiresAt?: string | Date | undefined;
}

export interface ApiKeyUpdateParams {
  name?: string | undefined;
  permissions?: Permission[] | undefined;
  /** `null` removes the expiry (within what the caller's own key allows). */
  expiresAt?: string | Date | null | undefined;
}

export interface ApiKeyRotateParams {
  /** How long the old secret keeps working, 0..=604800 seconds (default 0). */
  gracePeriodSeconds?: number | undefined;
}

const toApiKey = (raw: unknown): ApiKey => fromWire<ApiKey>(raw);

function withDates<T extends { expiresAt?: string | Date | null | undefined }>(params: T): Record<string, unknown> {
  const e = params.expiresAt;
  return toRequestBody({ ...params, expiresAt: e instanceof Date ? e.toISOString() : e });
}

/** `/projects/{id}/api-keys`. */
export class ApiKeys extends Resource {
  private path(projectId: string, keyId?: string): string {
    const base = `/projects/${seg(projectId)}/api-keys`;
    return keyId === undefined ? base : `${base}/${seg(keyId)}`;
  }

  /** One page of the project's keys (metadata only, never the secret). */
  list(projectId: string, params: CursorPageParams = {}, options?: RequestOptions): Promise<Page<ApiKey>> {
    return this.listKeyset(this.path(projectId), { page: params.page, per_page: params.perPage, starting_after: params.startingAfter, ending_before: params.endingBefore }, toApiKey, options);
  }

  listAll(projectId: string, params: ListAllParams = {}, options?: RequestOptions): AsyncGenerator<ApiKey, void, undefined> {
    return this.listEveryKeyset(this.path(projectId), { per_page: params.perPage }, toApiKey, options);
  }

  /** Creates a project-scoped key; the result's `key` is the secret, shown only here. */
  async create(projectId: string, params: ApiKeyCreateParams, options?: RequestOptions): Promise<ApiKey> {
    return toApiKey(
      await this.client.request({ method: 'POST', path: this.path(projectId), body: withDates(params), options }),
    );
  }

  async retrieve(projectId: string, keyId: string, options?: RequestOptions): Promise<ApiKey> {
    return toApiKey(await this.client.request({ method: 'GET', path: this.path(projectId, keyId), options }));
  }

  /** Alias of {@link retrieve}. */
  get(projectId: string, keyId: string, options?: RequestOptions): Promise<ApiKey> {
    return this.retrieve(projectId, keyId, options);
  }

  async update(projectId: string, keyId: string, params: ApiKeyUpdateParams, options?: RequestOptions): Promise<ApiKey> {
    return toApiKey(
      await this.client.request({ method: 'PATCH', path: this.path(projectId, keyId), body: withDates(params), options }),
    );
  }

  /** Revokes a key at once; it stays listed, with `revokedAt` set. */
  async revoke(projectId: string, keyId: string, options?: RequestOptions): Promise<ApiKey> {
    return toApiKey(await this.client.request({ method: 'DELETE', path: this.path(projectId, keyId), options }));
  }

  /** Issues a new secret (in the result's `key`); the old one works for `gracePeriodSeconds`. */
  async rotate(projectId: string, keyId: string, params: ApiKeyRotateParams = {}, options?: RequestOptions): Promise<ApiKey> {
    const body = toRequestBody(params);
    return toApiKey(
      await this.client.request({
        method: 'POST',
        path: `${this.path(projectId, keyId)}/rotate`,
        body: Object.keys(body).length ? body : undefined,
        options,
      }),
    );
  }
}
