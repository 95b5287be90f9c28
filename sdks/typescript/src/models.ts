/**
 * Models: the server's snake_case JSON with camelCase property names. Timestamps are
 * kept as the server's RFC 3339 strings (`2024-01-01T00:00:00Z`). Fields the server adds
 * later are passed through, camelCased, so an older SDK still sees them.
 */

/** A permission an API key can hold. */
export type Permission = 'read' | 'write' | 'webhook' | 'admin';

/** An event type (or `*` in a webhook subscription). */
export type EventType =
  | 'project.created'
  | 'project.updated'
  | 'project.deleted'
  | 'api_key.created'
  | 'api_key.updated'
  | 'api_key.revoked'
  | 'integration.connected'
  | 'integration.disconnected'
  | 'integration.updated'
  | 'usage.threshold_reached'
  | 'usage.limit_exceeded'
  | 'webhook.test'
  // Forward compatible: any other string is accepted too.
  | (string & {});

export interface Project {
  id: string;
  name: string;
  description: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface ApiKey {
  id: string;
  /** The project the key is scoped to; null for an account-wide key. */
  projectId: string | null;
  name: string;
  permissions: Permission[];
  /** The first 12 characters of the key, for display. */
  prefix: string;
  /** The full secret key: only in the responses of `create` and `rotate`. */
  key?: string;
  expiresAt: string | null;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export interface Webhook {
  id: string;
  projectId: string;
  url: string;
  description: string | null;
  events: EventType[];
  active: boolean;
  /** The signing secret: only in the responses of `create` and `rotateSecret`. */
  secret?: string;
  createdAt: string;
  updatedAt: string;
}

export interface WebhookTestResult {
  eventId: string;
  deliveryId: string;
  status: 'pending' | (string & {});
}

export interface DeliveryAttempt {
  attemptedAt: string;
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
  responseExcerpt: string | null;
}

export interface Delivery {
  id: string;
  eventId: string;
  eventType: EventType;
  status: 'pending' | 'succeeded' | 'failed' | (string & {});
  attempts: DeliveryAttempt[];
  nextAttemptAt: string | null;
  createdAt: string;
}

/**
 * An event, as listed by `client.events.list` and as delivered to webhooks.
 * `data` is the event's payload exactly as the server sent it (snake_case keys).
 */
export interface Event<T = Record<string, unknown>> {
  id: string;
  type: EventType;
  data: T;
  createdAt: string;
  apiVersion?: string;
}

export type Granularity = 'hour' | 'day' | 'week' | 'month';

export interface AnalyticsCounts {
  requests: number;
  errors: number;
  rateLimited: number;
  avgLatencyMs: number;
  p95LatencyMs: number;
}

export interface AnalyticsBucket extends AnalyticsCounts {
  /** Start of the bucket. */
  timestamp: string;
}

export interface Analytics {
  projectId: string;
  startDate: string;
  endDate: string;
  granularity: Granularity;
  apiKeyId?: string;
  totals: AnalyticsCounts;
  data: AnalyticsBucket[];
}

export interface Pagination {
  page: number;
  perPage: number;
  total: number;
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
