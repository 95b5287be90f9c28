import type { RequestOptions } from '../core.js';
import { fromWire, type Analytics, type Granularity } from '../models.js';
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
  /** Count this tool's calls through `/mcp` instead of requests. */
  toolId?: string | undefined;
  /** Count the tool calls made for this member. */
  memberId?: string | undefined;
}

/** `/projects/{id}/analytics`. */
export class AnalyticsResource extends Resource {
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
