import type { RequestOptions } from '../core.js';
import { TengineError } from '../errors.js';
import { eventFromWire, eventTypesFromWire, type Event, type EventType, type EventTypeCatalogue } from '../models.js';
import type { CursorPageParams, Page } from '../pagination.js';
import { Resource, seg } from './base.js';

export interface EventListParams extends CursorPageParams {
  /** Only events of this type. */
  type?: EventType | undefined;
}

const toEvent = (raw: unknown): Event => eventFromWire(raw);

/** Options of `events.stream`. */
export interface EventStreamParams {
  /** Replay, in order, every event after this one first (`Last-Event-ID`). */
  lastEventId?: string | undefined;
  /** Ends the stream: the `for await` loop finishes, with no error. */
  signal?: AbortSignal | undefined;
}

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

  /**
   * The project's events as they happen (`GET .../events/stream`, Server-Sent Events):
   * those after `lastEventId` first, in order, when given; else only new ones.
   *
   * When the server ends the stream (every 15 minutes) or the connection drops, it resumes
   * by itself after the last event received (after 0.5 s, doubling to 10 s while the server
   * cannot be reached). Leave the loop or abort `signal` to end it. Until the first event
   * arrives there is no id to resume from, so a reconnection starts after the newest event
   * again; to miss nothing, start from a known event (the newest of `list`, say).
   *
   * Thrown, ending the iteration: the first connection's error after the usual retries (an
   * unknown `lastEventId` is a `ValidationError` on `Last-Event-ID`); a reconnection's 4xx
   * (a revoked key); a `TengineError` for a message that is not an event.
   */
  async *stream(projectId: string, params: EventStreamParams = {}): AsyncGenerator<Event, void, undefined> {
    for await (const message of this.client.stream(`/projects/${seg(projectId)}/events/stream`, params)) {
      let raw: unknown;
      try {
        raw = JSON.parse(message.data);
      } catch (cause) {
        throw new TengineError(`The event stream sent a message that is not an event: ${message.data.slice(0, 200)}`, { cause });
      }
      if (typeof raw !== 'object' || raw === null || typeof (raw as { id?: unknown }).id !== 'string') {
        throw new TengineError(`The event stream sent a message that is not an event: ${message.data.slice(0, 200)}`);
      }
      yield toEvent(raw);
    }
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
