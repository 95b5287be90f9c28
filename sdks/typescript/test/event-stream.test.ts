/**
 * Live events: the SSE parser, resumption and stopping against a scripted server, and
 * `client.events.stream` against a real tengine server.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it, type TestContext } from 'node:test';
import {
  AuthenticationError,
  NotFoundError,
  PermissionDeniedError,
  SSEParser,
  TengineAI,
  TengineError,
  ValidationError,
  type Event,
  type Project,
  type ServerSentEvent,
} from '@tengineai/sdk';
import { setup, type Fixture } from './helpers/fixture.js';

// --- the parser -------------------------------------------------------------------------

/** Parses `text` whole, byte by byte and cut at every position; all must agree. */
function parseEveryWay(text: string | Uint8Array): ServerSentEvent[] {
  const bytes = typeof text === 'string' ? new TextEncoder().encode(text) : text;
  const whole = new SSEParser().feed(bytes);
  const bytewise = new SSEParser();
  const byByte = [...bytes].flatMap((b) => bytewise.feed(Uint8Array.of(b)));
  assert.deepEqual(byByte, whole, 'byte by byte');
  for (let cut = 0; cut <= bytes.length; cut++) {
    const parser = new SSEParser();
    const split = [...parser.feed(bytes.subarray(0, cut)), ...parser.feed(bytes.subarray(cut))];
    assert.deepEqual(split, whole, `cut at ${cut}`);
  }
  if (typeof text === 'string') {
    const textwise = new SSEParser();
    assert.deepEqual([...text].flatMap((c) => textwise.feed(c)), whole, 'character by character');
  }
  return whole;
}

const EXPECTED: ServerSentEvent[] = [
  { id: 'evt_1', event: 'api_key.created', data: '{"id":"evt_1"}' },
  { id: 'evt_2', event: 'x', data: 'a\nb' },
];

describe('the SSE parser', () => {
  it('reads the same messages however the body is chunked and whatever ends its lines', () => {
    for (const eol of ['\n', '\r\n', '\r']) {
      const lines = ['id: evt_1', 'event: api_key.created', 'data: {"id":"evt_1"}', '', 'id:evt_2', 'event: x'];
      assert.deepEqual(parseEveryWay([...lines, 'data: a', 'data:b', '', ''].join(eol)), EXPECTED, JSON.stringify(eol));
    }
    const mixed = 'id: evt_1\r\nevent: api_key.created\rdata: {"id":"evt_1"}\n\r\nid: evt_2\nevent: x\r\ndata: a\rdata:b\r\n\r';
    assert.deepEqual(parseEveryWay(mixed), EXPECTED);
  });

  it('yields nothing for comments, blank lines and messages without data', () => {
    assert.deepEqual(parseEveryWay(': keep-alive\n\n:\n\nid: evt_1\nevent: x\n\n\n\n'), []);
    const parser = new SSEParser();
    assert.deepEqual(parser.feed('data: half'), [], 'an unfinished line waits');
    assert.deepEqual(parser.feed('\n'), [], 'an unfinished message waits');
    assert.deepEqual(parser.feed('\n'), [{ id: undefined, event: undefined, data: 'half' }]);
  });

  it('ends a line at a CR at once, and the LF after it in the next chunk ends no other', () => {
    let parser = new SSEParser();
    assert.deepEqual(parser.feed('data: x\r'), []);
    assert.equal(parser.feed('\r').length, 1, 'CR CR is a line and a blank line, dispatched without waiting');
    parser = new SSEParser();
    assert.deepEqual(parser.feed('data: x\r'), []);
    assert.deepEqual(parser.feed(''), []);
    assert.deepEqual(parser.feed('\n'), [], 'the LF of a CRLF split across chunks is not a blank line');
    assert.equal(parser.feed('\r\n').length, 1);
  });

  it('follows the standard on fields, the byte order mark and characters split across chunks', () => {
    const text = '\ufeffdata\nid: a\0b\nevent:  two spaces\nretry: 10\nunknown: x\ndata:  y\n\n';
    assert.deepEqual(parseEveryWay(text), [{ id: undefined, event: ' two spaces', data: '\n y' }]);
    assert.equal(parseEveryWay('data: h\u00e9llo \u{1f600}\n\n')[0]?.data, 'h\u00e9llo \u{1f600}');
  });
});

// --- resumption and stopping, against a scripted server ---------------------------------

interface Seen {
  at: number;
  url: string;
  headers: IncomingMessage['headers'];
}

/** What the scripted server does with connection number `n` (1-based). */
type Script = (res: ServerResponse, n: number) => void;

let fake: Server;
let fakeUrl: string;
let script: Script = (res) => res.end();
let seen: Seen[] = [];

function use(s: Script): void {
  seen = [];
  script = s;
}

function envelope(id: string, type: string): string {
  return JSON.stringify({ id, type, data: { id: `obj_${id}` }, created_at: '2026-01-01T00:00:00Z', api_version: '2024-01-01' });
}

/** Writes `pieces` as an event stream, each on its own, then ends it unless `hold`. */
function sse(res: ServerResponse, pieces: string[], hold = false): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  let i = 0;
  const next = (): void => {
    if (i < pieces.length) {
      res.write(pieces[i++]);
      setTimeout(next, 20);
    } else if (!hold) res.end();
  };
  next();
}

function refuse(res: ServerResponse, status: number, code: string, details: Record<string, unknown> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ error: { code, message: 'scripted', details, request_id: 'req_scripted' } }));
}

function scripted(opts: Partial<ConstructorParameters<typeof TengineAI>[0]> = {}): TengineAI {
  return new TengineAI({ apiKey: 'tng_x', baseUrl: fakeUrl, maxRetries: 2, initialRetryDelayMs: 10, ...opts });
}

before(async () => {
  fake = createServer((req, res) => {
    seen.push({ at: Date.now(), url: req.url ?? '', headers: req.headers });
    script(res, seen.length);
  });
  await new Promise<void>((r) => fake.listen(0, '127.0.0.1', () => r()));
  fakeUrl = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`;
});

after(async () => {
  fake.closeAllConnections();
  await new Promise<void>((r) => fake.close(() => r()));
});

describe('events.stream against a scripted server', () => {
  it('resumes after the last event whenever the server ends the stream, and stops at a 4xx', async () => {
    const [one, two, three] = [envelope('evt_1', 'api_key.created'), envelope('evt_2', 'project.updated'), envelope('evt_3', 'x')];
    use((res, n) => {
      if (n === 1) {
        sse(res, [
          ': keep-alive\r\n\r\n',
          'id: evt_1\r\nevent: api_key.created\r\nda',
          `ta: ${one}\r`,
          '\n\r\n',
          `id: evt_2\nevent: project.updated\ndata: ${two}\n\n`,
          // Cut short by the end of the stream: sent again after the resumption.
          `id: evt_3\ndata: ${three.slice(0, 10)}`,
        ]);
      } else if (n === 2) refuse(res, 503, 'SERVICE_UNAVAILABLE');
      else if (n === 3) sse(res, [`id: evt_3\revent: x\rdata: ${three}\r\r`]);
      else refuse(res, 401, 'INVALID_API_KEY');
    });
    const got: Event[] = [];
    await assert.rejects(
      (async () => {
        for await (const event of scripted().events.stream('proj_1')) got.push(event);
      })(),
      AuthenticationError,
    );
    assert.deepEqual(
      got.map((e) => e.id),
      ['evt_1', 'evt_2', 'evt_3'],
    );
    assert.equal(got[0]?.type, 'api_key.created');
    assert.equal(got[0]?.createdAt, '2026-01-01T00:00:00Z');
    assert.deepEqual(got[0]?.data, { id: 'obj_evt_1' });
    assert.deepEqual(
      seen.map((s) => s.headers['last-event-id']),
      [undefined, 'evt_2', 'evt_2', 'evt_3'],
    );
    for (const s of seen) {
      assert.equal(s.url, '/api/v1/projects/proj_1/events/stream');
      assert.equal(s.headers['accept'], 'text/event-stream');
      assert.equal(s.headers['authorization'], 'Bearer tng_x');
    }
    // 0.5 s before each reconnection, doubled after the 503, back to 0.5 s once open.
    const gaps = seen.slice(1).map((s, i) => s.at - seen[i]!.at);
    [500, 1000, 500].forEach((least, i) => {
      assert.ok(gaps[i]! >= least - 5 && gaps[i]! < least + 1500, `gaps ${gaps.join(', ')}`);
    });
  });

  it('retries a first connection as any call, and not a 4xx', async () => {
    use((res, n) => (n === 1 ? refuse(res, 503, 'SERVICE_UNAVAILABLE') : sse(res, [`id: evt_9\ndata: ${envelope('evt_9', 'x')}\n\n`], true)));
    const started = Date.now();
    for await (const event of scripted().events.stream('proj_1', { lastEventId: 'evt_8' })) {
      assert.equal(event.id, 'evt_9');
      break;
    }
    assert.ok(Date.now() - started < 400, 'the SDK backoff, not the reconnection pause');
    assert.deepEqual(
      seen.map((s) => s.headers['last-event-id']),
      ['evt_8', 'evt_8'],
    );

    use((res) => refuse(res, 422, 'VALIDATION_ERROR', { field: 'Last-Event-ID' }));
    const stream = scripted().events.stream('proj_1', { lastEventId: 'evt_unknown' });
    await assert.rejects(stream.next(), (e: unknown) => {
      assert.ok(e instanceof ValidationError);
      assert.equal(e.status, 422);
      assert.equal(e.details['field'], 'Last-Event-ID');
      return true;
    });
    assert.equal(seen.length, 1);
  });

  it('ends, with no error, when its signal is aborted, mid-read or before it starts', async () => {
    use((res) => sse(res, [`id: evt_1\ndata: ${envelope('evt_1', 'x')}\n\n`], true));
    const controller = new AbortController();
    const got: string[] = [];
    for await (const event of scripted().events.stream('proj_1', { signal: controller.signal })) {
      got.push(event.id);
      // The next read waits on a silent connection until the abort.
      setTimeout(() => controller.abort(), 50);
    }
    assert.deepEqual(got, ['evt_1']);
    assert.equal(seen.length, 1, 'no reconnection after an abort');

    const aborted = AbortSignal.abort();
    for await (const _ of scripted().events.stream('proj_1', { signal: aborted })) assert.fail('nothing to read');
    assert.equal(seen.length, 1, 'no connection once aborted');
  });

  it('throws on a message that is not an event', async () => {
    use((res) => sse(res, ['id: evt_1\ndata: not json\n\n'], true));
    await assert.rejects(scripted().events.stream('proj_1').next(), (e: unknown) => e instanceof TengineError && /not an event/.test(e.message));
  });
});

// --- against a real server --------------------------------------------------------------

const NO_ROUTE = 'the server has no event stream route (404 details.resource == "route"): an older tengine binary';

let fx: Fixture;
let project: Project;

before(async () => {
  fx = await setup();
  project = await fx.client.projects.create({ name: 'Streamed' });
});
after(async () => {
  await fx?.server.stop();
});

/** `promise`, or a failure after `ms`. */
function within<T>(promise: Promise<T>, ms = 15_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`nothing within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Whether `e` is the 404 of a server without the stream route (then the test skips). */
function noRoute(t: TestContext, e: unknown): boolean {
  if (e instanceof NotFoundError && e.details['resource'] === 'route') {
    t.skip(NO_ROUTE);
    return true;
  }
  return false;
}

describe('events.stream against a real server', () => {
  it('receives a new event as it happens', async (t) => {
    let answered: () => void = () => {};
    const connected = new Promise<void>((r) => (answered = r));
    const watching: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      if (String(input).endsWith('/events/stream') && res.ok) answered();
      return res;
    };
    const client = new TengineAI({ apiKey: fx.server.apiKey, baseUrl: fx.server.url, fetch: watching });
    const stream = client.events.stream(project.id);
    const first = stream.next();
    // The stream starts after the newest event once it is answered: create the key then.
    try {
      await within(Promise.race([connected, first]));
    } catch (e) {
      if (noRoute(t, e)) return;
      throw e;
    }
    const key = await client.apiKeys.create(project.id, { name: 'streamed', permissions: ['read'] });
    const { value: event, done } = await within(first);
    await stream.return(undefined);
    assert.equal(done, false);
    assert.ok(event);
    assert.equal(event.type, 'api_key.created');
    assert.match(event.id, /^evt_/);
    assert.equal(event.data['id'], key.id);
    assert.equal(event.data['project_id'], project.id);
    assert.ok(!('key' in event.data));
    assert.equal(event.apiVersion.length > 0, true);
    const logged = await client.events.list(project.id, { type: 'api_key.created' });
    assert.deepEqual(
      logged.data.map((e) => e.id),
      [event.id],
    );
  });

  it('replays, in order, the events after a given one', async (t) => {
    const own = await fx.client.projects.create({ name: 'Replayed' });
    for (const name of ['first', 'second', 'third']) await fx.client.apiKeys.create(own.id, { name, permissions: ['read'] });
    await fx.client.projects.update(own.id, { name: 'replayed project' });
    const logged = (await fx.client.events.list(own.id)).data.slice().reverse(); // oldest first
    assert.ok(logged.length >= 4);
    const replayed: Event[] = [];
    try {
      await within(
        (async () => {
          for await (const event of fx.client.events.stream(own.id, { lastEventId: logged[0]!.id })) {
            replayed.push(event);
            if (replayed.length === logged.length - 1) break;
          }
        })(),
      );
    } catch (e) {
      if (noRoute(t, e)) return;
      throw e;
    }
    assert.deepEqual(
      replayed.map((e) => [e.id, e.type]),
      logged.slice(1).map((e) => [e.id, e.type]),
    );
    assert.equal(replayed.at(-1)?.data['name'], 'replayed project');
  });

  it('answers an id that is not an event of the project with a 422 on Last-Event-ID', async (t) => {
    const other = await fx.client.projects.create({ name: 'Elsewhere' });
    await fx.client.apiKeys.create(other.id, { name: 'elsewhere', permissions: ['read'] });
    const foreign = (await fx.client.events.list(other.id, { type: 'api_key.created' })).data[0]!.id;
    for (const lastEventId of [foreign, 'not-an-event-id']) {
      try {
        await within(fx.client.events.stream(project.id, { lastEventId }).next());
        assert.fail('expected a 422');
      } catch (e) {
        if (noRoute(t, e)) return;
        assert.ok(e instanceof ValidationError, String(e));
        assert.equal(e.status, 422);
        assert.equal(e.code, 'VALIDATION_ERROR');
        assert.equal(e.details['field'], 'Last-Event-ID');
      }
    }
  });

  it('refuses a key without read with a 403', async (t) => {
    const hook = await fx.client.apiKeys.create(project.id, { name: 'webhooks only', permissions: ['webhook'] });
    try {
      await within(fx.clientFor(hook.key!).events.stream(project.id).next());
      assert.fail('expected a 403');
    } catch (e) {
      if (noRoute(t, e)) return;
      assert.ok(e instanceof PermissionDeniedError, String(e));
      assert.equal(e.status, 403);
      assert.equal(e.code, 'INSUFFICIENT_PERMISSIONS');
    }
  });

  it('says since when the event list is complete', async (t) => {
    const page = await fx.client.events.list(project.id);
    if (page.retainedSince === undefined) return t.skip('this tengine binary does not send X-Tengine-Retained-Since');
    assert.ok(Date.parse(page.retainedSince) < Date.now());
    assert.match(page.retainedSince, /^\d{4}-\d{2}-\d{2}T/);
  });
});
