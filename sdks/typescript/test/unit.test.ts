/** Tests that need no server: configuration, case conversion, key checksums, pages. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Page, TengineAI, TengineError, VERSION, normalizeBaseUrl } from '@tengineai/sdk';
import { base62, crc32, generateKey } from './helpers/server.js';

describe('configuration', () => {
  it("reports package.json's version as VERSION and defaults to the shared retry settings", () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    assert.equal(VERSION, pkg.version);
    const c = new TengineAI({ apiKey: 'k' });
    assert.deepEqual([c.maxRetries, c.initialRetryDelayMs, c.maxRetryDelayMs], [3, 500, 60_000]);
  });

  it('appends /api/v1 to a base URL without it', () => {
    assert.equal(normalizeBaseUrl('http://localhost:8080'), 'http://localhost:8080/api/v1');
    assert.equal(normalizeBaseUrl('http://localhost:8080/'), 'http://localhost:8080/api/v1');
    assert.equal(normalizeBaseUrl('http://localhost:8080/api/v1'), 'http://localhost:8080/api/v1');
    assert.equal(normalizeBaseUrl('http://localhost:8080/api/v1/'), 'http://localhost:8080/api/v1');
    assert.equal(normalizeBaseUrl('https://gw.example.com/tengine'), 'https://gw.example.com/tengine/api/v1');
  });

  it('defaults to the hosted API and reads the environment', () => {
    const saved = { key: process.env['TENGINE_API_KEY'], url: process.env['TENGINE_BASE_URL'] };
    try {
      process.env['TENGINE_API_KEY'] = 'tng_from_env';
      delete process.env['TENGINE_BASE_URL'];
      const a = new TengineAI();
      assert.equal(a.apiKey, 'tng_from_env');
      assert.equal(a.baseUrl, 'https://app.tengine.ai/api/v1');
      process.env['TENGINE_BASE_URL'] = 'http://127.0.0.1:9999';
      const b = new TengineAI();
      assert.equal(b.baseUrl, 'http://127.0.0.1:9999/api/v1');
      const c = new TengineAI({ apiKey: 'explicit', baseUrl: 'http://h:1/api/v1', timeoutMs: 5, maxRetries: 7 });
      assert.equal(c.apiKey, 'explicit');
      assert.equal(c.baseUrl, 'http://h:1/api/v1');
      assert.equal(c.timeoutMs, 5);
      assert.equal(c.maxRetries, 7);
      delete process.env['TENGINE_API_KEY'];
      assert.throws(() => new TengineAI(), TengineError);
    } finally {
      if (saved.key === undefined) delete process.env['TENGINE_API_KEY'];
      else process.env['TENGINE_API_KEY'] = saved.key;
      if (saved.url === undefined) delete process.env['TENGINE_BASE_URL'];
      else process.env['TENGINE_BASE_URL'] = saved.url;
    }
  });

  it('exposes the resources', () => {
    const client = new TengineAI({ apiKey: 'k', baseUrl: 'http://localhost:1' });
    for (const r of ['projects', 'apiKeys', 'webhooks', 'events', 'analytics'] as const) assert.ok(client[r]);
    assert.equal(typeof client.projects.get, 'function');
    assert.equal(typeof client.analytics.get, 'function');
  });
});

describe('test key generator', () => {
  it('implements zlib CRC-32', () => {
    assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
    assert.equal(crc32(Buffer.alloc(0)), 0);
  });

  it('makes tng_ + 40 base62 + 6-character checksum', () => {
    assert.equal(base62(0), '0');
    assert.equal(base62(61), 'z');
    assert.equal(base62(62), '10');
    const key = generateKey();
    assert.match(key, /^tng_[0-9A-Za-z]{46}$/);
    assert.equal(key.slice(44), base62(crc32(Buffer.from(key.slice(0, 44)))).padStart(6, '0'));
  });
});

describe('Page', () => {
  it('knows whether more pages follow and iterates across them', async () => {
    const pages = [
      ['a', 'b'],
      ['c', 'd'],
      ['e'],
    ];
    const fetchPage = async (n: number): Promise<Page<string>> =>
      new Page(pages[n - 1] ?? [], { page: n, perPage: 2, total: 5, hasMore: n < 3 }, () => fetchPage(n + 1));
    const first = await fetchPage(1);
    assert.equal(first.hasNext(), true);
    const last = await fetchPage(3);
    assert.equal(last.hasNext(), false);
    assert.equal(await last.nextPage(), null);
    const all: string[] = [];
    for await (const x of first) all.push(x);
    assert.deepEqual(all, ['a', 'b', 'c', 'd', 'e']);
    assert.deepEqual(JSON.parse(JSON.stringify(first)), { data: ['a', 'b'], pagination: { page: 1, perPage: 2, total: 5, hasMore: true } });
    // A server that does not send `has_more` (the hosted reference API): the page numbers decide.
    assert.equal(new Page(['a'], { page: 1, perPage: 1, total: 2 }, () => fetchPage(2)).hasNext(), true);
    assert.equal(new Page(['b'], { page: 2, perPage: 1, total: 2 }, () => fetchPage(3)).hasNext(), false);
  });
});
