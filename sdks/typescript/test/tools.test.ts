/**
 * Custom tools against a real tengine server: CRUD, the write-only secret, the user's
 * JSON (schema, templates) kept exactly as written, and validation errors.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { NotFoundError, ValidationError, type Project, type ToolCreateParams } from '@tengineai/sdk';
import { setup, type Fixture } from './helpers/fixture.js';

const SECRET = 'typescript-sdk-tool-secret-123';

let fx: Fixture;
let project: Project;

before(async () => {
  fx = await setup();
  project = await fx.client.projects.create({ name: 'Tools' });
});
after(async () => {
  await fx?.server.stop();
});

function definition(name: string): ToolCreateParams {
  return {
    name,
    description: 'Looks up a CRM contact by id.',
    inputSchema: { type: 'object', properties: { user_id: { type: 'string' } }, required: ['user_id'] },
    baseUrl: 'https://api.example.com',
    httpMethod: 'POST',
    endpointPath: '/v1/contacts/{user_id}',
    queryTemplate: { page_size: '10' },
    bodyTemplate: { user_id: '{user_id}' },
    authStrategy: 'static_bearer',
    encryptedAuthSecret: SECRET,
  };
}

describe('tools', () => {
  it('creates, reads, lists, updates and deletes a tool without ever returning its secret', async () => {
    const tool = await fx.client.tools.create(project.id, definition('crm-contacts-get_by_id'));
    assert.match(tool.id, /^tool_/);
    assert.equal(tool.hasAuthSecret, true);
    assert.ok(!JSON.stringify(tool).includes(SECRET));
    // The user's own JSON keeps its snake_case keys.
    assert.deepEqual(tool.inputSchema, definition('x').inputSchema);
    assert.deepEqual(tool.queryTemplate, { page_size: '10' });
    assert.deepEqual(tool.bodyTemplate, { user_id: '{user_id}' });
    assert.deepEqual(await fx.client.tools.retrieve(project.id, tool.id), tool);

    const page = await fx.client.tools.list(project.id, { perPage: 10 });
    assert.deepEqual(page.data.map((t) => t.id), [tool.id]);
    const all = [];
    for await (const t of fx.client.tools.listAll(project.id)) all.push(t.id);
    assert.deepEqual(all, [tool.id]);

    const updated = await fx.client.tools.update(project.id, tool.id, { httpMethod: 'GET', bodyTemplate: null, enabled: false });
    assert.equal(updated.httpMethod, 'GET');
    assert.equal(updated.bodyTemplate, null);
    assert.equal(updated.enabled, false);

    await fx.client.tools.delete(project.id, tool.id);
    await assert.rejects(fx.client.tools.retrieve(project.id, tool.id), NotFoundError);
  });

  it('answers a duplicate name and bad fields with validation errors', async () => {
    await fx.client.tools.create(project.id, definition('dup'));
    await assert.rejects(fx.client.tools.create(project.id, definition('dup')), (e: unknown) => {
      assert.ok(e instanceof ValidationError);
      assert.equal((e.details as Record<string, unknown>).field, 'name');
      return true;
    });
    const bad = { ...definition('Bad Name'), baseUrl: 'ftp://x', timeoutMs: 30_001 };
    await assert.rejects(fx.client.tools.create(project.id, bad), (e: unknown) => {
      assert.ok(e instanceof ValidationError);
      const errors = (e.details as { errors: { field: string }[] }).errors.map((x) => x.field).sort();
      assert.deepEqual(errors, ['base_url', 'name', 'timeout_ms']);
      return true;
    });
  });

  it('tries a tool once, showing the request with its secret masked', async () => {
    const tool = await fx.client.tools.create(project.id, definition('try-me'));
    // api.example.com does not answer here: the call is made and fails as a tool error.
    const tried = await fx.client.tools.test(project.id, tool.id, { arguments: { user_id: 'u-1' } });
    assert.match(tried.callId, /^call_/);
    assert.equal(tried.request.method, 'POST');
    assert.equal(tried.request.url, 'https://api.example.com/v1/contacts/u-1?page_size=10');
    const auth = tried.request.headers.find((h) => h.name === 'Authorization');
    assert.equal(auth?.value, 'Bearer ********');
    assert.ok(!JSON.stringify(tried).includes(SECRET), 'the secret is never returned');
    assert.equal(tried.isError, true);
    await assert.rejects(fx.client.tools.test(project.id, tool.id, { arguments: {} }), (e: unknown) => {
      assert.ok(e instanceof ValidationError);
      assert.equal((e.details as Record<string, unknown>).field, 'arguments/user_id');
      return true;
    });
  });
});
