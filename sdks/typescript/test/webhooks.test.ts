/**
 * Webhooks, deliveries and their verification against a real tengine server and a local
 * receiver. Skipped at run time when the server lacks the webhook routes (an older
 * binary answers 404 with `details.resource == "route"`).
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, it, type TestContext } from 'node:test';
import {
  NotFoundError,
  PermissionDeniedError,
  TengineAI,
  ValidationError,
  WebhookVerificationError,
  isKnownWebhookEvent,
  verifyWebhook,
  verifyWebhookEvent,
  type Project,
  type WebhookHealth,
  type WebhookOrdering,
} from '@tengineai/sdk';
import { setup, type Fixture } from './helpers/fixture.js';
import { startReceiver, type Received, type Receiver } from './helpers/receiver.js';
import { routeMissing } from './helpers/skip.js';

const SKIP = 'the server has no webhook routes (404 details.resource == "route"): an older tengine binary';

let fx: Fixture;
let receiver: Receiver;
let project: Project;
let missing = false;
let eventsMissing = false;

before(async () => {
  fx = await setup();
  receiver = await startReceiver();
  project = await fx.client.projects.create({ name: 'Hooks' });
  missing = await routeMissing(() => fx.client.webhooks.list(project.id));
  eventsMissing = await routeMissing(() => fx.client.events.list(project.id));
});
after(async () => {
  await receiver?.close();
  await fx?.server.stop();
});

function skipIfMissing(t: TestContext): boolean {
  if (missing) t.skip(SKIP);
  return missing;
}

const header = (r: Received, name: string): string => String(r.headers[name] ?? '');

function eventOf(r: Received): { id: string; type: string; data: Record<string, unknown> } {
  return JSON.parse(r.body.toString('utf8'));
}

describe('webhooks', () => {
  it("runs the reference's quick start as written (receiver URL aside)", async (t) => {
    if (skipIfMissing(t)) return;
    const client = new TengineAI({ apiKey: fx.server.apiKey, baseUrl: fx.server.url });

    // 1. Create project
    const project = await client.projects.create({
      name: 'My App',
      description: 'A sample application'
    });

    // 2. Generate API key
    const apiKey = await client.apiKeys.create(project.id, {
      name: 'Production Key',
      permissions: ['read', 'write']
    });

    // 3. Set up webhook
    const webhook = await client.webhooks.create(project.id, {
      url: receiver.url,
      events: ['api_key.created']
    });

    assert.match(webhook.id, /^wh_/);
    assert.equal(webhook.projectId, project.id);
    assert.equal(webhook.url, receiver.url);
    assert.deepEqual(webhook.events, ['api_key.created']);
    assert.equal(webhook.active, true);
    assert.match(webhook.secret ?? '', /^whsec_/);
    assert.match(apiKey.key ?? '', /^tng_/);
  });

  it('recovers the failed deliveries of a window and says how many', async (t) => {
    if (skipIfMissing(t)) return;
    const { client } = fx;
    const wh = await client.webhooks.create(project.id, { url: `${receiver.url}?recover`, events: ['project.updated'] });
    const since = new Date(Date.now() - 2 * 86_400_000);
    assert.deepEqual(await client.webhooks.recover(project.id, wh.id, { since }), { recovered: 0, hasMore: false });
  });

  it('creates, retrieves, lists, updates, rotates the secret and deletes', async (t) => {
    if (skipIfMissing(t)) return;
    const { client } = fx;
    const wh = await client.webhooks.create(project.id, {
      url: `${receiver.url}?crud`,
      events: ['project.updated', 'api_key.revoked'],
      secret: 'webhook_secret',
      description: 'crud hook',
    });
    assert.equal(wh.secret, 'webhook_secret');
    assert.equal(wh.description, 'crud hook');

    const got = await client.webhooks.retrieve(project.id, wh.id);
    assert.equal(got.secret, undefined, 'the secret is shown only on create');
    assert.equal(got.url, wh.url);
    assert.equal((await client.webhooks.get(project.id, wh.id)).id, wh.id);

    const page = await client.webhooks.list(project.id);
    assert.ok(page.data.some((w) => w.id === wh.id));
    for (const w of page.data) assert.equal(w.secret, undefined);
    const all: string[] = [];
    for await (const w of client.webhooks.listAll(project.id, { perPage: 1 })) all.push(w.id);
    assert.equal(all.length, page.pagination.total);

    const updated = await client.webhooks.update(project.id, wh.id, {
      events: ['*'],
      active: false,
      description: null,
    });
    assert.deepEqual(updated.events, ['*']);
    assert.equal(updated.active, false);
    assert.equal(updated.description, null);
    assert.equal(updated.url, wh.url, 'absent fields are unchanged');

    const given = await client.webhooks.rotateSecret(project.id, wh.id, { secret: 'another_secret_1' });
    assert.equal(given.secret, 'another_secret_1');
    const generated = await client.webhooks.rotateSecret(project.id, wh.id);
    assert.match(generated.secret ?? '', /^whsec_/);

    await assert.rejects(client.webhooks.create(project.id, { url: 'not a url', events: ['api_key.created'] }), (e: unknown) => {
      assert.ok(e instanceof ValidationError);
      assert.equal(e.details['field'], 'url');
      return true;
    });

    assert.equal(await client.webhooks.delete(project.id, wh.id), undefined);
    await assert.rejects(client.webhooks.retrieve(project.id, wh.id), NotFoundError);
  });

  it("sets a webhook's throttle and ordering, reads them back, lifts the throttle and refuses a 0 limit", async (t) => {
    if (skipIfMissing(t)) return;
    const { client } = fx;
    const own = await client.projects.create({ name: 'Throttle' });
    const plain = await client.webhooks.create(own.id, { url: `${receiver.url}?plain`, events: ['api_key.created'] });
    assert.deepEqual([plain.rateLimit, plain.ordering], [null, 'none']);

    const wh = await client.webhooks.create(own.id, {
      url: `${receiver.url}?throttled`,
      events: ['api_key.created'],
      rateLimit: 5,
      ordering: 'per_project',
    });
    assert.deepEqual([wh.rateLimit, wh.ordering], [5, 'per_project']);
    const got = await client.webhooks.retrieve(own.id, wh.id);
    assert.deepEqual([got.rateLimit, got.ordering], [5, 'per_project']);
    const listed = (await client.webhooks.list(own.id)).data.find((w) => w.id === wh.id);
    assert.deepEqual([listed?.rateLimit, listed?.ordering], [5, 'per_project']);

    // Absent from a PATCH: unchanged.
    const described = await client.webhooks.update(own.id, wh.id, { description: 'throttled' });
    assert.deepEqual([described.rateLimit, described.ordering], [5, 'per_project']);
    const changed = await client.webhooks.update(own.id, wh.id, { rateLimit: 20 });
    assert.deepEqual([changed.rateLimit, changed.ordering], [20, 'per_project']);

    // `null` is sent as null: the throttle is lifted, not left alone.
    const lifted = await client.webhooks.update(own.id, wh.id, { rateLimit: null, ordering: 'none' });
    assert.deepEqual([lifted.rateLimit, lifted.ordering, lifted.description], [null, 'none', 'throttled']);
    const reread = await client.webhooks.retrieve(own.id, wh.id);
    assert.deepEqual([reread.rateLimit, reread.ordering], [null, 'none']);

    const refused = (field: string) => (e: unknown) => {
      assert.ok(e instanceof ValidationError, String(e));
      assert.equal(e.details['field'], field);
      return true;
    };
    await assert.rejects(
      client.webhooks.create(own.id, { url: receiver.url, events: ['api_key.created'], rateLimit: 0 }),
      refused('rate_limit'),
    );
    await assert.rejects(client.webhooks.update(own.id, wh.id, { rateLimit: 0 }), refused('rate_limit'));
    // Past the type, as JavaScript callers can: the server names the field.
    const sometimes = 'sometimes' as WebhookOrdering;
    await assert.rejects(
      client.webhooks.create(own.id, { url: receiver.url, events: ['api_key.created'], ordering: sometimes }),
      refused('ordering'),
    );
    assert.deepEqual((await client.webhooks.list(own.id)).data.map((w) => w.id), [wh.id, plain.id]);
  });

  it('delivers api_key.created signed so that verifyWebhook accepts it, and only it', async (t) => {
    if (skipIfMissing(t)) return;
    const { client } = fx;
    const own = await client.projects.create({ name: 'Delivery' });
    const wh = await client.webhooks.create(own.id, { url: `${receiver.url}?delivery`, events: ['api_key.created'] });
    const secret = wh.secret!;
    const key = await client.apiKeys.create(own.id, { name: 'Delivered', permissions: ['read'] });

    const hit = await receiver.waitFor(
      (r) => r.url.endsWith('?delivery') && eventOf(r).type === 'api_key.created',
      10_000,
    );
    assert.equal(hit.method, 'POST');
    assert.match(header(hit, 'content-type'), /application\/json/);
    assert.equal(header(hit, 'x-tengine-event-type'), 'api_key.created');
    assert.equal(header(hit, 'webhook-id'), header(hit, 'x-tengine-event-id'));

    // Accepted: raw Buffer body and Node's IncomingHttpHeaders, as a receiver has them.
    const event = verifyWebhook(hit.body, hit.headers, secret);
    assert.match(event.id, /^evt_/);
    assert.equal(event.type, 'api_key.created');
    assert.equal(event.data['id'], key.id);
    assert.match(event.createdAt, /Z$/);
    assert.ok(!hit.body.toString().includes(key.key!), 'the event never carries the key secret');
    // Typed: the key's metadata, camelCased like the API key the client returned.
    const typed = verifyWebhookEvent(hit.body, hit.headers, secret);
    assert.ok(isKnownWebhookEvent(typed) && typed.type === 'api_key.created');
    const { key: secretValue, ...metadata } = key;
    assert.ok(secretValue);
    assert.deepEqual(typed.data, metadata);
    // Each scheme on its own.
    const std = {
      'webhook-id': header(hit, 'webhook-id'),
      'webhook-timestamp': header(hit, 'webhook-timestamp'),
      'webhook-signature': header(hit, 'webhook-signature'),
    };
    assert.equal(verifyWebhook(hit.body.toString('utf8'), std, secret).id, event.id);
    assert.equal(verifyWebhook(hit.body, new Headers(std), secret).id, event.id);
    const legacy = { 'X-Tengine-Signature': header(hit, 'x-tengine-signature') };
    assert.equal(verifyWebhook(hit.body, legacy, secret).id, event.id);

    // Rejected: a tampered body, a wrong secret, a stale timestamp.
    // Change the id's last character to one it is not (ids are random base62).
    const last = key.id.slice(-1) === 'X' ? 'Y' : 'X';
    const tampered = hit.body.toString('utf8').replace(key.id, `${key.id.slice(0, -1)}${last}`);
    assert.notEqual(tampered, hit.body.toString('utf8'));
    assert.throws(() => verifyWebhook(tampered, hit.headers as Record<string, string>, secret), WebhookVerificationError);
    assert.throws(() => verifyWebhook(tampered, legacy, secret), WebhookVerificationError);
    assert.throws(() => verifyWebhook(hit.body, hit.headers as Record<string, string>, 'whsec_d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldA=='), WebhookVerificationError);
    assert.throws(() => verifyWebhook(hit.body, legacy, 'wrong_secret'), WebhookVerificationError);
    const old = Number(std['webhook-timestamp']) - 3600;
    assert.throws(() => verifyWebhook(hit.body, { ...std, 'webhook-timestamp': String(old) }, secret), WebhookVerificationError);
    // ...even when correctly signed for that old timestamp (a replay).
    const keyBytes = Buffer.from(secret.slice('whsec_'.length), 'base64');
    const replayed = createHmac('sha256', keyBytes).update(`${std['webhook-id']}.${old}.`).update(hit.body).digest('base64');
    const replay = { ...std, 'webhook-timestamp': String(old), 'webhook-signature': `v1,${replayed}` };
    assert.throws(() => verifyWebhook(hit.body, replay, secret), /too old/);
    assert.equal(verifyWebhook(hit.body, replay, secret, { toleranceSeconds: 7200 }).id, event.id);

    // The event log has it, and the delivery is recorded as succeeded.
    if (!eventsMissing) {
      const events = await client.events.list(own.id, { type: 'api_key.created' });
      assert.ok(events.data.some((e) => e.id === event.id));
      for (const e of events.data) assert.equal(e.type, 'api_key.created');
    }
    let delivery;
    for (let i = 0; i < 100; i++) {
      const page = await client.webhooks.listDeliveries(own.id, wh.id);
      delivery = page.data.find((d) => d.eventId === event.id);
      if (delivery?.status === 'succeeded') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(delivery);
    assert.match(delivery.id, /^del_/);
    assert.equal(delivery.eventType, 'api_key.created');
    assert.equal(delivery.status, 'succeeded');
    assert.ok(delivery.attempts.length >= 1);
    assert.equal(delivery.attempts[0]?.statusCode, 200);
    assert.equal(typeof delivery.attempts[0]?.latencyMs, 'number');
    assert.equal(typeof delivery.createdAt, 'string');

    // Redelivery sends the same event again.
    const before = receiver.received.filter((r) => header(r, 'webhook-id') === event.id).length;
    const again = await client.webhooks.redeliver(own.id, wh.id, delivery.id);
    assert.equal(again.eventId, event.id);
    assert.match(again.id, /^del_/);
    assert.equal(again.eventType, 'api_key.created');
    await receiver.waitFor((r) => header(r, 'webhook-id') === event.id && receiver.received.filter((x) => header(x, 'webhook-id') === event.id).length > before);
    const deliveries: string[] = [];
    for await (const d of client.webhooks.listAllDeliveries(own.id, wh.id)) deliveries.push(d.id);
    assert.ok(deliveries.includes(delivery.id));
  });

  it("reads a webhook's health, says why it is off, and needs the webhook permission", async (t) => {
    if (skipIfMissing(t)) return;
    const { client } = fx;
    const wh = await client.webhooks.create(project.id, { url: `${receiver.url}?health`, events: ['project.updated'] });
    if (await routeMissing(() => client.webhooks.health(project.id, wh.id))) {
      return t.skip('the server has no webhook health route: an older tengine binary');
    }
    const health: WebhookHealth = await client.webhooks.health(project.id, wh.id);
    assert.equal(health.webhookId, wh.id);
    assert.equal(health.active, true);
    assert.deepEqual([health.attempts, health.succeeded, health.failed], [0, 0, 0]);
    // Without attempts there is no rate or latency; a webhook that is on has no `disabled`.
    assert.equal(health.successRate, null);
    assert.equal(health.latencyMsAvg, null);
    assert.equal(health.disabled, null);
    assert.equal(health.lastDelivery, null);
    assert.equal(health.failingSince, null);
    assert.ok(!Number.isNaN(Date.parse(health.since)));

    await client.webhooks.update(project.id, wh.id, { active: false });
    const off = await client.webhooks.health(project.id, wh.id);
    assert.equal(off.active, false);
    assert.ok(off.disabled);
    assert.equal(off.disabled.reason, 'manual');
    assert.ok(!Number.isNaN(Date.parse(off.disabled.at)));
    await client.webhooks.update(project.id, wh.id, { active: true });
    assert.equal((await client.webhooks.health(project.id, wh.id)).disabled, null);

    const key = await client.apiKeys.create(project.id, { name: 'no webhook permission', permissions: ['read', 'write'] });
    await assert.rejects(fx.clientFor(key.key!).webhooks.health(project.id, wh.id), (e: unknown) => {
      assert.ok(e instanceof PermissionDeniedError);
      assert.equal(e.status, 403);
      assert.equal(e.code, 'INSUFFICIENT_PERMISSIONS');
      return true;
    });
  });

  it('sends a test event, signed under both secrets after a rotation', async (t) => {
    if (skipIfMissing(t)) return;
    const { client } = fx;
    const wh = await client.webhooks.create(project.id, {
      url: `${receiver.url}?test`,
      events: ['project.deleted'],
      secret: 'first_secret_value',
    });
    const rotated = await client.webhooks.rotateSecret(project.id, wh.id, { secret: 'second_secret_value' });
    const result = await client.webhooks.test(project.id, wh.id);
    assert.match(result.eventId, /^evt_/);
    assert.match(result.deliveryId, /^del_/);
    assert.equal(result.status, 'pending');
    const hit = await receiver.waitFor((r) => header(r, 'webhook-id') === result.eventId);
    const headers = hit.headers as Record<string, string>;
    assert.equal(verifyWebhook(hit.body, headers, rotated.secret!).type, 'webhook.test');
    assert.equal(verifyWebhook(hit.body, headers, 'first_secret_value').type, 'webhook.test');
    const legacy = { 'x-tengine-signature': header(hit, 'x-tengine-signature') };
    assert.equal(verifyWebhook(hit.body, legacy, 'first_secret_value').id, result.eventId);
    assert.equal(verifyWebhook(hit.body, legacy, 'second_secret_value').id, result.eventId);
    assert.throws(() => verifyWebhook(hit.body, headers, 'third_secret_value'), WebhookVerificationError);
    const typed = verifyWebhookEvent(hit.body, headers, 'first_secret_value');
    assert.ok(isKnownWebhookEvent(typed) && typed.type === 'webhook.test');
    assert.equal(typed.data.webhookId, wh.id);
    assert.equal(typeof typed.data.message, 'string');
    assert.throws(() => verifyWebhookEvent(hit.body, headers, 'third_secret_value'), WebhookVerificationError);
  });
});

describe('event types', () => {
  it('lists the 16 event types with their scope and the JSON Schema of their data, as sent', async (t) => {
    const { client } = fx;
    if (await routeMissing(() => client.eventTypes.list())) return t.skip('the server has no /event-types route: an older tengine binary');
    const catalogue = await client.eventTypes.list();
    assert.equal(catalogue.data.length, 16);
    assert.equal(new Set(catalogue.data.map((e) => e.type)).size, 16);
    // The newest type: the worker switched a webhook off; sent to every webhook of the account.
    const disabled = catalogue.data.find((e) => e.type === 'webhook.disabled');
    assert.ok(disabled);
    assert.equal(disabled.scope, 'account');
    assert.ok((disabled.schema['required'] as string[]).includes('disabled_at'));
    const created = catalogue.data.find((e) => e.type === 'project.created');
    assert.ok(created);
    assert.equal(created.scope, 'account');
    assert.ok(created.description.length > 0);
    assert.equal(created.schema['type'], 'object');
    // The schema is JSON Schema, not a model: its keys and property names stay as sent.
    assert.equal(typeof created.schema['$schema'], 'string');
    const properties = created.schema['properties'] as Record<string, unknown>;
    assert.ok('created_at' in properties && !('createdAt' in properties));
    assert.ok((created.schema['required'] as string[]).includes('created_at'));
    assert.equal(catalogue.data.find((e) => e.type === 'project.updated')?.scope, 'project');
    const tool = catalogue.data.find((e) => e.type === 'tool.created');
    assert.ok(tool && 'input_schema' in (tool.schema['properties'] as Record<string, unknown>));
  });
});

describe('events', () => {
  it('lists the event log, filtered by type, and refuses unknown types', async (t) => {
    if (eventsMissing) return t.skip('the server has no event log route (404 details.resource == "route"): an older tengine binary');
    const { client } = fx;
    const own = await client.projects.create({ name: 'Events' });
    await client.projects.update(own.id, { name: 'Events 2' });
    const k = await client.apiKeys.create(own.id, { name: 'E', permissions: ['read'] });
    await client.apiKeys.revoke(own.id, k.id);
    const all = await client.events.list(own.id);
    const types = all.data.map((e) => e.type);
    for (const ty of ['project.updated', 'api_key.created', 'api_key.revoked']) assert.ok(types.includes(ty), ty);
    for (const e of all.data) {
      assert.match(e.id, /^evt_/);
      assert.equal(typeof e.createdAt, 'string');
      assert.equal(typeof e.data, 'object');
    }
    const revoked = await client.events.list(own.id, { type: 'api_key.revoked', perPage: 5 });
    assert.equal(revoked.pagination.perPage, 5);
    assert.deepEqual(revoked.data.map((e) => e.type), ['api_key.revoked']);
    assert.equal(revoked.data[0]?.data['id'], k.id);
    const everything: string[] = [];
    for await (const e of client.events.listAll(own.id, { perPage: 1 })) everything.push(e.id);
    assert.deepEqual(everything, all.data.map((e) => e.id));
    await assert.rejects(client.events.list(own.id, { type: 'no.such_type' }), ValidationError);
  });
});
