/** Analytics against a real tengine server (skipped when the route is missing). */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ValidationError, type Project } from '@tengineai/sdk';
import { setup, type Fixture } from './helpers/fixture.js';
import { routeMissing } from './helpers/skip.js';

let fx: Fixture;
let project: Project;
let missing = false;
before(async () => {
  fx = await setup();
  project = await fx.client.projects.create({ name: 'Analytics' });
  missing = await routeMissing(() => fx.client.analytics.retrieve(project.id));
});
after(async () => {
  await fx?.server.stop();
});

describe('analytics', () => {
  it('answers every bucket of the range, camelCased', async (t) => {
    if (missing) return t.skip('the server has no analytics route (404 details.resource == "route")');
    const a = await fx.client.analytics.retrieve(project.id, {
      startDate: '2024-01-01',
      endDate: '2024-01-03',
      granularity: 'day',
    });
    assert.equal(a.projectId, project.id);
    assert.equal(a.granularity, 'day');
    assert.match(a.startDate, /^2024-01-01T00:00:00/);
    assert.equal(a.data.length, 3, 'a plain end date means the end of that day');
    assert.match(a.data[0]!.timestamp, /^2024-01-01T00:00:00/);
    for (const b of a.data) {
      for (const f of ['requests', 'errors', 'rateLimited', 'avgLatencyMs', 'p95LatencyMs'] as const) {
        assert.equal(typeof b[f], 'number', f);
      }
    }
    assert.equal(a.totals.requests, 0);

    const hourly = await fx.client.analytics.get(project.id, {
      startDate: new Date(Date.now() - 3 * 3600_000),
      endDate: new Date(),
      granularity: 'hour',
    });
    assert.ok(hourly.data.length >= 3 && hourly.data.length <= 4);
    const defaults = await fx.client.analytics.retrieve(project.id);
    assert.equal(defaults.granularity, 'day');

    const key = await fx.client.apiKeys.create(project.id, { name: 'k', permissions: ['read'] });
    const filtered = await fx.client.analytics.retrieve(project.id, { apiKeyId: key.id });
    assert.equal(filtered.apiKeyId, key.id);

    await assert.rejects(fx.client.analytics.retrieve(project.id, { granularity: 'minute' as 'hour' }), (e: unknown) => {
      assert.ok(e instanceof ValidationError);
      assert.equal(e.details['field'], 'granularity');
      return true;
    });
    await assert.rejects(
      fx.client.analytics.retrieve(project.id, { startDate: '2024-01-03', endDate: '2024-01-01' }),
      ValidationError,
    );
  });

  it('gives the account overview: totals, the busiest projects, failing webhooks', async (t) => {
    if (missing) return t.skip('the server has no analytics route');
    const o = await fx.client.analytics.overview({ limit: 3 });
    assert.match(o.startDate, /^\d{4}-\d\d-\d\dT/);
    assert.equal(typeof o.totals.rateLimited, 'number');
    assert.ok(o.projects.length <= 3);
    for (const p of o.projects) assert.match(p.projectId, /^proj_/);
    assert.ok(Array.isArray(o.failingWebhooks), 'the admin key sees webhooks');
    await assert.rejects(fx.client.analytics.overview({ limit: 0 }), ValidationError);
  });
});
