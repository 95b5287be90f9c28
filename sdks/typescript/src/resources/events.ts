import type { RequestOptions } from '../core.js';
import { eventFromWire, type Event, type EventType } from '../models.js';
import type { CursorPageParams, Page } from '../pagination.js';
import { Resource, seg } from './base.js';

export interface EventListParams extends CursorPageParams {
  /** Only events of this type. */
  type?: EventType | undefined;
}

const toEvent = (raw: unknown): Event => eventFromWire(raw);

/** `/projects/{id}/events`: the project's event log, newest first. */
export class Events extends Resource {
  list(projectId: string, params: EventListParams = {}, options?: RequestOptions): Promise<Page<Event>> {
    return this.listKeyset(
      `/projects/${seg(projectId)}/events`,
      {
        type: params.type,
        page: params.page,
        per_page: params.perPage,
        starting_after: params.startingAfter,
        ending_before: params.endingBefore,
      },
      toEvent,
      options,
    );
  }

  listAll(
    projectId: string,
    params: Omit<EventListParams, 'page' | 'startingAfter' | 'endingBefore'> = {},
    options?: RequestOptions,
  ): AsyncGenerator<Event, void, undefined> {
    return this.listEveryKeyset(`/projects/${seg(projectId)}/events`, { type: params.type, per_page: params.perPage }, toEvent, options);
  }
}
