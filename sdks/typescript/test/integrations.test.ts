/**
 * Integrations (OAuth clients) against a real tengine server: CRUD, the client secret
 * shown once, connections, the registration policy and validation errors.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { NotFoundError, ValidationError, type Project } from '@tengineai/sdk';
import { setup, type Fixture } from './helpers/fixture.js';

let fx: Fixture;
let project: Project;

before(async () => {
  fx = await setup();
  project = await fx.client.projects.create({ name: 'Integrations' });
});
after(async () => {
  await fx?.server.stop();
});

describe('integrations', () => {
  it('creates, reads, narrows, rotates and deletes an integration; the secret is shown once', async () => {
    const made = await fx.client.integrations.create(project.id, {
      name: 'Agent',
      redirectUris: ['http://127.0.0.1/callback'],
      permissions: ['read', 'write'],
    });
    assert.match(made.id, /^int_/);
    assert.equal(made.clientId, made.id);
    assert.equal(made.clientType, 'confidential');
    assert.match(made.clientSecret ?? '', /^tng_ocs_/);
    const shown = await fx.client.integrations.retrieve(project.id, made.id);
    assert.equal(shown.clientSecret, undefined);
    const page = await fx.client.integrations.list(project.id);
    assert.deepEqual(page.data.map((i) => i.id), [made.id]);
    const narrowed = await fx.client.integrations.update(project.id, made.id, { permissions: ['read'] });
    assert.deepEqual(narrowed.permissions, ['read']);
    const rotated = await fx.client.integrations.rotateSecret(project.id, made.id);
    assert.ok(rotated.clientSecret && rotated.clientSecret !== made.clientSecret);
    assert.deepEqual((await fx.client.integrations.connections(project.id, made.id)).data, []);
    await fx.client.integrations.delete(project.id, made.id);
    await assert.rejects(fx.client.integrations.retrieve(project.id, made.id), NotFoundError);
  });

  it('refuses a non-loopback http redirect URI by field', async () => {
    await assert.rejects(
      fx.client.integrations.create(project.id, {
        name: 'Bad',
        redirectUris: ['http://evil.example/cb'],
        permissions: ['read'],
      }),
      (e: unknown) => e instanceof ValidationError && e.details['field'] === 'redirect_uris[0]',
    );
  });

  it('keeps dynamic registration off until an admin allows it', async () => {
    assert.equal((await fx.client.integrations.registration(project.id)).enabled, false);
    const policy = await fx.client.integrations.setRegistration(project.id, { enabled: true, permissions: ['read'] });
    assert.equal(policy.enabled, true);
    assert.deepEqual(policy.permissions, ['read']);
  });
});
