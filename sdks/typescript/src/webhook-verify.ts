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
 * timestamp) when its headers are present, else the `X-Tengine-Signature`.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { eventFromWire, type Event } from './models.js';

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
