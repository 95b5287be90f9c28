/**
 * The HTTP core: authentication, JSON, error mapping, timeouts, retries with backoff
 * and idempotency keys.
 */
import {
  APIConnectionError,
  APITimeoutError,
  TengineError,
  errorFromResponse,
  parseRetryAfter,
} from './errors.js';
import { SSEParser, type ServerSentEvent } from './sse.js';

/** The package's version, read from its package.json so the two cannot disagree. */
/** The SDK's version (a unit test keeps it equal to package.json's); a literal, so the
 * client also runs in browsers (the console uses it). */
export const VERSION: string = '0.1.0';
export const DEFAULT_BASE_URL = 'https://app.tengine.ai/api/v1';

export interface ClientOptions {
  /** API key (`tng_...`). Defaults to `process.env.TENGINE_API_KEY`. */
  apiKey?: string | undefined;
  /**
   * Base URL of the API. Defaults to `process.env.TENGINE_BASE_URL`, else
   * `https://app.tengine.ai/api/v1`. `/api/v1` is appended when the path does not end with it,
   * so `http://localhost:8080` works.
   */
  baseUrl?: string | undefined;
  /** Timeout of one HTTP attempt, in milliseconds (default 60 000). */
  timeoutMs?: number | undefined;
  /**
   * Retries after a 429, 502, 503, 504, timeout or connection error (default 3), as
   * docs/sdk-retries.md specifies.
   */
  maxRetries?: number | undefined;
  /** First backoff delay in milliseconds, doubled on each retry (default 500). */
  initialRetryDelayMs?: number | undefined;
  /**
   * Longest wait before a retry, in milliseconds (default 60 000). A `Retry-After` up
   * to this long is a lower bound on the wait; a longer one is not waited for: the error
   * is thrown at once (its `retryAfter` says when to come back).
   */
  maxRetryDelayMs?: number | undefined;
  /** Headers sent with every request. */
  defaultHeaders?: Record<string, string> | undefined;
  /** A `fetch` implementation (default: the global one). */
  fetch?: typeof fetch | undefined;
}

/** Per-call options, accepted as the last argument of every method. */
export interface RequestOptions {
  /** Overrides the generated `Idempotency-Key` of a POST. */
  idempotencyKey?: string | undefined;
  /** Aborts the call (no retry after an abort). */
  signal?: AbortSignal | undefined;
  timeoutMs?: number | undefined;
  maxRetries?: number | undefined;
  headers?: Record<string, string> | undefined;
}

export type QueryValue = string | number | boolean | Date | null | undefined;

export interface RequestSpec {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: Record<string, QueryValue> | undefined;
  body?: unknown;
  options?: RequestOptions | undefined;
}

const RETRYABLE_STATUS = new Set([429, 502, 503, 504]);
/** Event streams: the pause before the first reconnection, doubled after each failed one. */
const STREAM_FIRST_PAUSE_MS = 500;
const STREAM_MAX_PAUSE_MS = 10_000;
/** The server sends a keep-alive comment every 15 s: three missed means the connection is
 * gone, and the stream resumes on a new one. */
const STREAM_IDLE_MS = 45_000;

/** Options of a followed Server-Sent Events route. */
export interface StreamOptions {
  /** Resume after this id (`Last-Event-ID`). */
  lastEventId?: string | undefined;
  /** Ends the stream: the iteration finishes, with no error. */
  signal?: AbortSignal | undefined;
}

/** Appends `/api/v1` to a base URL whose path does not already end with it. */
export function normalizeBaseUrl(raw: string): string {
  const url = new URL(raw);
  let path = url.pathname.replace(/\/+$/, '');
  if (!path.endsWith('/api/v1')) path = `${path}/api/v1`;
  url.pathname = path;
  url.search = '';
  url.hash = '';
  return url.toString().replace(/\/+$/, '');
}

function env(name: string): string | undefined {
  // `process` exists in Node only; browsers (the console) have no environment.
  const proc = (globalThis as { process?: { env: Record<string, string | undefined> } }).process;
  const v = proc?.env[name];
  return v === undefined || v === '' ? undefined : v;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export class APIClient {
  readonly apiKey: string;
  readonly baseUrl: string;
  readonly timeoutMs: number;
  readonly maxRetries: number;
  readonly initialRetryDelayMs: number;
  readonly maxRetryDelayMs: number;
  private readonly defaultHeaders: Record<string, string>;
  private readonly fetchImpl: typeof fetch;

  constructor(options: ClientOptions = {}) {
    const apiKey = options.apiKey ?? env('TENGINE_API_KEY');
    if (!apiKey) {
      throw new TengineError(
        'No API key: pass `apiKey` to `new TengineAI({ apiKey })` or set TENGINE_API_KEY.',
      );
    }
    this.apiKey = apiKey;
    this.baseUrl = normalizeBaseUrl(options.baseUrl ?? env('TENGINE_BASE_URL') ?? DEFAULT_BASE_URL);
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.maxRetries = options.maxRetries ?? 3;
    this.initialRetryDelayMs = options.initialRetryDelayMs ?? 500;
    this.maxRetryDelayMs = options.maxRetryDelayMs ?? 60_000;
    this.defaultHeaders = { ...(options.defaultHeaders ?? {}) };
    const f = options.fetch ?? globalThis.fetch;
    if (typeof f !== 'function') throw new TengineError('No global fetch: use Node 20 or pass `fetch`.');
    // The global one is bound: browsers refuse a `fetch` called on another object
    // ("Illegal invocation"), and the client calls it as its own method.
    this.fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
  }

  buildUrl(path: string, query?: Record<string, QueryValue>): string {
    const url = new URL(this.baseUrl + path);
    if (query) {
      for (const [k, v] of Object.entries(query)) {
        if (v === undefined || v === null) continue;
        url.searchParams.set(k, v instanceof Date ? v.toISOString() : String(v));
      }
    }
    return url.toString();
  }

  /** Delay before retry number `retry` (1-based): exponential, capped, with equal jitter in [50 %, 100 %]. */
  backoffMs(retry: number): number {
    const base = Math.min(this.maxRetryDelayMs, this.initialRetryDelayMs * 2 ** (retry - 1));
    return base * (0.5 + Math.random() * 0.5);
  }

  /** Sends a request; resolves to the parsed JSON body (undefined for 204). */
  async request<T = unknown>(spec: RequestSpec): Promise<T> {
    return (await this.requestWithHeaders<T>(spec)).body;
  }

  /** {@link request}, also resolving to the answer's headers. */
  async requestWithHeaders<T = unknown>(spec: RequestSpec): Promise<{ body: T; headers: Headers }> {
    const opts = spec.options ?? {};
    const url = this.buildUrl(spec.path, spec.query);
    const maxRetries = opts.maxRetries ?? this.maxRetries;
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    const headers: Record<string, string> = {
      Accept: 'application/json',
      'User-Agent': `tengineai-typescript/${VERSION}`,
      ...this.defaultHeaders,
      ...(opts.headers ?? {}),
      Authorization: `Bearer ${this.apiKey}`,
    };
    let body: string | undefined;
    if (spec.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(spec.body);
    }
    // One key per call, the same on every retry, so a retried POST is applied once.
    if (spec.method === 'POST') headers['Idempotency-Key'] = opts.idempotencyKey ?? globalThis.crypto.randomUUID();

    for (let attempt = 0; ; attempt++) {
      const timeout = AbortSignal.timeout(timeoutMs);
      const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
      let error: TengineError | undefined;
      let retryAfter: number | undefined;
      let res: Response | undefined;
      let text = '';
      try {
        res = await this.fetchImpl(url, { method: spec.method, headers, body, signal });
        text = await res.text();
      } catch (cause) {
        res = undefined;
        if (opts.signal?.aborted) {
          // The caller aborted: never retried.
          throw new APIConnectionError('Request aborted', { cause: opts.signal.reason ?? cause });
        }
        if (timeout.aborted) {
          error = new APITimeoutError(`Request timed out after ${timeoutMs} ms`, { cause });
        } else {
          const inner = cause instanceof Error && cause.cause instanceof Error ? cause.cause : cause;
          const detail = inner instanceof Error ? inner.message : String(inner);
          error = new APIConnectionError(`Connection error: ${detail}`, { cause });
        }
      }
      if (res) {
        if (res.ok) {
          if (res.status === 204 || text === '') return { body: undefined as T, headers: res.headers };
          try {
            return { body: JSON.parse(text) as T, headers: res.headers };
          } catch (cause) {
            throw new TengineError(`Invalid JSON in a ${res.status} response`, {
              status: res.status,
              requestId: res.headers.get('x-request-id') ?? undefined,
              headers: res.headers,
              cause,
            });
          }
        }
        error = errorFromResponse(res.status, res.headers, text);
        if (!RETRYABLE_STATUS.has(res.status)) throw error;
        retryAfter = parseRetryAfter(res.headers.get('retry-after'));
      }
      if (error === undefined) throw new TengineError('Unreachable: no response and no error');
      if (attempt >= maxRetries) throw error;
      // docs/sdk-retries.md: Retry-After is a lower bound on the jittered backoff; one
      // beyond the cap is not waited for, the error is thrown now.
      const backoff = this.backoffMs(attempt + 1);
      if (retryAfter !== undefined && retryAfter * 1000 > this.maxRetryDelayMs) throw error;
      await sleep(Math.max(backoff, (retryAfter ?? 0) * 1000), opts.signal);
    }
  }
  /**
   * Follows a Server-Sent Events route: its messages, one connection after another, each
   * resuming (`Last-Event-ID`) after the last id received. The first connection is retried
   * as any call is; a reconnection after any 5xx, 429, timeout or connection error, after a
   * pause of 0.5 s doubling to 10 s, until it succeeds. A 4xx other than 429 is thrown:
   * waiting would not change the answer. Aborting `signal`, or leaving the loop, closes the
   * connection and ends the iteration.
   */
  async *stream(path: string, options: StreamOptions = {}): AsyncGenerator<ServerSentEvent, void, undefined> {
    const { signal } = options;
    let lastEventId = options.lastEventId;
    let reconnecting = false;
    while (!signal?.aborted) {
      const opened = await this.openStream(path, lastEventId, reconnecting, signal);
      if (!opened) return;
      reconnecting = true;
      const { body, connection } = opened;
      const reader = body.getReader();
      const parser = new SSEParser();
      let idle: ReturnType<typeof setTimeout> | undefined;
      const onAbort = (): void => connection.abort(signal?.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      if (signal?.aborted) connection.abort(signal.reason);
      try {
        for (;;) {
          clearTimeout(idle);
          idle = setTimeout(() => connection.abort(new APITimeoutError('The event stream went silent')), STREAM_IDLE_MS);
          const { done, value } = await reader.read();
          if (done) break;
          for (const message of parser.feed(value)) {
            if (message.id) lastEventId = message.id;
            yield message;
          }
        }
      } catch {
        // The connection dropped or went silent (or the caller aborted): resume, or stop
        // above. A message cut short is dropped; it comes again after Last-Event-ID.
      } finally {
        clearTimeout(idle);
        signal?.removeEventListener('abort', onAbort);
        // Closes the connection, also when the caller left the loop mid-stream.
        connection.abort();
      }
    }
  }

  /** A 2xx answer's body and the controller that closes its connection, retried as
   * {@link stream} says; undefined once the caller aborted. */
  private async openStream(
    path: string,
    lastEventId: string | undefined,
    reconnecting: boolean,
    signal: AbortSignal | undefined,
  ): Promise<{ body: ReadableStream<Uint8Array>; connection: AbortController } | undefined> {
    const url = this.buildUrl(path);
    const headers: Record<string, string> = {
      'User-Agent': `tengineai-typescript/${VERSION}`,
      ...this.defaultHeaders,
      Accept: 'text/event-stream',
      Authorization: `Bearer ${this.apiKey}`,
    };
    if (lastEventId) headers['Last-Event-ID'] = lastEventId;
    let pause = STREAM_FIRST_PAUSE_MS;
    let wait: number | undefined;
    if (reconnecting) {
      wait = pause;
      pause = Math.min(pause * 2, STREAM_MAX_PAUSE_MS);
    }
    for (let attempt = 0; ; attempt++) {
      if (wait !== undefined) {
        try {
          await sleep(wait, signal);
        } catch {
          return undefined;
        }
      }
      if (signal?.aborted) return undefined;
      const connection = new AbortController();
      // `timeoutMs` bounds the wait for the answer (an error's body included); a stream's
      // body then has its own idle limit.
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        connection.abort();
      }, this.timeoutMs);
      const onAbort = (): void => connection.abort(signal?.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      let outcome: { error: TengineError; retryable: boolean; retryAfter?: number | undefined };
      try {
        const res = await this.fetchImpl(url, { method: 'GET', headers, signal: connection.signal });
        if (res.ok && res.body) return { body: res.body, connection };
        const text = await res.text();
        const error = res.ok
          ? new TengineError('The event stream answered without a body', { status: res.status, headers: res.headers })
          : errorFromResponse(res.status, res.headers, text);
        outcome = {
          error,
          retryable: RETRYABLE_STATUS.has(res.status) || (reconnecting && res.status >= 500),
          retryAfter: parseRetryAfter(res.headers.get('retry-after')),
        };
      } catch (cause) {
        if (signal?.aborted) return undefined;
        const inner = cause instanceof Error && cause.cause instanceof Error ? cause.cause : cause;
        const detail = inner instanceof Error ? inner.message : String(inner);
        const error = timedOut
          ? new APITimeoutError(`The event stream was not answered within ${this.timeoutMs} ms`, { cause })
          : new APIConnectionError(`Connection error: ${detail}`, { cause });
        outcome = { error, retryable: true };
      } finally {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      }
      const { error, retryable, retryAfter } = outcome;
      if (!retryable) throw error;
      if (retryAfter !== undefined && retryAfter * 1000 > this.maxRetryDelayMs) throw error;
      if (reconnecting) {
        wait = Math.max(pause, (retryAfter ?? 0) * 1000);
        pause = Math.min(pause * 2, STREAM_MAX_PAUSE_MS);
      } else {
        if (attempt >= this.maxRetries) throw error;
        wait = Math.max(this.backoffMs(attempt + 1), (retryAfter ?? 0) * 1000);
      }
    }
  }
}
