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
  IntegrationEventData,
  Delivery,
  DeliveryAttempt,
  DeliveryStatus,
  ErrorCode,
  EventType,
  EventTypeCatalogue,
  EventTypeInfo,
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
  UsageAlertData,
  UsageCounts,
  Webhook,
  WebhookDisabled,
  WebhookDisabledData,
  WebhookTest,
  WebhookTestData,
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

/**
 * A webhook's health over the last 24 hours (`webhooks.health`): `disabled` says why and
 * when it was switched off (`gone`, `failing` or `manual`), null while it is on;
 * `lastDelivery` is its newest delivery with its attempts, or null.
 */
export interface WebhookHealth extends Omit<gen.WebhookHealth, 'disabled' | 'lastDelivery'> {
  disabled: gen.WebhookDisabled | null;
  lastDelivery: gen.Delivery | null;
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

/** The fields of a tool whose content is the user's own JSON: kept exactly as sent, never camelCased. */
const TOOL_VERBATIM = ['input_schema', 'headers_template', 'query_template', 'body_template'] as const;

/** Converts a tool from the wire: its fields camelCased, its schema and templates kept as sent. */
export function toolFromWire(raw: unknown): gen.Tool {
  if (!isPlainObject(raw)) return raw as gen.Tool;
  const rest: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (!(TOOL_VERBATIM as readonly string[]).includes(k)) rest[k] = v;
  }
  const tool = camelizeKeys(rest) as Record<string, unknown>;
  tool['inputSchema'] = raw['input_schema'];
  tool['headersTemplate'] = raw['headers_template'];
  tool['queryTemplate'] = raw['query_template'];
  tool['bodyTemplate'] = raw['body_template'];
  return tool as unknown as gen.Tool;
}

/** Converts the event-type catalogue from the wire: each entry's `schema` is a JSON Schema,
 * kept exactly as sent (its property names, `required` entries and examples are the
 * server's snake_case). */
export function eventTypesFromWire(raw: unknown): gen.EventTypeCatalogue {
  if (!isPlainObject(raw)) return raw as gen.EventTypeCatalogue;
  const { data, ...rest } = raw;
  const catalogue = camelizeKeys(rest) as Record<string, unknown>;
  catalogue['data'] = Array.isArray(data)
    ? data.map((entry: unknown) => {
        if (!isPlainObject(entry)) return entry;
        const { schema, ...fields } = entry;
        const info = camelizeKeys(fields) as Record<string, unknown>;
        if ('schema' in entry) info['schema'] = schema;
        return info;
      })
    : data;
  return catalogue as unknown as gen.EventTypeCatalogue;
}
