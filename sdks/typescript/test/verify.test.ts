/** verifyWebhook against locally signed payloads (both schemes, rotation, tampering). */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  WebhookVerificationError,
  isKnownWebhookEvent,
  signWebhook,
  verifyWebhook,
  verifyWebhookEvent,
  type WebhookEvent,
} from '@tengineai/sdk';

const body = JSON.stringify({
  id: 'evt_123',
  type: 'project.created',
  data: { id: 'proj_123', name: 'My Project', created_at: '2024-01-01T00:00:00Z' },
  created_at: '2024-01-01T00:00:00Z',
  api_version: '2024-01-01',
});
const now = () => Math.floor(Date.now() / 1000);

/** Standard Webhooks headers computed independently of the SDK. */
function standardHeaders(key: Buffer, id: string, ts: number, payload: string): Record<string, string> {
  const sig = createHmac('sha256', key).update(`${id}.${ts}.${payload}`).digest('base64');
  return { 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': `v1,${sig}` };
}

describe('verifyWebhook: Standard Webhooks', () => {
  it("matches the Standard Webhooks specification's example vector", () => {
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const payload = '{"test": 2432232314}';
    const headers = {
      'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek',
      'webhook-timestamp': '1614265330',
      'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    };
    const event = verifyWebhook(payload, headers, secret, { now: 1614265330_000 });
    assert.deepEqual(event, { test: 2432232314 });
    assert.throws(() => verifyWebhook(payload, headers, secret), /too old/);
    assert.equal(signWebhook(payload, secret, { id: headers['webhook-id'], timestamp: 1614265330 })['webhook-signature'], headers['webhook-signature']);
  });

  it('uses the UTF-8 bytes of a whsec_ secret whose rest is not strict base64', () => {
    const secret = 'whsec_not-base64!';
    const h = standardHeaders(Buffer.from(secret), 'evt_1', now(), body);
    assert.equal(verifyWebhook(body, h, secret).id, 'evt_123');
  });

  it('accepts a whsec_ secret (base64-decoded key) and returns the camelCased event', () => {
    const raw = Buffer.from('0123456789abcdef01234567');
    const secret = `whsec_${raw.toString('base64')}`;
    const event = verifyWebhook(body, standardHeaders(raw, 'evt_123', now(), body), secret);
    assert.equal(event.id, 'evt_123');
    assert.equal(event.type, 'project.created');
    assert.equal(event.createdAt, '2024-01-01T00:00:00Z');
    assert.equal(event.apiVersion, '2024-01-01');
    // data stays exactly as sent
    assert.deepEqual(event.data, { id: 'proj_123', name: 'My Project', created_at: '2024-01-01T00:00:00Z' });
  });

  it('uses the UTF-8 bytes of a plain secret', () => {
    const secret = 'webhook_secret';
    const h = standardHeaders(Buffer.from(secret), 'evt_1', now(), body);
    assert.equal(verifyWebhook(body, h, secret).id, 'evt_123');
    assert.equal(verifyWebhook(Buffer.from(body), h, secret).id, 'evt_123');
    assert.equal(verifyWebhook(new TextEncoder().encode(body), h, secret).id, 'evt_123');
  });

  it('matches any of several space-separated signatures, header names case-insensitively', () => {
    const secret = 'new_secret_value';
    const ts = now();
    const good = standardHeaders(Buffer.from(secret), 'evt_1', ts, body)['webhook-signature']!;
    const other = standardHeaders(Buffer.from('old_secret_value'), 'evt_1', ts, body)['webhook-signature']!;
    const headers = { 'Webhook-Id': 'evt_1', 'WEBHOOK-TIMESTAMP': String(ts), 'Webhook-Signature': `${other} ${good}` };
    assert.equal(verifyWebhook(body, headers, secret).id, 'evt_123');
    assert.equal(verifyWebhook(body, headers, 'old_secret_value').id, 'evt_123');
    assert.equal(verifyWebhook(body, new Headers(headers), secret).id, 'evt_123');
  });

  it('rejects a tampered body, a wrong secret, a stale or future timestamp, a wrong id', () => {
    const secret = 'webhook_secret';
    const ts = now();
    const h = standardHeaders(Buffer.from(secret), 'evt_1', ts, body);
    assert.throws(() => verifyWebhook(body.replace('My Project', 'My Pr0ject'), h, secret), WebhookVerificationError);
    assert.throws(() => verifyWebhook(body, h, 'another_secret'), WebhookVerificationError);
    assert.throws(() => verifyWebhook(body, { ...h, 'webhook-id': 'evt_2' }, secret), WebhookVerificationError);
    const stale = standardHeaders(Buffer.from(secret), 'evt_1', ts - 301, body);
    assert.throws(() => verifyWebhook(body, stale, secret), /too old/);
    assert.equal(verifyWebhook(body, stale, secret, { toleranceSeconds: 600 }).id, 'evt_123');
    const future = standardHeaders(Buffer.from(secret), 'evt_1', ts + 301, body);
    assert.throws(() => verifyWebhook(body, future, secret), /too new/);
    assert.throws(() => verifyWebhook(body, { ...h, 'webhook-signature': 'v2,abc' }, secret), WebhookVerificationError);
    assert.throws(() => verifyWebhook(body, { ...h, 'webhook-timestamp': 'soon' }, secret), WebhookVerificationError);
    assert.throws(() => verifyWebhook(body, {}, secret), /Missing signature headers/);
  });
});

describe('verifyWebhook: X-Tengine-Signature', () => {
  const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
  const hex = (s: string, b: string) => createHmac('sha256', Buffer.from(s, 'utf8')).update(b).digest('hex');

  it('checks sha256=<hex> keyed with the secret string itself, comma-separated values', () => {
    assert.equal(verifyWebhook(body, { 'X-Tengine-Signature': `sha256=${hex(secret, body)}` }, secret).id, 'evt_123');
    const two = `sha256=${hex('other_secret', body)},sha256=${hex(secret, body)}`;
    assert.equal(verifyWebhook(body, { 'x-tengine-signature': two }, secret).type, 'project.created');
    assert.throws(() => verifyWebhook(body + ' ', { 'x-tengine-signature': two }, secret), WebhookVerificationError);
    assert.throws(() => verifyWebhook(body, { 'x-tengine-signature': `sha256=${hex('nope_nope', body)}` }, secret), WebhookVerificationError);
    assert.throws(() => verifyWebhook(body, { 'x-tengine-signature': 'sha256=zz' }, secret), WebhookVerificationError);
  });

  it('checks X-Tengine-Timestamp when present', () => {
    const h = { 'x-tengine-signature': `sha256=${hex(secret, body)}`, 'x-tengine-timestamp': String(now() - 3600) };
    assert.throws(() => verifyWebhook(body, h, secret), /too old/);
  });
});

describe('signWebhook', () => {
  it('produces headers that verifyWebhook accepts under both schemes', () => {
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const h = signWebhook(body, secret, { id: 'evt_9' });
    assert.equal(verifyWebhook(body, h, secret).id, 'evt_123');
    const { 'x-tengine-signature': x } = h;
    assert.equal(verifyWebhook(body, { 'x-tengine-signature': x! }, secret).id, 'evt_123');
    assert.throws(() => verifyWebhook('{"id":"evt_x"}', h, secret), WebhookVerificationError);
  });

  it('rejects a verified payload that is not JSON', () => {
    const h = signWebhook('not json', 'plain_secret', { id: 'evt_1' });
    assert.throws(() => verifyWebhook('not json', h, 'plain_secret'), /not valid JSON/);
  });
});

describe('verifyWebhookEvent', () => {
  const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
  const envelope = (type: string, data: unknown): string =>
    JSON.stringify({ id: 'evt_typed', type, data, created_at: '2030-01-01T00:00:00Z', api_version: '2024-01-01' });
  const verified = (payload: string): WebhookEvent =>
    verifyWebhookEvent(payload, signWebhook(payload, secret, { id: 'evt_typed' }), secret);
  const project = {
    id: 'proj_1',
    name: 'My Project',
    description: null,
    created_at: '2030-01-01T00:00:00Z',
    updated_at: '2030-01-02T00:00:00Z',
  };

  it("types a project event's data as a camelCased Project", () => {
    const event = verified(envelope('project.created', project));
    assert.ok(isKnownWebhookEvent(event));
    assert.equal(event.createdAt, '2030-01-01T00:00:00Z');
    assert.equal(event.apiVersion, '2024-01-01');
    // Narrowing by `type` types `data`: a compile error here would fail the build.
    switch (event.type) {
      case 'project.created': {
        const name: string = event.data.name;
        assert.equal(name, 'My Project');
        assert.deepEqual(event.data, {
          id: 'proj_1',
          name: 'My Project',
          description: null,
          createdAt: '2030-01-01T00:00:00Z',
          updatedAt: '2030-01-02T00:00:00Z',
        });
        break;
      }
      default:
        assert.fail(`unexpected type ${event.type}`);
    }
  });

  it('types every family with the conversion the client applies to the same objects', () => {
    const usage = verified(envelope('usage.limit_exceeded', {
      account_id: 'acct_1', limit: 1000, used: 1000, remaining: 0,
      window_start: '2030-01-01T00:00:00Z', reset_at: '2030-01-01T01:00:00Z',
    }));
    assert.ok(isKnownWebhookEvent(usage) && usage.type === 'usage.limit_exceeded');
    const limit: number = usage.data.limit;
    assert.equal(limit, 1000);
    assert.equal(usage.data.resetAt, '2030-01-01T01:00:00Z');

    const inputSchema = { type: 'object', properties: { city_name: { type: 'string' } }, required: ['city_name'] };
    const tool = verified(envelope('tool.updated', {
      id: 'tool_1', project_id: 'proj_1', name: 'weather', input_schema: inputSchema,
      headers_template: { 'X-Api_Key': '{{api_key}}' }, query_template: { city_name: '{{city_name}}' },
      body_template: null, has_auth_secret: false, timeout_ms: 10000,
    }));
    assert.ok(isKnownWebhookEvent(tool) && tool.type === 'tool.updated');
    assert.equal(tool.data.projectId, 'proj_1');
    assert.equal(tool.data.timeoutMs, 10000);
    // The schema and templates are the user's JSON: kept as sent, like `client.tools` keeps them.
    assert.deepEqual(tool.data.inputSchema, inputSchema);
    assert.deepEqual(tool.data.queryTemplate, { city_name: '{{city_name}}' });
    assert.equal(tool.data.bodyTemplate, null);

    const integration = verified(envelope('integration.disconnected', {
      integration: { id: 'int_1', project_id: 'proj_1', name: 'Claude', client_type: 'public' },
      connection: { id: 'conn_1', integration_id: 'int_1', revoked_at: '2030-01-02T00:00:00Z' },
      reason: 'token_revoked',
    }));
    assert.ok(isKnownWebhookEvent(integration) && integration.type === 'integration.disconnected');
    assert.equal(integration.data.integration.clientType, 'public');
    assert.equal(integration.data.connection?.revokedAt, '2030-01-02T00:00:00Z');
    assert.equal(integration.data.reason, 'token_revoked');

    const key = verified(envelope('api_key.revoked', { id: 'key_1', project_id: null, revoked_at: '2030-01-02T00:00:00Z' }));
    assert.ok(isKnownWebhookEvent(key) && key.type === 'api_key.revoked');
    assert.equal(key.data.revokedAt, '2030-01-02T00:00:00Z');
    assert.equal(key.data.projectId, null);

    const test = verified(envelope('webhook.test', { webhook_id: 'wh_1', message: 'hello' }));
    assert.ok(isKnownWebhookEvent(test) && test.type === 'webhook.test');
    assert.equal(test.data.webhookId, 'wh_1');
  });

  it("types a webhook.disabled event's data, its webhook camelCased as client.webhooks returns one", () => {
    const webhook = {
      id: 'wh_1', project_id: 'proj_1', url: 'https://example.com/hook', description: null, events: ['*'],
      active: false, failing_since: '2029-12-27T00:00:00Z',
      created_at: '2029-12-01T00:00:00Z', updated_at: '2030-01-01T00:00:00Z',
    };
    const event = verified(envelope('webhook.disabled', { webhook, reason: 'failing', disabled_at: '2030-01-01T00:00:00Z' }));
    assert.ok(isKnownWebhookEvent(event) && event.type === 'webhook.disabled');
    const reason: string = event.data.reason;
    assert.equal(reason, 'failing');
    assert.equal(event.data.disabledAt, '2030-01-01T00:00:00Z');
    assert.equal(event.data.webhook.id, 'wh_1');
    assert.equal(event.data.webhook.active, false);
    assert.equal(event.data.webhook.projectId, 'proj_1');
    assert.equal(event.data.webhook.failingSince, '2029-12-27T00:00:00Z');
    assert.equal(event.data.webhook.secret, undefined);
  });

  it('keeps the data of a type this SDK does not know exactly as sent', () => {
    const data = { nested_key: { inner_value: 1 }, list: [1, 2] };
    const event = verified(envelope('project.archived', data));
    assert.equal(isKnownWebhookEvent(event), false);
    assert.equal(event.type, 'project.archived');
    assert.equal(event.createdAt, '2030-01-01T00:00:00Z');
    assert.deepEqual(event.data, data);
  });

  it('refuses a tampered signature, and a payload that is not an event of its type', () => {
    const payload = envelope('project.created', project);
    const headers = signWebhook(payload, secret, { id: 'evt_typed' });
    assert.throws(() => verifyWebhookEvent(payload.replace('My Project', 'Your Project'), headers, secret), WebhookVerificationError);
    const forged = { ...headers, 'webhook-signature': `v1,${Buffer.alloc(32).toString('base64')}` };
    assert.throws(() => verifyWebhookEvent(payload, forged, secret), WebhookVerificationError);
    assert.throws(() => verifyWebhookEvent(payload, headers, 'whsec_d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldA=='), WebhookVerificationError);
    // Authentic, but not an event, or a known type whose data is not an object.
    for (const other of ['{"test": 1}', '[1]', envelope('project.created', ['not', 'an', 'object'])]) {
      const h = signWebhook(other, secret, { id: 'evt_typed' });
      verifyWebhook(other, h, secret);
      assert.throws(() => verifyWebhookEvent(other, h, secret), WebhookVerificationError);
    }
  });
});
