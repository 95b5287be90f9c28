import type { RequestOptions } from '../core.js';
import {
  fromWire,
  toRequestBody,
  type ClientRegistrationPolicy,
  type Integration,
  type IntegrationConnection,
} from '../models.js';
import type * as gen from '../models.gen.js';
import type { ListAllParams, Page, PageParams } from '../pagination.js';
import { Resource, seg } from './base.js';

/** `POST /projects/{id}/integrations`: `clientType` `confidential` (default) gets a `clientSecret`, shown once. */
export type IntegrationCreateParams = gen.CreateIntegrationRequest;

/** `PATCH .../integrations/{integrationId}`: narrowed permissions narrow every connection too. */
export type IntegrationUpdateParams = gen.UpdateIntegrationRequest;

/** `PUT /projects/{id}/client-registration`. */
export type ClientRegistrationParams = gen.SetClientRegistrationRequest;

/** What an authorization request asks, as the consent page shows it. */
export type ConsentPrompt = gen.ConsentPrompt;

/** The consent decision: approve (granting at most what was asked) or deny. */
export type ConsentDecisionParams = gen.ConsentDecisionRequest;

/** Where to send the browser after a consent decision. */
export type ConsentDecision = gen.ConsentDecision;

/** The query of an `/oauth/authorize` request (a string or its parameters). */
function authorizeQuery(query: string | URLSearchParams): Record<string, string> {
  const params = typeof query === 'string' ? new URLSearchParams(query.replace(/^\?/, '')) : query;
  return Object.fromEntries(params.entries());
}

const toIntegration = (raw: unknown): Integration => fromWire<Integration>(raw);
const toConnection = (raw: unknown): IntegrationConnection => fromWire<IntegrationConnection>(raw);

/** `/projects/{id}/integrations`: a project's OAuth 2.1 clients and their connections. */
export class Integrations extends Resource {
  private path(projectId: string, integrationId?: string): string {
    const base = `/projects/${seg(projectId)}/integrations`;
    return integrationId === undefined ? base : `${base}/${seg(integrationId)}`;
  }

  list(projectId: string, params: PageParams = {}, options?: RequestOptions): Promise<Page<Integration>> {
    return this.listPage(this.path(projectId), { page: params.page, per_page: params.perPage }, toIntegration, options);
  }

  listAll(
    projectId: string,
    params: ListAllParams = {},
    options?: RequestOptions,
  ): AsyncGenerator<Integration, void, undefined> {
    return this.listEvery(this.path(projectId), { per_page: params.perPage }, toIntegration, options);
  }

  /** Creates an integration; a confidential client's `clientSecret` is in this answer only. */
  async create(projectId: string, params: IntegrationCreateParams, options?: RequestOptions): Promise<Integration> {
    return toIntegration(
      await this.client.request({ method: 'POST', path: this.path(projectId), body: toRequestBody(params), options }),
    );
  }

  async retrieve(projectId: string, integrationId: string, options?: RequestOptions): Promise<Integration> {
    return toIntegration(await this.client.request({ method: 'GET', path: this.path(projectId, integrationId), options }));
  }

  /** Alias of {@link retrieve}. */
  get(projectId: string, integrationId: string, options?: RequestOptions): Promise<Integration> {
    return this.retrieve(projectId, integrationId, options);
  }

  async update(
    projectId: string,
    integrationId: string,
    params: IntegrationUpdateParams,
    options?: RequestOptions,
  ): Promise<Integration> {
    return toIntegration(
      await this.client.request({
        method: 'PATCH',
        path: this.path(projectId, integrationId),
        body: toRequestBody(params),
        options,
      }),
    );
  }

  /** Deletes an integration: every connection's tokens stop working at once. */
  async delete(projectId: string, integrationId: string, options?: RequestOptions): Promise<void> {
    await this.client.request({ method: 'DELETE', path: this.path(projectId, integrationId), options });
  }

  /** A confidential client's new `clientSecret` (the old one stops working). */
  async rotateSecret(projectId: string, integrationId: string, options?: RequestOptions): Promise<Integration> {
    return toIntegration(
      await this.client.request({ method: 'POST', path: `${this.path(projectId, integrationId)}/rotate-secret`, options }),
    );
  }

  connections(
    projectId: string,
    integrationId: string,
    params: PageParams = {},
    options?: RequestOptions,
  ): Promise<Page<IntegrationConnection>> {
    const path = `${this.path(projectId, integrationId)}/connections`;
    return this.listPage(path, { page: params.page, per_page: params.perPage }, toConnection, options);
  }

  /** Revokes a connection: its tokens stop working at once. */
  async disconnect(projectId: string, integrationId: string, connectionId: string, options?: RequestOptions): Promise<void> {
    const path = `${this.path(projectId, integrationId)}/connections/${seg(connectionId)}`;
    await this.client.request({ method: 'DELETE', path, options });
  }

  /**
   * Checks an authorization request (the query `/oauth/authorize` got) and says what it
   * asks: the integration, the project and the permissions. Needs `admin` on the project.
   */
  async describeConsent(query: string | URLSearchParams, options?: RequestOptions): Promise<ConsentPrompt> {
    const raw = await this.client.request({
      method: 'GET',
      path: '/oauth/authorization',
      query: authorizeQuery(query),
      options,
    });
    return fromWire<ConsentPrompt>(raw);
  }

  /** Approves (granting `permissions`, default all asked) or denies the request; where to send the browser. */
  async decideConsent(
    query: string | URLSearchParams,
    params: ConsentDecisionParams,
    options?: RequestOptions,
  ): Promise<ConsentDecision> {
    const raw = await this.client.request({
      method: 'POST',
      path: '/oauth/authorization',
      query: authorizeQuery(query),
      body: toRequestBody(params),
      options,
    });
    return fromWire<ConsentDecision>(raw);
  }

  /** Whether clients may register themselves with the project (RFC 7591; off by default). */
  async registration(projectId: string, options?: RequestOptions): Promise<ClientRegistrationPolicy> {
    const raw = await this.client.request({ method: 'GET', path: `/projects/${seg(projectId)}/client-registration`, options });
    return fromWire<ClientRegistrationPolicy>(raw);
  }

  /** Turns dynamic registration on or off (needs `admin`). */
  async setRegistration(
    projectId: string,
    params: ClientRegistrationParams,
    options?: RequestOptions,
  ): Promise<ClientRegistrationPolicy> {
    const raw = await this.client.request({
      method: 'PUT',
      path: `/projects/${seg(projectId)}/client-registration`,
      body: toRequestBody(params),
      options,
    });
    return fromWire<ClientRegistrationPolicy>(raw);
  }
}
