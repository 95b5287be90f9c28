/**
 * The execution layer's resources against a real tengine server: who the key is, signing
 * keys (a JWK kept as registered, a private one refused), member assertion refusals, the
 * call log's filters, and a portal session opened once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { NotFoundError, TengineAI, ValidationError, AuthenticationError, type Project } from '@tengineai/sdk';
import { setup, type Fixture } from './helpers/fixture.js';

const JWK = { kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' };

let fx: Fixture;
let project: Project;

before(async () => {
  fx = await setup();
  project = await fx.client.projects.create({ name: 'Execution' });
});
after(async () => {
  await fx?.server.stop();
});

describe('execution layer', () => {
  it('says who the key is', async () => {
    const me = await fx.client.me();
    assert.equal(me.scope, 'account');
    assert.ok(me.permissions.includes('admin'));
    assert.ok(me.keyId.startsWith('key_'));
  });

  it('registers, lists and deletes signing keys, refusing private ones', async () => {
    const key = await fx.client.signingKeys.create(project.id, { kid: 'backend-1', alg: 'EdDSA', jwk: JWK });
    assert.deepEqual([key.kid, key.alg, key.jwk], ['backend-1', 'EdDSA', JWK]);
    const page = await fx.client.signingKeys.list(project.id);
    assert.deepEqual(page.data.map((k) => k.id), [key.id]);
    await assert.rejects(
      fx.client.signingKeys.create(project.id, { kid: 'k2', alg: 'EdDSA', jwk: { ...JWK, d: 'nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A' } }),
      (e: unknown) => e instanceof ValidationError && e.details['field'] === 'jwk',
    );
    await fx.client.signingKeys.delete(project.id, key.id);
    await assert.rejects(fx.client.signingKeys.retrieve(project.id, key.id), NotFoundError);
  });

  it('refuses a bad member assertion on member_assertion', async () => {
    await assert.rejects(
      fx.client.mcp.sessionToken('not-a-jwt', { projectId: project.id }),
      (e: unknown) => e instanceof ValidationError && e.details['field'] === 'member_assertion',
    );
  });

  it('lists the call log with filters', async () => {
    const page = await fx.client.toolCalls.list(project.id, { status: 'failed', perPage: 5 });
    assert.deepEqual(page.data, []);
    await assert.rejects(fx.client.toolCalls.retrieve(project.id, 'call_0000000000000000000001'), NotFoundError);
  });

  it('opens a portal once with its code', async () => {
    const portal = await fx.client.portalSessions.create(project.id, { permissions: ['read'], sections: ['usage'] });
    assert.ok(portal.url?.includes('#code=psc_'));
    const code = portal.url!.split('#code=')[1]!;
    const anonymous = new TengineAI({ apiKey: 'unused', baseUrl: fx.server.url, maxRetries: 0 });
    const opened = await anonymous.sessions.exchangePortalCode(code);
    assert.deepEqual([opened.projectId, opened.sections], [project.id, ['usage']]);
    await assert.rejects(anonymous.sessions.exchangePortalCode(code), AuthenticationError);
    await fx.client.portalSessions.revoke(project.id, portal.id);
  });
});
