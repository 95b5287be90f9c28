/**
 * Verifying webhook deliveries.
 *
 * Tengine signs each delivery twice:
 * - Standard Webhooks: `webhook-id`, `webhook-timestamp`, and `webhook-signature:
 *   v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>` (space-separated when
 *   several secrets are active), where the key is the base64-decoded part after `whsec_`
 *   for a `whsec_...` secret, else the secret's UTF-8 bytes;
 * - `X-Tengine-Signature: sha256=<hex HMAC-SHA256(secret UTF-8 bytes, raw body)>`
 *   (comma-separated when several secrets are active).
 *
 * {@link verifyWebhook} checks the Standard Webhooks signature (which also covers the
 * timestamp) when its headers are present, else the `X-Tengine-Signature`;
 * {@link verifyWebhookEvent} does the same and types `data` by the event's `type`.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import {
  eventFromWire,
  fromWire,
  toolFromWire,
  type ApiKey,
  type Event,
  type IntegrationEventData,
  type Project,
  type Tool,
  type UsageAlertData,
  type WebhookDisabledData,
  type WebhookTestData,
} from './models.js';
import type * as gen from './models.gen.js';

/** The signature, timestamp or payload of a delivery did not check out. */
export class WebhookVerificationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebhookVerificationError';
  }
}

/** Headers as `fetch`'s `Headers`, or a plain object (e.g. Node's `req.headers`). */
export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;

export interface VerifyWebhookOptions {
  /** Largest accepted distance between the signed timestamp and now, in seconds (default 300). */
  toleranceSeconds?: number;
  /** The current time, for tests (Date or Unix milliseconds; default: now). */
  now?: Date | number;
}

/** A case-insensitive header lookup (shared with the tool-call verifier). */
export function headerGetter(headers: WebhookHeaders): (name: string) => string | undefined {
  if (typeof (headers as Headers).get === 'function' && typeof (headers as Headers).has === 'function') {
    const h = headers as Headers;
    return (name) => h.get(name) ?? undefined;
  }
  const lower = new Map<string, string>();
  for (const [k, v] of Object.entries(headers as Record<string, string | string[] | undefined>)) {
    if (v === undefined) continue;
    const value = Array.isArray(v) ? v.join(', ') : String(v);
    const key = k.toLowerCase();
    const prev = lower.get(key);
    lower.set(key, prev === undefined ? value : `${prev}, ${value}`);
  }
  return (name) => lower.get(name.toLowerCase());
}

/** Constant-time equality of two buffers of any lengths. */
export function safeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The HMAC key of the Standard Webhooks scheme. */
function standardKey(secret: string): Buffer {
  if (secret.startsWith('whsec_')) {
    const b64 = secret.slice('whsec_'.length);
    // Strict (padded, standard alphabet) base64, as the server decodes it.
    if (b64.length > 0 && b64.length % 4 === 0 && /^[A-Za-z0-9+/]+={0,2}$/.test(b64)) {
      const key = Buffer.from(b64, 'base64');
      if (key.length > 0) return key;
    }
  }
  return Buffer.from(secret, 'utf8');
}

function checkTimestamp(raw: string, toleranceSeconds: number, nowMs: number): void {
  if (!/^\d+$/.test(raw.trim())) throw new WebhookVerificationError('Invalid webhook timestamp');
  const ts = Number(raw.trim());
  const now = Math.floor(nowMs / 1000);
  if (now - ts > toleranceSeconds) throw new WebhookVerificationError('Webhook timestamp too old');
  if (ts - now > toleranceSeconds) throw new WebhookVerificationError('Webhook timestamp too new');
}

/**
 * Verifies a delivery and returns its event (`id`, `type`, `data`, `createdAt`,
 * `apiVersion`; `data` exactly as sent). Pass the raw body, byte for byte as received:
 * not a re-serialized object.
 *
 * @throws WebhookVerificationError when no signature matches, the timestamp is outside
 *   the tolerance, the signature headers are missing, or the body is not JSON.
 */
export function verifyWebhook<T = Record<string, unknown>>(
  payload: string | Uint8Array,
  headers: WebhookHeaders,
  secret: string,
  { toleranceSeconds = 300, now }: VerifyWebhookOptions = {},
): Event<T> {
  if (typeof secret !== 'string' || secret === '') throw new WebhookVerificationError('Missing webhook secret');
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  const get = headerGetter(headers);
  const nowMs = now === undefined ? Date.now() : now instanceof Date ? now.getTime() : now;

  const msgId = get('webhook-id');
  const msgTimestamp = get('webhook-timestamp');
  const msgSignature = get('webhook-signature');
  const tengineSignature = get('x-tengine-signature');

  if (msgId !== undefined && msgTimestamp !== undefined && msgSignature !== undefined) {
    checkTimestamp(msgTimestamp, toleranceSeconds, nowMs);
    const expected = createHmac('sha256', standardKey(secret))
      .update(`${msgId}.${msgTimestamp.trim()}.`)
      .update(body)
      .digest();
    const matched = msgSignature
      .split(' ')
      .filter((s) => s !== '')
      .some((entry) => {
        const comma = entry.indexOf(',');
        if (comma < 0 || entry.slice(0, comma) !== 'v1') return false;
        return safeEqual(Buffer.from(entry.slice(comma + 1), 'base64'), expected);
      });
    if (!matched) throw new WebhookVerificationError('No matching webhook signature');
  } else if (tengineSignature !== undefined) {
    const tengineTimestamp = get('x-tengine-timestamp');
    if (tengineTimestamp !== undefined) checkTimestamp(tengineTimestamp, toleranceSeconds, nowMs);
    const expected = createHmac('sha256', Buffer.from(secret, 'utf8')).update(body).digest();
    const matched = tengineSignature
      .split(',')
      .map((s) => s.trim())
      .some((entry) => {
        if (!entry.startsWith('sha256=')) return false;
        const hex = entry.slice('sha256='.length);
        if (!/^[0-9a-fA-F]{64}$/.test(hex)) return false;
        return safeEqual(Buffer.from(hex, 'hex'), expected);
      });
    if (!matched) throw new WebhookVerificationError('No matching webhook signature');
  } else {
    throw new WebhookVerificationError(
      'Missing signature headers (webhook-id/webhook-timestamp/webhook-signature or X-Tengine-Signature)',
    );
  }

  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new WebhookVerificationError('Webhook payload is not valid JSON');
  }
  return eventFromWire<T>(parsed);
}

/** The model of `data` for each event type this SDK knows (`GET /event-types` lists them). */
export interface WebhookEventDataMap {
  'project.created': Project;
  'project.updated': Project;
  'project.deleted': Project;
  'api_key.created': ApiKey;
  'api_key.updated': ApiKey;
  'api_key.revoked': ApiKey;
  'tool.created': Tool;
  'tool.updated': Tool;
  'tool.deleted': Tool;
  'integration.connected': IntegrationEventData;
  'integration.disconnected': IntegrationEventData;
  'integration.updated': IntegrationEventData;
  'usage.threshold_reached': UsageAlertData;
  'usage.limit_exceeded': UsageAlertData;
  'webhook.test': WebhookTestData;
  'webhook.disabled': WebhookDisabledData;
}

/** An event type this SDK knows. */
export type KnownEventType = keyof WebhookEventDataMap;

/** A verified event of a known type: `data` is its model, camelCased like API responses
 * (a tool's schema and templates kept as sent, as `client.tools` returns them). */
export type KnownWebhookEvent = {
  [K in KnownEventType]: Omit<gen.Event, 'type' | 'data'> & { type: K; data: WebhookEventDataMap[K] };
}[KnownEventType];

/** A verified event of a type newer than this SDK: `data` exactly as sent (snake_case keys). */
export interface UnknownWebhookEvent extends Omit<gen.Event, 'type' | 'data'> {
  type: string;
  data: unknown;
}

/**
 * What {@link verifyWebhookEvent} returns. Narrow it with {@link isKnownWebhookEvent}
 * first: a `type` string of an unknown event could equal any literal, so `switch
 * (event.type)` alone cannot type `data`.
 */
export type WebhookEvent = KnownWebhookEvent | UnknownWebhookEvent;

// Each known type's conversion: the one the client applies to the same object in responses.
const DATA_FROM_WIRE: { [K in KnownEventType]: (raw: unknown) => WebhookEventDataMap[K] } = {
  'project.created': fromWire,
  'project.updated': fromWire,
  'project.deleted': fromWire,
  'api_key.created': fromWire,
  'api_key.updated': fromWire,
  'api_key.revoked': fromWire,
  'tool.created': toolFromWire,
  'tool.updated': toolFromWire,
  'tool.deleted': toolFromWire,
  'integration.connected': fromWire,
  'integration.disconnected': fromWire,
  'integration.updated': fromWire,
  'usage.threshold_reached': fromWire,
  'usage.limit_exceeded': fromWire,
  'webhook.test': fromWire,
  // Its `webhook` camelCased as `client.webhooks` returns one.
  'webhook.disabled': fromWire,
};

function isKnownType(type: string): type is KnownEventType {
  return Object.prototype.hasOwnProperty.call(DATA_FROM_WIRE, type);
}

/** Whether this SDK knows the event's type, and so the model of its `data`. */
export function isKnownWebhookEvent(event: WebhookEvent): event is KnownWebhookEvent {
  return isKnownType(event.type);
}

/**
 * {@link verifyWebhook}, with `data` converted to the model of the event's `type` (for a
 * type this SDK does not know, `data` stays exactly as sent).
 *
 * ```ts
 * const event = verifyWebhookEvent(body, req.headers, secret);
 * if (isKnownWebhookEvent(event)) {
 *   switch (event.type) {
 *     case 'project.created': console.log(event.data.name); break;
 *     case 'usage.limit_exceeded': console.log(event.data.limit); break;
 *     case 'webhook.disabled': console.log(event.data.webhook.id, event.data.reason); break;
 *   }
 * }
 * ```
 *
 * @throws WebhookVerificationError when {@link verifyWebhook} would, when the payload is
 *   not an event, or when the `data` of a known type is not an object.
 */
export function verifyWebhookEvent(
  payload: string | Uint8Array,
  headers: WebhookHeaders,
  secret: string,
  options: VerifyWebhookOptions = {},
): WebhookEvent {
  const event = verifyWebhook<unknown>(payload, headers, secret, options) as unknown;
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    throw new WebhookVerificationError('Webhook payload is not an event');
  }
  const { id, type, data } = event as Record<string, unknown>;
  if (typeof id !== 'string' || typeof type !== 'string') {
    throw new WebhookVerificationError('Webhook payload is not an event (no string id and type)');
  }
  if (!isKnownType(type)) return event as UnknownWebhookEvent;
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new WebhookVerificationError(`The data of a ${type} event is not an object`);
  }
  return { ...(event as Omit<gen.Event, 'type' | 'data'>), type, data: DATA_FROM_WIRE[type](data) } as KnownWebhookEvent;
}

/**
 * Signs a payload the way the server does, for testing a receiver. Returns both schemes'
 * headers.
 */
export function signWebhook(
  payload: string | Uint8Array,
  secret: string,
  { id, timestamp }: { id: string; timestamp?: number },
): Record<string, string> {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  const ts = String(timestamp ?? Math.floor(Date.now() / 1000));
  const v1 = createHmac('sha256', standardKey(secret)).update(`${id}.${ts}.`).update(body).digest('base64');
  const hex = createHmac('sha256', Buffer.from(secret, 'utf8')).update(body).digest('hex');
  return {
    'webhook-id': id,
    'webhook-timestamp': ts,
    'webhook-signature': `v1,${v1}`,
    'x-tengine-signature': `sha256=${hex}`,
    'x-tengine-event-id': id,
    'x-tengine-timestamp': ts,
  };
}
