/** Projects against a real tengine server. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { NotFoundError, TengineAI, type Project } from '@tengineai/sdk';
import { setup, type Fixture } from './helpers/fixture.js';

let fx: Fixture;
before(async () => {
  fx = await setup();
});
after(async () => {
  await fx?.server.stop();
});

describe('projects', () => {
  it("runs the reference's example as written (base URL aside)", async () => {
    const client = new TengineAI({
      apiKey: fx.server.apiKey,
      baseUrl: fx.server.url,
    });

    // Create a project
    const project = await client.projects.create({
      name: 'My Project',
      description: 'A sample project'
    });

    assert.match(project.id, /^proj_/);
    assert.equal(project.name, 'My Project');
    assert.equal(project.description, 'A sample project');
    assert.match(project.createdAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    assert.equal(typeof project.updatedAt, 'string');
  });

  it('reads the key and base URL from the environment', async () => {
    const saved = { key: process.env['TENGINE_API_KEY'], url: process.env['TENGINE_BASE_URL'] };
    process.env['TENGINE_API_KEY'] = fx.server.apiKey;
    process.env['TENGINE_BASE_URL'] = `${fx.server.url}/api/v1`;
    try {
      const page = await new TengineAI().projects.list();
      assert.ok(Array.isArray(page.data));
    } finally {
      if (saved.key === undefined) delete process.env['TENGINE_API_KEY'];
      else process.env['TENGINE_API_KEY'] = saved.key;
      if (saved.url === undefined) delete process.env['TENGINE_BASE_URL'];
      else process.env['TENGINE_BASE_URL'] = saved.url;
    }
  });

  it('creates, retrieves, updates and deletes', async () => {
    const { client } = fx;
    const created = await client.projects.create({ name: '  Crud  ', description: 'first' });
    assert.equal(created.name, 'Crud', 'names are stored trimmed');

    const got = await client.projects.retrieve(created.id);
    assert.deepEqual(got, created);
    assert.deepEqual(await client.projects.get(created.id), created);

    const renamed = await client.projects.update(created.id, { name: 'Crud 2' });
    assert.equal(renamed.name, 'Crud 2');
    assert.equal(renamed.description, 'first', 'an absent field is left unchanged');

    const cleared = await client.projects.update(created.id, { description: null });
    assert.equal(cleared.description, null, 'null clears the description');
    assert.equal(cleared.name, 'Crud 2');

    const noDescription = await client.projects.create({ name: 'Bare' });
    assert.equal(noDescription.description, null);

    assert.equal(await client.projects.delete(created.id), undefined);
    await assert.rejects(client.projects.retrieve(created.id), (e: unknown) => {
      assert.ok(e instanceof NotFoundError);
      assert.equal(e.code, 'PROJECT_NOT_FOUND');
      assert.match(e.requestId ?? '', /\S/);
      return true;
    });
    await assert.rejects(client.projects.delete(created.id), NotFoundError);
  });

  it('pages through 25 projects with list() and listAll()', async () => {
    const { client } = fx;
    const made: Project[] = [];
    for (let i = 0; i < 25; i++) made.push(await client.projects.create({ name: `Paged ${i}` }));
    const madeIds = new Set(made.map((p) => p.id));

    const first = await client.projects.list({ perPage: 10 });
    assert.equal(first.data.length, 10);
    assert.equal(first.pagination.page, 1);
    assert.equal(first.pagination.perPage, 10);
    assert.ok(first.pagination.total >= 25);
    assert.equal(first.hasNext(), true);
    // newest first
    assert.deepEqual(first.data.slice(0, 3).map((p) => p.id), made.slice(-3).reverse().map((p) => p.id));

    // The next page goes on by cursor (the same cost at any depth), with page 2's items.
    const second = await first.nextPage();
    assert.ok(second);
    assert.equal(second.pagination.page, undefined);
    const numbered = await client.projects.list({ page: 2, perPage: 10 });
    assert.equal(numbered.pagination.page, 2);
    assert.deepEqual(second.data.map((p) => p.id), numbered.data.map((p) => p.id));
    const back = await client.projects.list({ endingBefore: second.data[0]!.id, perPage: 10 });
    assert.deepEqual(back.data.map((p) => p.id), first.data.map((p) => p.id));
    assert.equal(back.hasNext(), false, 'nothing is newer than the first page');
    const third = await client.projects.list({ page: 3, perPage: 10 });
    assert.equal(third.pagination.page, 3);

    const total = first.pagination.total;
    const last = await client.projects.list({ page: Math.ceil(total / 10), perPage: 10 });
    assert.equal(last.hasNext(), false);
    assert.equal(await last.nextPage(), null);

    const seen: string[] = [];
    for await (const p of client.projects.listAll({ perPage: 7 })) seen.push(p.id);
    assert.equal(seen.length, total);
    assert.equal(new Set(seen).size, seen.length, 'no duplicates across pages');
    for (const id of madeIds) assert.ok(seen.includes(id), `listAll yields ${id}`);

    const viaDefault: string[] = [];
    for await (const p of client.projects.listAll()) viaDefault.push(p.id);
    assert.deepEqual(viaDefault, seen);

    const viaPage: string[] = [];
    for await (const p of await client.projects.list({ perPage: 9 })) viaPage.push(p.id);
    assert.deepEqual(viaPage, seen);
  });
});
