/** Retries, idempotency keys, timeouts and error mapping, against a local fake server. */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  APIConnectionError,
  APITimeoutError,
  AuthenticationError,
  NotFoundError,
  RateLimitError,
  ServerError,
  TengineAI,
  TengineError,
  ValidationError,
} from '@tengineai/sdk';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

type Handler = (req: Seen, res: ServerResponse, n: number) => void;

let server: Server;
let baseUrl: string;
let handler: Handler = (_q, res) => res.end();
let seen: Seen[] = [];

function use(h: Handler): void {
  seen = [];
  handler = h;
}

const PROJECT = {
  id: 'proj_1',
  name: 'Retried',
  description: null,
  created_at: '2024-01-01T00:00:00Z',
  updated_at: '2024-01-01T00:00:00Z',
};

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', 'x-request-id': 'req_fake', ...headers });
  res.end(JSON.stringify(body));
}

function errorBody(code: string, message: string, details: Record<string, unknown> = {}): unknown {
  return { error: { code, message, details, request_id: 'req_envelope' } };
}

function client(opts: Partial<ConstructorParameters<typeof TengineAI>[0]> = {}): TengineAI {
  return new TengineAI({ apiKey: 'tng_test', baseUrl, maxRetries: 2, initialRetryDelayMs: 1, maxRetryDelayMs: 1000, ...opts });
}

before(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const s: Seen = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString() };
      seen.push(s);
      handler(s, res, seen.length);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

describe('retries', () => {
  it('retries a POST after 503 + Retry-After: 0 twice, with the same Idempotency-Key', async () => {
    use((_q, res, n) => {
      if (n <= 2) json(res, 503, errorBody('SERVICE_UNAVAILABLE', 'db down'), { 'retry-after': '0' });
      else json(res, 201, PROJECT);
    });
    const project = await client().projects.create({ name: 'Retried' });
    assert.equal(project.id, 'proj_1');
    assert.equal(project.createdAt, '2024-01-01T00:00:00Z');
    assert.equal(seen.length, 3);
    const keys = seen.map((s) => s.headers['idempotency-key']);
    assert.match(String(keys[0]), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.deepEqual(keys, [keys[0], keys[0], keys[0]]);
    for (const s of seen) {
      assert.equal(s.method, 'POST');
      assert.equal(s.url, '/api/v1/projects');
      assert.equal(s.headers['authorization'], 'Bearer tng_test');
      assert.equal(s.headers['content-type'], 'application/json');
      assert.deepEqual(JSON.parse(s.body), { name: 'Retried' });
    }
  });

  it('uses a new Idempotency-Key for each call, and the one given when given', async () => {
    use((_q, res) => json(res, 201, PROJECT));
    const c = client();
    await c.projects.create({ name: 'a' });
    await c.projects.create({ name: 'b' });
    await c.projects.create({ name: 'c' }, { idempotencyKey: 'my-key-1' });
    const [k1, k2, k3] = seen.map((s) => s.headers['idempotency-key']);
    assert.ok(k1 && k2 && k1 !== k2);
    assert.equal(k3, 'my-key-1');
  });

  it('sends no Idempotency-Key on GET, and retries GETs too', async () => {
    use((_q, res, n) => {
      if (n === 1) json(res, 502, { oops: true });
      else json(res, 200, { data: [PROJECT], pagination: { page: 1, per_page: 20, total: 1 } });
    });
    const page = await client().projects.list();
    assert.equal(page.data.length, 1);
    assert.deepEqual(page.pagination, { page: 1, perPage: 20, total: 1 });
    assert.equal(seen.length, 2);
    assert.equal(seen[0]?.headers['idempotency-key'], undefined);
  });

  it('gives up after maxRetries with a ServerError carrying the envelope', async () => {
    use((_q, res) => json(res, 503, errorBody('SERVICE_UNAVAILABLE', 'db down'), { 'retry-after': '0' }));
    await assert.rejects(client({ maxRetries: 3 }).projects.retrieve('proj_1'), (e: unknown) => {
      assert.ok(e instanceof ServerError);
      assert.ok(e instanceof TengineError);
      assert.equal(e.status, 503);
      assert.equal(e.code, 'SERVICE_UNAVAILABLE');
      assert.equal(e.message, 'db down');
      assert.equal(e.requestId, 'req_envelope');
      assert.equal(e.retryAfter, 0);
      return true;
    });
    assert.equal(seen.length, 4);
  });

  it('maps 429 to RateLimitError and does not wait for a Retry-After above the cap', async () => {
    const details = { limit: 100, reset_at: '2030-01-01T00:00:00Z' };
    use((_q, res) => json(res, 429, errorBody('RATE_LIMIT_EXCEEDED', 'slow down', details), { 'retry-after': '3600' }));
    const started = Date.now();
    await assert.rejects(client().projects.list(), (e: unknown) => {
      assert.ok(e instanceof RateLimitError);
      assert.equal(e.status, 429);
      assert.equal(e.retryAfter, 3600);
      assert.deepEqual(e.details, details);
      return true;
    });
    assert.equal(seen.length, 1);
    assert.ok(Date.now() - started < 1000);
  });

  it('honours a short Retry-After on 429', async () => {
    use((_q, res, n) => {
      if (n === 1) json(res, 429, errorBody('RATE_LIMIT_EXCEEDED', 'slow down'), { 'retry-after': '1' });
      else json(res, 200, PROJECT);
    });
    const started = Date.now();
    await client({ maxRetryDelayMs: 5000 }).projects.retrieve('proj_1');
    assert.equal(seen.length, 2);
    assert.ok(Date.now() - started >= 950, 'waited for Retry-After');
  });

  it('does not retry other errors; non-JSON bodies still map by status', async () => {
    use((_q, res) => {
      res.writeHead(404, { 'content-type': 'text/html', 'x-request-id': 'req_html' });
      res.end('<html>not here</html>');
    });
    await assert.rejects(client().projects.retrieve('proj_x'), (e: unknown) => {
      assert.ok(e instanceof NotFoundError);
      assert.equal(e.status, 404);
      assert.equal(e.code, undefined);
      assert.equal(e.requestId, 'req_html');
      assert.match(e.message, /404/);
      return true;
    });
    assert.equal(seen.length, 1);

    use((_q, res) => {
      res.writeHead(401);
      res.end();
    });
    await assert.rejects(client().projects.list(), AuthenticationError);
    use((_q, res) => json(res, 400, errorBody('VALIDATION_ERROR', 'bad json', { field: 'body' })));
    await assert.rejects(client().projects.create({ name: 'x' }), ValidationError);
    assert.equal(seen.length, 1);
  });

  it('maps a non-JSON 502 to ServerError after retrying', async () => {
    use((_q, res) => {
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end('Bad Gateway');
    });
    await assert.rejects(client({ maxRetries: 1 }).projects.list(), (e: unknown) => {
      assert.ok(e instanceof ServerError);
      assert.equal(e.status, 502);
      assert.equal(e.message, 'HTTP 502: Bad Gateway');
      return true;
    });
    assert.equal(seen.length, 2);
  });

  it('sends PATCH bodies in snake_case with null kept and undefined dropped; DELETE 204 resolves', async () => {
    use((q, res) => {
      if (q.method === 'DELETE') {
        res.writeHead(204);
        res.end();
      } else json(res, 200, { ...PROJECT, name: 'n' });
    });
    const c = client();
    await c.projects.update('proj_1', { name: 'n', description: null });
    await c.projects.update('proj_1', { description: undefined, name: 'm' });
    await c.apiKeys.update('proj_1', 'key_1', { expiresAt: new Date('2030-01-01T00:00:00Z') });
    assert.equal(await c.projects.delete('proj_1'), undefined);
    assert.deepEqual(JSON.parse(seen[0]!.body), { name: 'n', description: null });
    assert.deepEqual(JSON.parse(seen[1]!.body), { name: 'm' });
    assert.equal(seen[2]!.url, '/api/v1/projects/proj_1/api-keys/key_1');
    assert.deepEqual(JSON.parse(seen[2]!.body), { expires_at: '2030-01-01T00:00:00.000Z' });
    assert.equal(seen[3]!.method, 'DELETE');
  });

  it('builds query strings in snake_case', async () => {
    use((_q, res) =>
      json(res, 200, { project_id: 'proj_1', start_date: 'a', end_date: 'b', granularity: 'hour', totals: { requests: 1, errors: 0, rate_limited: 0, avg_latency_ms: 1, p95_latency_ms: 2 }, data: [] }),
    );
    const a = await client().analytics.retrieve('proj_1', { startDate: '2024-01-01', endDate: '2024-01-02', granularity: 'hour', apiKeyId: 'key_1' });
    assert.equal(a.totals.rateLimited, 0);
    assert.equal(a.totals.p95LatencyMs, 2);
    assert.equal(seen[0]!.url, '/api/v1/projects/proj_1/analytics?start_date=2024-01-01&end_date=2024-01-02&granularity=hour&api_key_id=key_1');
    use((_q, res) => json(res, 200, { data: [], pagination: { page: 2, per_page: 5, total: 0 } }));
    await client().events.list('proj_1', { type: 'api_key.created', page: 2, perPage: 5 });
    assert.equal(seen[0]!.url, '/api/v1/projects/proj_1/events?type=api_key.created&page=2&per_page=5');
  });
});

describe('connection errors', () => {
  it('retries network errors and then throws APIConnectionError', async () => {
    const { unusedPort } = await import('./helpers/server.js');
    const port = await unusedPort();
    const c = new TengineAI({ apiKey: 'k', baseUrl: `http://127.0.0.1:${port}`, maxRetries: 2, initialRetryDelayMs: 1 });
    await assert.rejects(c.projects.list(), (e: unknown) => {
      assert.ok(e instanceof APIConnectionError);
      assert.ok(e instanceof TengineError);
      assert.equal(e.status, undefined);
      return true;
    });
  });

  it('retries after a dropped connection, with the same Idempotency-Key', async () => {
    use((_q, res, n) => {
      if (n === 1) res.socket?.destroy();
      else json(res, 201, PROJECT);
    });
    await client().projects.create({ name: 'x' });
    assert.equal(seen.length, 2);
    assert.equal(seen[0]!.headers['idempotency-key'], seen[1]!.headers['idempotency-key']);
  });

  it('times out with APITimeoutError', async () => {
    use(() => {
      /* never answers */
    });
    await assert.rejects(client({ timeoutMs: 200, maxRetries: 1 }).projects.list(), APITimeoutError);
    assert.equal(seen.length, 2);
  });

  it('does not retry a call the caller aborted', async () => {
    use(() => {
      /* never answers */
    });
    const ctrl = new AbortController();
    setTimeout(() => ctrl.abort(), 100);
    await assert.rejects(client({ maxRetries: 3 }).projects.list({}, { signal: ctrl.signal }), APIConnectionError);
    assert.equal(seen.length, 1);
  });
});
