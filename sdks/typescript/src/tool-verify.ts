/**
 * Verifying Tengine's calls to your API: the `tng2` signature of a tool with
 * `"auth_strategy": "hmac_signature"` (`docs/tool-signing.md`).
 *
 * `X-Tengine-Signature: tng2=<hex>` is the lowercase hex HMAC-SHA256, keyed by the tool's
 * secret (its UTF-8 bytes), of six lines joined by `\n`: `tng2`, `X-Tengine-Timestamp`,
 * `X-Tengine-Request-Id`, the upper-case method, the path and query exactly as on the
 * request line, and the lowercase hex SHA-256 of the raw body. Several comma-separated
 * values may be sent while a secret is rotated; any may match.
 */
import { createHash, createHmac } from 'node:crypto';
import { headerGetter, safeEqual, type WebhookHeaders } from './webhook-verify.js';

/** A tool call's signature or timestamp did not check out. */
export class ToolSignatureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ToolSignatureError';
  }
}

export interface VerifyToolCallOptions {
  /** Largest accepted distance between the call's timestamp and now, in seconds (default 300). */
  toleranceSeconds?: number;
  /** The current time, for tests (Date or Unix milliseconds; default: now). */
  now?: Date | number;
}

/** What the request carried, as received. */
export interface ToolCallRequest {
  /** The HTTP method. */
  method: string;
  /** The path and query exactly as on the request line, still percent-encoded (Node: `req.url`). */
  target: string;
  /** The raw body (empty when none). */
  body: string | Uint8Array;
  /** The request's headers. */
  headers: WebhookHeaders;
}

/** The `X-Tengine-*` facts of a verified call. */
export interface VerifiedToolCall {
  projectId?: string;
  tool?: string;
  requestId: string;
  timestamp: number;
  memberId?: string;
  memberEmail?: string;
  memberRoles?: string;
}

function bytes(body: string | Uint8Array): Buffer {
  return typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

/** The string Tengine signs for a call. */
export function toolCanonicalString(
  timestamp: number | string,
  requestId: string,
  method: string,
  target: string,
  body: string | Uint8Array,
): string {
  const digest = createHash('sha256').update(bytes(body)).digest('hex');
  return ['tng2', String(timestamp), requestId, method.toUpperCase(), target, digest].join('\n');
}

/** The `X-Tengine-Signature` value `tng2=<hex>` of a call, for testing an API. */
export function signToolCall(
  secret: string,
  timestamp: number | string,
  requestId: string,
  method: string,
  target: string,
  body: string | Uint8Array,
): string {
  const canonical = toolCanonicalString(timestamp, requestId, method, target, body);
  return `tng2=${createHmac('sha256', Buffer.from(secret, 'utf8')).update(canonical, 'utf8').digest('hex')}`;
}

/**
 * Verifies a tool call and returns its `X-Tengine-*` facts.
 *
 * @throws ToolSignatureError when a header is missing, the timestamp is outside the
 *   tolerance, or no `tng2=` value matches.
 */
export function verifyToolCall(
  secret: string,
  request: ToolCallRequest,
  { toleranceSeconds = 300, now }: VerifyToolCallOptions = {},
): VerifiedToolCall {
  if (typeof secret !== 'string' || secret === '') throw new ToolSignatureError('Missing tool secret');
  const get = headerGetter(request.headers);
  const signature = get('x-tengine-signature');
  const rawTimestamp = get('x-tengine-timestamp')?.trim();
  const requestId = get('x-tengine-request-id')?.trim();
  if (signature === undefined || rawTimestamp === undefined || requestId === undefined) {
    throw new ToolSignatureError('Missing X-Tengine-Signature, X-Tengine-Timestamp or X-Tengine-Request-Id header');
  }
  if (!/^-?\d+$/.test(rawTimestamp)) throw new ToolSignatureError('Invalid X-Tengine-Timestamp header');
  const timestamp = Number(rawTimestamp);
  const nowMs = now === undefined ? Date.now() : now instanceof Date ? now.getTime() : now;
  if (Math.abs(nowMs / 1000 - timestamp) > toleranceSeconds) {
    throw new ToolSignatureError('Call timestamp outside the tolerance');
  }
  const canonical = toolCanonicalString(rawTimestamp, requestId, request.method, request.target, request.body);
  const expected = createHmac('sha256', Buffer.from(secret, 'utf8')).update(canonical, 'utf8').digest();
  // Every value is compared (no early exit), each in constant time.
  let matched = false;
  for (const entry of signature.split(',').map((s) => s.trim())) {
    if (!entry.startsWith('tng2=')) continue;
    const hex = entry.slice('tng2='.length);
    if (/^[0-9a-fA-F]{64}$/.test(hex) && safeEqual(Buffer.from(hex, 'hex'), expected)) matched = true;
  }
  if (!matched) throw new ToolSignatureError('No matching tng2 signature in X-Tengine-Signature');
  return {
    projectId: get('x-tengine-project-id'),
    tool: get('x-tengine-tool'),
    requestId,
    timestamp,
    memberId: get('x-tengine-member-id'),
    memberEmail: get('x-tengine-member-email'),
    memberRoles: get('x-tengine-member-roles'),
  };
}
