/**
 * The retry conformance scenarios of `sdks/conformance/retries.json` (the rule is
 * `docs/sdk-retries.md`), played by a scripted HTTP server on loopback.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { RateLimitError, ServerError, TengineAI, TengineError } from '@tengineai/sdk';

interface Answer {
  status?: number;
  retry_after?: string;
  retry_after_http_date_offset_s?: number;
  reset?: boolean;
}

interface Scenario {
  name: string;
  call: 'create_project' | 'retrieve_project';
  config?: Partial<Config>;
  responses: Answer[];
  expect: {
    attempts: number;
    outcome: 'ok' | { status: number; retry_after_s?: number };
    waits_ms: [number, number][];
  };
}

interface Config {
  max_retries: number;
  base_delay_ms: number;
  max_delay_ms: number;
}

interface Doc {
  defaults: Config;
  calls: Record<string, { method: string }>;
  project: Record<string, unknown>;
  error_codes: Record<string, string>;
  scenarios: Scenario[];
}

interface Seen {
  at: number;
  method: string;
  key: string | undefined;
}

const doc = JSON.parse(readFileSync(new URL('../../conformance/retries.json', import.meta.url), 'utf8')) as Doc;
/** How late a retry may come on a loaded machine, above a wait's upper bound. */
const SLACK_MS = 1500;
/** What timer rounding may shave off a wait's lower bound. */
const EARLY_MS = 2;

async function scriptedServer(responses: Answer[]): Promise<{ server: Server; url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const key = req.headers['idempotency-key'];
      seen.push({ at: performance.now(), method: req.method ?? '', key: typeof key === 'string' ? key : undefined });
      const answer = responses[Math.min(seen.length, responses.length) - 1]!;
      if (answer.reset) {
        res.socket?.destroy();
        return;
      }
      const status = answer.status ?? 500;
      const body =
        status < 300
          ? doc.project
          : { error: { code: doc.error_codes[String(status)] ?? 'INTERNAL_ERROR', message: 'scripted', details: {}, request_id: 'req_scripted' } };
      const headers: Record<string, string> = { 'content-type': 'application/json', connection: 'close' };
      if (answer.retry_after !== undefined) headers['retry-after'] = answer.retry_after;
      if (answer.retry_after_http_date_offset_s !== undefined) {
        headers['retry-after'] = new Date(Date.now() + answer.retry_after_http_date_offset_s * 1000).toUTCString();
      }
      res.writeHead(status, headers);
      res.end(JSON.stringify(body));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

describe('retry conformance (sdks/conformance/retries.json)', () => {
  it('lists the scenarios', () => {
    assert.ok(doc.scenarios.length >= 10);
  });

  for (const scenario of doc.scenarios) {
    it(scenario.name, async () => {
      const config = { ...doc.defaults, ...(scenario.config ?? {}) };
      const { server, url, seen } = await scriptedServer(scenario.responses);
      const client = new TengineAI({
        apiKey: 'tng_x',
        baseUrl: url,
        maxRetries: config.max_retries,
        initialRetryDelayMs: config.base_delay_ms,
        maxRetryDelayMs: config.max_delay_ms,
      });
      const started = performance.now();
      let result: unknown;
      try {
        result =
          scenario.call === 'create_project'
            ? await client.projects.create({ name: 'x' })
            : await client.projects.retrieve('proj_1');
      } catch (e) {
        result = e;
      } finally {
        server.closeAllConnections();
        server.close();
      }
      const elapsed = performance.now() - started;
      const { expect } = scenario;

      assert.equal(seen.length, expect.attempts, 'attempts');
      if (expect.outcome === 'ok') {
        assert.ok(!(result instanceof Error), String(result));
        assert.equal((result as { id: string }).id, 'proj_1');
      } else {
        assert.ok(result instanceof TengineError, String(result));
        assert.equal(result.status, expect.outcome.status);
        if (expect.outcome.retry_after_s !== undefined) {
          assert.ok(result instanceof RateLimitError || result instanceof ServerError);
          assert.equal(result.retryAfter, expect.outcome.retry_after_s);
        }
      }

      const method = doc.calls[scenario.call]!.method;
      assert.ok(seen.every((s) => s.method === method));
      const keys = seen.map((s) => s.key);
      if (method === 'POST') {
        assert.match(String(keys[0]), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
        assert.deepEqual(keys, keys.map(() => keys[0]), 'one Idempotency-Key across retries');
      } else {
        assert.deepEqual(keys, keys.map(() => undefined));
      }

      assert.equal(expect.waits_ms.length, seen.length - 1, 'one wait per retry');
      expect.waits_ms.forEach(([lo, hi], i) => {
        const gap = seen[i + 1]!.at - seen[i]!.at;
        assert.ok(gap + EARLY_MS >= lo, `retry ${i + 1} came after ${gap.toFixed(1)} ms, before ${lo} ms`);
        assert.ok(gap <= hi + SLACK_MS, `retry ${i + 1} came after ${gap.toFixed(1)} ms, long after ${hi} ms`);
      });
      if (expect.waits_ms.length === 0) assert.ok(elapsed < config.max_delay_ms, `failed at once, not after ${elapsed} ms`);
    });
  }
});
