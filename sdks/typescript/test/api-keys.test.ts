/** API keys against a real tengine server. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AuthenticationError, NotFoundError, TengineAI } from '@tengineai/sdk';
import { setup, type Fixture } from './helpers/fixture.js';

let fx: Fixture;
before(async () => {
  fx = await setup();
});
after(async () => {
  await fx?.server.stop();
});

describe('api keys', () => {
  it("runs the reference's quick start steps 1 and 2 as written", async () => {
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

    assert.match(apiKey.id, /^key_/);
    assert.equal(apiKey.projectId, project.id);
    assert.equal(apiKey.name, 'Production Key');
    assert.deepEqual(apiKey.permissions, ['read', 'write']);
    assert.match(apiKey.key ?? '', /^tng_[0-9A-Za-z]{46}$/);
    assert.equal(apiKey.prefix, apiKey.key?.slice(0, 12));
    assert.equal(apiKey.revokedAt, null);
    assert.equal(apiKey.lastUsedAt, null);

    // The new key works and sees only its project.
    const scoped = fx.clientFor(apiKey.key!);
    const visible = await scoped.projects.list();
    assert.deepEqual(visible.data.map((p) => p.id), [project.id]);
  });

  it('lists, retrieves, updates, rotates and revokes', async () => {
    const { client } = fx;
    const project = await client.projects.create({ name: 'Keys' });
    const a = await client.apiKeys.create(project.id, { name: 'A', permissions: ['read'] });
    const b = await client.apiKeys.create(project.id, {
      name: 'B',
      permissions: ['read', 'webhook'],
      expiresAt: new Date(Date.now() + 86_400_000),
    });
    assert.ok(b.expiresAt);

    const page = await client.apiKeys.list(project.id);
    assert.equal(page.pagination.total, 2);
    assert.deepEqual(page.data.map((k) => k.id), [b.id, a.id]);
    for (const k of page.data) assert.equal(k.key, undefined, 'lists never show the secret');
    const all: string[] = [];
    for await (const k of client.apiKeys.listAll(project.id, { perPage: 1 })) all.push(k.id);
    assert.deepEqual(all, [b.id, a.id]);

    const got = await client.apiKeys.retrieve(project.id, a.id);
    assert.equal(got.key, undefined);
    assert.equal(got.prefix, a.prefix);
    assert.equal((await client.apiKeys.get(project.id, a.id)).id, a.id);

    const updated = await client.apiKeys.update(project.id, a.id, { name: 'A2', permissions: ['read', 'write'] });
    assert.equal(updated.name, 'A2');
    assert.deepEqual(updated.permissions, ['read', 'write']);

    // Rotation with a grace period: both secrets work for now.
    const rotated = await client.apiKeys.rotate(project.id, a.id, { gracePeriodSeconds: 3600 });
    assert.equal(rotated.id, a.id);
    assert.ok(rotated.key && rotated.key !== a.key);
    await fx.clientFor(a.key!).projects.retrieve(project.id);
    await fx.clientFor(rotated.key).projects.retrieve(project.id);

    // Rotation without a grace period: the previous secret stops at once.
    const again = await client.apiKeys.rotate(project.id, a.id);
    assert.ok(again.key && again.key !== rotated.key);
    await assert.rejects(fx.clientFor(rotated.key).projects.retrieve(project.id), AuthenticationError);
    await fx.clientFor(again.key).projects.retrieve(project.id);

    const revoked = await client.apiKeys.revoke(project.id, a.id);
    assert.equal(revoked.id, a.id);
    assert.equal(typeof revoked.revokedAt, 'string');
    assert.equal(revoked.key, undefined);
    await assert.rejects(fx.clientFor(again.key).projects.retrieve(project.id), (e: unknown) => {
      assert.ok(e instanceof AuthenticationError);
      assert.equal(e.code, 'INVALID_API_KEY');
      return true;
    });
    const stillListed = await client.apiKeys.retrieve(project.id, a.id);
    assert.equal(stillListed.revokedAt, revoked.revokedAt);

    await assert.rejects(client.apiKeys.retrieve(project.id, 'key_doesnotexist'), (e: unknown) => {
      assert.ok(e instanceof NotFoundError);
      assert.equal(e.code, 'NOT_FOUND');
      return true;
    });
  });
});
