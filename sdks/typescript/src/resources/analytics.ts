import type { RequestOptions } from '../core.js';
import { fromWire, type AccountAnalytics, type Analytics, type Granularity } from '../models.js';
import { Resource, seg } from './base.js';

export interface AnalyticsParams {
  /** RFC 3339 or `YYYY-MM-DD` (UTC), or a Date; default: 7 days ago. */
  startDate?: string | Date | undefined;
  /** Exclusive; a plain date means the end of that day; default: now. */
  endDate?: string | Date | undefined;
  /** Default `day`. */
  granularity?: Granularity | undefined;
  /** Only the requests of this key. */
  apiKeyId?: string | undefined;
  /** Only the requests made with this integration's OAuth tokens. */
  integrationId?: string | undefined;
  /** Count this tool's calls through `/mcp` instead of requests. */
  toolId?: string | undefined;
  /** Count the tool calls made for this member. */
  memberId?: string | undefined;
}

export interface OverviewParams {
  /** RFC 3339 or `YYYY-MM-DD` (UTC), or a Date; default: 7 days ago. */
  startDate?: string | Date | undefined;
  /** Exclusive; default: now. */
  endDate?: string | Date | undefined;
  /** How many of the busiest projects (and failing webhooks) to list, 1..=100; default 5. */
  limit?: number | undefined;
}

/** `/projects/{id}/analytics` and the account overview, `/analytics`. */
export class AnalyticsResource extends Resource {
  /**
   * Every project the key sees: request totals over the range, the busiest projects and,
   * for a key with `webhook`, the webhooks failing now (else `failingWebhooks` is null).
   */
  async overview(params: OverviewParams = {}, options?: RequestOptions): Promise<AccountAnalytics> {
    return fromWire<AccountAnalytics>(
      await this.client.request({
        method: 'GET',
        path: '/analytics',
        query: { start_date: params.startDate, end_date: params.endDate, limit: params.limit },
        options,
      }),
    );
  }

  /** Usage counts of the project, bucketed by `granularity`, zero buckets included. */
  async retrieve(projectId: string, params: AnalyticsParams = {}, options?: RequestOptions): Promise<Analytics> {
    return fromWire<Analytics>(
      await this.client.request({
        method: 'GET',
        path: `/projects/${seg(projectId)}/analytics`,
        query: {
          start_date: params.startDate,
          end_date: params.endDate,
          granularity: params.granularity,
          api_key_id: params.apiKeyId,
          integration_id: params.integrationId,
          tool_id: params.toolId,
          member_id: params.memberId,
        },
        options,
      }),
    );
  }

  /** Alias of {@link retrieve}. */
  get(projectId: string, params: AnalyticsParams = {}, options?: RequestOptions): Promise<Analytics> {
    return this.retrieve(projectId, params, options);
  }
}
