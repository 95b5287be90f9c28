import type { RequestOptions } from '../core.js';
import { eventFromWire, eventTypesFromWire, type Event, type EventType, type EventTypeCatalogue } from '../models.js';
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

/** `/event-types`: every event type, what it means and the JSON Schema of its `data`. */
export class EventTypes extends Resource {
  /** Every event type, with its `scope` (`project` or `account`); each `schema` is kept
   * exactly as the server sent it (snake_case property names), not camelCased. */
  async list(options?: RequestOptions): Promise<EventTypeCatalogue> {
    return eventTypesFromWire(await this.client.request({ method: 'GET', path: '/event-types', options }));
  }
}
