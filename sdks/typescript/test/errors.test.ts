/** Typed errors from a real tengine server. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  AuthenticationError,
  NotFoundError,
  PermissionDeniedError,
  TengineError,
  ValidationError,
  type Project,
} from '@tengineai/sdk';
import { setup, type Fixture } from './helpers/fixture.js';
import { generateKey } from './helpers/server.js';

let fx: Fixture;
let project: Project;
before(async () => {
  fx = await setup();
  project = await fx.client.projects.create({ name: 'Errors' });
});
after(async () => {
  await fx?.server.stop();
});

function check<E extends TengineError>(cls: new (...a: never[]) => E, status: number, code: string) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof cls, `expected ${cls.name}, got ${String(e)}`);
    assert.ok(e instanceof TengineError);
    assert.equal(e.status, status);
    assert.equal(e.code, code);
    assert.match(e.requestId ?? '', /^req_/, 'requestId from the envelope');
    assert.equal(e.requestId, e.headers?.get('x-request-id'));
    assert.ok(e.message.length > 0);
    return true;
  };
}

describe('errors', () => {
  it('401 INVALID_API_KEY for unknown and malformed keys', async () => {
    // The tampered key changes its last character to a different one: a fixed 'x' would be
    // the real key again whenever the real key already ends in 'x'.
    const real = fx.server.apiKey;
    const tampered = `${real.slice(0, -1)}${real.endsWith('x') ? 'y' : 'x'}`;
    for (const key of [generateKey(), 'not-a-key', tampered]) {
      await assert.rejects(fx.clientFor(key).projects.list(), (e: unknown) => {
        check(AuthenticationError, 401, 'INVALID_API_KEY')(e);
        assert.equal((e as TengineError).details['field'], 'authorization');
        return true;
      });
    }
  });

  it('403 INSUFFICIENT_PERMISSIONS for a key without the permission', async () => {
    const readOnly = await fx.client.apiKeys.create(project.id, { name: 'ro', permissions: ['read'] });
    const ro = fx.clientFor(readOnly.key!);
    await ro.projects.retrieve(project.id);
    await assert.rejects(ro.projects.update(project.id, { name: 'nope' }), check(PermissionDeniedError, 403, 'INSUFFICIENT_PERMISSIONS'));
    await assert.rejects(ro.projects.create({ name: 'nope' }), (e: unknown) => {
      check(PermissionDeniedError, 403, 'INSUFFICIENT_PERMISSIONS')(e);
      assert.ok((e as TengineError).details['reason']);
      return true;
    });
    await assert.rejects(
      ro.apiKeys.create(project.id, { name: 'escalate', permissions: ['admin'] }),
      PermissionDeniedError,
    );
  });

  it('404 PROJECT_NOT_FOUND and NOT_FOUND', async () => {
    await assert.rejects(fx.client.projects.retrieve('proj_doesnotexist'), check(NotFoundError, 404, 'PROJECT_NOT_FOUND'));
    await assert.rejects(fx.client.apiKeys.list('proj_0355gDlRIitxqYCBeovBXf'), check(NotFoundError, 404, 'PROJECT_NOT_FOUND'));
    await assert.rejects(fx.client.apiKeys.retrieve(project.id, 'key_nope'), check(NotFoundError, 404, 'NOT_FOUND'));
  });

  it('422 VALIDATION_ERROR names the field', async () => {
    await assert.rejects(fx.client.projects.create({ name: '   ' }), (e: unknown) => {
      check(ValidationError, 422, 'VALIDATION_ERROR')(e);
      assert.equal((e as TengineError).details['field'], 'name');
      return true;
    });
    await assert.rejects(fx.client.projects.create({ name: 'x'.repeat(101) }), ValidationError);
    // The reference's example expiry (2024-12-31) is in the past now.
    await assert.rejects(
      fx.client.apiKeys.create(project.id, { name: 'My API Key', permissions: ['read', 'write'], expiresAt: '2024-12-31T23:59:59Z' }),
      (e: unknown) => {
        check(ValidationError, 422, 'VALIDATION_ERROR')(e);
        assert.equal((e as TengineError).details['field'], 'expires_at');
        return true;
      },
    );
    await assert.rejects(fx.client.apiKeys.create(project.id, { name: 'k', permissions: [] }), (e: unknown) => {
      check(ValidationError, 422, 'VALIDATION_ERROR')(e);
      assert.equal((e as TengineError).details['field'], 'permissions');
      return true;
    });
    await assert.rejects(fx.client.projects.list({ perPage: 1000 }), (e: unknown) => {
      check(ValidationError, 422, 'VALIDATION_ERROR')(e);
      assert.equal((e as TengineError).details['field'], 'per_page');
      return true;
    });
  });
});
