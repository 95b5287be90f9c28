/**
 * Typed errors. Every error the client throws is a {@link TengineError}; HTTP errors
 * are mapped from the server's envelope
 * `{"error": {"code", "message", "details", "request_id"}}` (and by status alone when
 * the body is not JSON, e.g. from a proxy).
 */

export interface TengineErrorInit {
  status?: number | undefined;
  code?: string | undefined;
  details?: Record<string, unknown> | undefined;
  requestId?: string | undefined;
  headers?: Headers | undefined;
  cause?: unknown;
}

/** Base class of every error thrown by the SDK. */
export class TengineError extends Error {
  /** HTTP status, when the server answered. */
  readonly status: number | undefined;
  /** The server's error code (`INVALID_API_KEY`, `VALIDATION_ERROR`, ...), when it sent one. */
  readonly code: string | undefined;
  /** The `details` object of the error envelope (`field`, `reason`, `errors`, ...). */
  readonly details: Record<string, unknown>;
  /** The request id (`error.request_id`, else the `X-Request-Id` header). */
  readonly requestId: string | undefined;
  /** The response headers, when the server answered. */
  readonly headers: Headers | undefined;

  constructor(message: string, init: TengineErrorInit = {}) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = new.target.name;
    this.status = init.status;
    this.code = init.code;
    this.details = init.details ?? {};
    this.requestId = init.requestId;
    this.headers = init.headers;
  }
}

/** 401: missing, malformed, unknown, expired or revoked API key (`INVALID_API_KEY`). */
export class AuthenticationError extends TengineError {}

/** 403: the key lacks a permission (`INSUFFICIENT_PERMISSIONS`). */
export class PermissionDeniedError extends TengineError {}

/** 404: `PROJECT_NOT_FOUND` or `NOT_FOUND` (`details.resource` names what was missing). */
export class NotFoundError extends TengineError {}

/** 400 / 422: `VALIDATION_ERROR` (and `IDEMPOTENCY_KEY_REUSED`). `details.field` names the field. */
export class ValidationError extends TengineError {}

/** 429: `RATE_LIMIT_EXCEEDED`. */
export class RateLimitError extends TengineError {
  /** Seconds to wait, from the `Retry-After` header. */
  readonly retryAfter: number | undefined;

  constructor(message: string, init: TengineErrorInit & { retryAfter?: number | undefined } = {}) {
    super(message, init);
    this.retryAfter = init.retryAfter;
  }
}

/** 5xx: `INTERNAL_ERROR`, `SERVICE_UNAVAILABLE`, or a gateway error. */
export class ServerError extends TengineError {
  /** Seconds to wait, from the `Retry-After` header (sent with 503). */
  readonly retryAfter: number | undefined;

  constructor(message: string, init: TengineErrorInit & { retryAfter?: number | undefined } = {}) {
    super(message, init);
    this.retryAfter = init.retryAfter;
  }
}

/** The request never got an HTTP answer: DNS, connection refused or reset, TLS... */
export class APIConnectionError extends TengineError {}

/** The request did not finish within `timeoutMs`. */
export class APITimeoutError extends APIConnectionError {}

/**
 * Parses a `Retry-After` header: delta-seconds or an HTTP date. Returns seconds
 * (possibly fractional, never negative), or undefined.
 */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (value == null) return undefined;
  const trimmed = value.trim();
  if (trimmed === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed);
  // A negative or malformed number is not a date either: it counts as absent.
  if (/^[-+.\d]+$/.test(trimmed)) return undefined;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, (at - now) / 1000);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Builds the typed error for an HTTP error response. */
export function errorFromResponse(status: number, headers: Headers, bodyText: string): TengineError {
  let code: string | undefined;
  let message: string | undefined;
  let details: Record<string, unknown> | undefined;
  let requestId: string | undefined;
  try {
    const parsed: unknown = JSON.parse(bodyText);
    if (isRecord(parsed) && isRecord(parsed['error'])) {
      const e = parsed['error'];
      if (typeof e['code'] === 'string') code = e['code'];
      if (typeof e['message'] === 'string') message = e['message'];
      if (isRecord(e['details'])) details = e['details'];
      if (typeof e['request_id'] === 'string') requestId = e['request_id'];
    }
  } catch {
    // Not JSON (a proxy's HTML page, an empty body): mapped by status below.
  }
  requestId ??= headers.get('x-request-id') ?? undefined;
  if (message === undefined) {
    const excerpt = bodyText.trim().slice(0, 200);
    message = excerpt ? `HTTP ${status}: ${excerpt}` : `HTTP ${status}`;
  }
  const retryAfter = parseRetryAfter(headers.get('retry-after'));
  const init = { status, code, details, requestId, headers, retryAfter };
  if (status === 401) return new AuthenticationError(message, init);
  if (status === 403) return new PermissionDeniedError(message, init);
  if (status === 404) return new NotFoundError(message, init);
  if (status === 400 || status === 422) return new ValidationError(message, init);
  if (status === 429) return new RateLimitError(message, init);
  if (status >= 500) return new ServerError(message, init);
  return new TengineError(message, init);
}
