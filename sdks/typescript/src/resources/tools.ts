import type { RequestOptions } from '../core.js';
import { camelizeKeys, toRequestBody, toolFromWire, type Tool } from '../models.js';
import type * as gen from '../models.gen.js';
import type { ListAllParams, Page, PageParams } from '../pagination.js';
import { Resource, seg } from './base.js';

/** `POST /projects/{id}/tools`. `encryptedAuthSecret` is write-only: never returned. */
export type ToolCreateParams = gen.CreateToolRequest;

/** `PATCH .../tools/{toolId}`: absent fields are left alone; `null` clears a template. */
export type ToolUpdateParams = gen.UpdateToolRequest;

/** `POST .../tools/{toolId}/test`: the arguments to try the tool with (default `{}`). */
export interface ToolTestParams {
  arguments?: Record<string, unknown> | undefined;
}

/** One try of a tool: what was sent (credentials masked) and the result the model would get. */
export type ToolTestResult = gen.ToolTestResult;

/** A tool from the wire: the envelope camelCased, the schema and templates kept as sent. */
const toTool = (raw: unknown): Tool => toolFromWire(raw);

/** `/projects/{id}/tools`: a project's custom tools. */
export class Tools extends Resource {
  private path(projectId: string, toolId?: string): string {
    const base = `/projects/${seg(projectId)}/tools`;
    return toolId === undefined ? base : `${base}/${seg(toolId)}`;
  }

  list(projectId: string, params: PageParams = {}, options?: RequestOptions): Promise<Page<Tool>> {
    return this.listPage(this.path(projectId), { page: params.page, per_page: params.perPage }, toTool, options);
  }

  listAll(projectId: string, params: ListAllParams = {}, options?: RequestOptions): AsyncGenerator<Tool, void, undefined> {
    return this.listEvery(this.path(projectId), { per_page: params.perPage }, toTool, options);
  }

  /** Creates a tool; its secret is stored encrypted and `hasAuthSecret` says so. */
  async create(projectId: string, params: ToolCreateParams, options?: RequestOptions): Promise<Tool> {
    return toTool(
      await this.client.request({ method: 'POST', path: this.path(projectId), body: toRequestBody(params), options }),
    );
  }

  async retrieve(projectId: string, toolId: string, options?: RequestOptions): Promise<Tool> {
    return toTool(await this.client.request({ method: 'GET', path: this.path(projectId, toolId), options }));
  }

  /** Alias of {@link retrieve}. */
  get(projectId: string, toolId: string, options?: RequestOptions): Promise<Tool> {
    return this.retrieve(projectId, toolId, options);
  }

  async update(projectId: string, toolId: string, params: ToolUpdateParams, options?: RequestOptions): Promise<Tool> {
    return toTool(
      await this.client.request({
        method: 'PATCH',
        path: this.path(projectId, toolId),
        body: toRequestBody(params),
        options,
      }),
    );
  }

  async delete(projectId: string, toolId: string, options?: RequestOptions): Promise<void> {
    await this.client.request({ method: 'DELETE', path: this.path(projectId, toolId), options });
  }

  /**
   * Runs the tool once (logged and counted like a call through `/mcp`) and returns what
   * was sent, credentials masked, and the result. A disabled tool or arguments off its
   * schema are a `ValidationError`; an API that fails is a result with `isError`.
   */
  async test(projectId: string, toolId: string, params: ToolTestParams = {}, options?: RequestOptions): Promise<ToolTestResult> {
    const raw = await this.client.request({
      method: 'POST',
      path: `${this.path(projectId, toolId)}/test`,
      body: { arguments: params.arguments ?? {} },
      options,
    });
    const record = (raw ?? {}) as Record<string, unknown>;
    const { structured_content: structured, ...rest } = record;
    // The API's answer is the user's JSON: kept as answered, never camelCased.
    return { ...(camelizeKeys(rest) as object), structuredContent: structured } as ToolTestResult;
  }
}
