/**
 * Models: the server's snake_case JSON with camelCase property names. Timestamps are
 * kept as the server's RFC 3339 strings (`2024-01-01T00:00:00Z`). Fields the server adds
 * later are passed through, camelCased, so an older SDK still sees them. The types are
 * generated from docs/openapi.json into `models.gen.ts` (`cargo xtask sdk-models`); the
 * shapes the schema cannot say (a generic event payload, buckets with a timestamp) and
 * the case conversion are written here.
 */

import type * as gen from './models.gen.js';

export type {
  AccountAnalytics,
  ApiKey,
  ClientRegistrationPolicy,
  Integration,
  IntegrationConnection,
  Delivery,
  DeliveryAttempt,
  DeliveryStatus,
  ErrorCode,
  EventType,
  FailingWebhook,
  Granularity,
  Pagination,
  Permission,
  Project,
  ProjectTotals,
  RequestTotals,
  Tool,
  ToolAuthStrategy,
  ToolHttpMethod,
  ToolMemberIdentity,
  UsageCounts,
  Webhook,
  WebhookTest,
} from './models.gen.js';

/** The answer of `webhooks.test` (the former name of `WebhookTest`). */
export type WebhookTestResult = gen.WebhookTest;

/**
 * An event, as listed by `client.events.list` and as delivered to webhooks.
 * `data` is the event's payload exactly as the server sent it (snake_case keys).
 */
export type Event<T = Record<string, unknown>> = Omit<gen.Event, 'data'> & { data: T };

/** The sums of an analytics range (`totals`: no `timestamp`). */
export type AnalyticsCounts = Omit<gen.UsageCounts, 'timestamp'>;

/** One bucket of an analytics range, which always has its `timestamp`. */
export interface AnalyticsBucket extends AnalyticsCounts {
  /** Start of the bucket. */
  timestamp: string;
}

/** A project's usage over a range, bucketed. */
export interface Analytics extends Omit<gen.Analytics, 'totals' | 'data'> {
  totals: AnalyticsCounts;
  data: AnalyticsBucket[];
}

// ---------------------------------------------------------------------------
// Case conversion

/** `created_at` -> `createdAt`. */
export function camelCase(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** `createdAt` -> `created_at`. */
export function snakeCase(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deeply renames object keys to camelCase (arrays are walked, values kept). */
export function camelizeKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(camelizeKeys);
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[camelCase(k)] = camelizeKeys(v);
    return out;
  }
  return value;
}

/**
 * A request body: top-level keys to snake_case; `undefined` values are dropped (the
 * field is absent, left unchanged by a PATCH) while `null` is sent as `null`.
 */
export function toRequestBody(params: object | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!params) return out;
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined) out[snakeCase(k)] = v;
  }
  return out;
}

/** Converts a model from the wire. */
export function fromWire<T>(raw: unknown): T {
  return camelizeKeys(raw) as T;
}

/** Converts an event from the wire: its envelope is camelCased, its `data` kept as sent. */
export function eventFromWire<T = Record<string, unknown>>(raw: unknown): Event<T> {
  if (!isPlainObject(raw)) return raw as Event<T>;
  const { data, ...rest } = raw;
  const event = camelizeKeys(rest) as Event<T>;
  if ('data' in raw) event.data = data as T;
  return event;
}
