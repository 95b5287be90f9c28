// A project's webhooks, events and tools pages, and the portal embedded in another
// origin's iframe, in Debian's Chromium against the real server with real loopback
// receivers.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { accessible, api, backend, launch, screenshots, signIn, startServer, type Server } from './fixture.js';

let server: Server;
let browser: Browser;

/** A loopback HTTP server recording what it got; `answer` decides the status. */
interface Receiver {
  url: string;
  got: { path: string; headers: IncomingMessage['headers']; body: string }[];
  status: number;
  close(): Promise<void>;
}

async function receiver(page?: (path: string) => string | undefined): Promise<Receiver> {
  const r: Receiver = { url: '', got: [], status: 200, close: async () => {} };
  const http: HttpServer = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const html = page?.(req.url ?? '/');
      if (html !== undefined) {
        res.writeHead(200, { 'content-type': 'text/html' }).end(html);
        return;
      }
      r.got.push({ path: req.url ?? '', headers: req.headers, body });
      res.writeHead(r.status, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: r.status < 400, path: req.url }));
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  r.url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  r.close = () => new Promise((resolve) => http.close(() => resolve()));
  return r;
}

before(async () => {
  server = await startServer();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

/** Clicks `refresh` until `done()` holds (deliveries and the call log are written in the background). */
async function until(page: Page, refresh: () => Promise<void>, done: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 60; i++) {
    if (await done()) return;
    await page.waitForTimeout(500);
    await refresh();
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe(`project pages (${backend})`, () => {
  it('creates a webhook, sees a test delivery succeed, a failure scheduled for retry, and a redelivery', async () => {
    const hooks = await receiver();
    const project = await api(server, server.adminKey, 'POST', '/projects', { name: 'Hooked' });
    const page = await signIn(browser, server, server.adminKey);
    await page.goto(`${server.url}/#/projects/${project.id}/webhooks`);
    await page.getByText('No webhooks yet.').waitFor();
    await page.getByText('Create a webhook').click();
    await page.getByLabel('URL').fill(`${hooks.url}/hook`);
    await page.getByLabel('All events, including ones added later').check();
    await page.getByRole('button', { name: 'Create webhook' }).click();
    const secret = (await page.getByTestId('secret').textContent())?.trim() ?? '';
    assert.match(secret, /^whsec_/, 'the signing secret is shown once');
    await page.getByRole('button', { name: 'I have stored it' }).click();
    await accessible(page, 'webhooks');

    await page.getByRole('button', { name: 'Send test event' }).click();
    await page.getByRole('button', { name: 'Deliveries' }).click();
    const refresh = () => page.getByRole('button', { name: 'Refresh' }).click();
    await until(page, refresh, async () => (await page.locator('[data-delivery="succeeded"]').count()) === 1, 'a succeeded delivery');
    assert.equal(hooks.got.length, 1);
    assert.ok(hooks.got[0]?.headers['webhook-signature'] ?? hooks.got[0]?.headers['x-tengine-signature'], 'signed');
    await screenshots(page, 'webhooks');

    // The receiver fails: the next delivery is attempted and scheduled again.
    hooks.status = 500;
    await page.getByRole('button', { name: 'Send test event' }).click();
    const failedRow = page.locator('[data-delivery="pending"], [data-delivery="failed"]').first();
    await until(page, refresh, async () => (await failedRow.count()) === 1 && (await failedRow.locator('td').nth(2).textContent()) !== '0', 'a failed attempt');
    const cells = await failedRow.locator('td').allTextContents();
    assert.match(cells[3] ?? '', /500/, `the answer's status is shown: ${cells.join(' | ')}`);
    assert.notEqual(cells[5], '—', `a retry is scheduled: ${cells.join(' | ')}`);

    // It comes back; a redelivery succeeds.
    hooks.status = 200;
    await failedRow.getByRole('button', { name: 'Redeliver' }).click();
    await until(page, refresh, async () => (await page.locator('[data-delivery="succeeded"]').count()) >= 2, 'a redelivery');
    await page.close();
    await hooks.close();
  });

  it('filters the event log by type and shows payloads as JSON', async () => {
    const project = await api(server, server.adminKey, 'POST', '/projects', { name: 'Eventful' });
    await api(server, server.adminKey, 'POST', `/projects/${project.id}/api-keys`, { name: 'k', permissions: ['read'] });
    await api(server, server.adminKey, 'PATCH', `/projects/${project.id}`, { name: 'Eventful 2' });
    const page = await signIn(browser, server, server.adminKey);
    await page.goto(`${server.url}/#/projects/${project.id}/events`);
    await page.locator('[data-event-type="api_key.created"]').waitFor();
    await page.getByLabel('Type').selectOption('project.updated');
    await page.locator('[data-event-type="project.updated"]').first().waitFor();
    await page.waitForFunction(() => document.querySelectorAll('[data-event-type]:not([data-event-type="project.updated"])').length === 0);
    await page.locator('[data-event-type="project.updated"] summary').first().click();
    const payload = await page.locator('[data-event-type="project.updated"] pre').first().textContent();
    assert.match(payload ?? '', /"name": "Eventful 2"/);
    await accessible(page, 'events');
    await screenshots(page, 'events');
    await page.close();
  });

  it('creates a tool with a validated schema, switches it, tries it with the secret masked, and logs the call', async () => {
    const tools = await receiver();
    const project = await api(server, server.adminKey, 'POST', '/projects', { name: 'Tooled' });
    const page = await signIn(browser, server, server.adminKey);
    await page.goto(`${server.url}/#/projects/${project.id}/tools`);
    await page.getByText('No tools yet.').waitFor();
    await page.getByRole('button', { name: 'New tool' }).click();
    await page.getByLabel('Name', { exact: true }).fill('echo');
    await page.getByLabel('Description').fill('Echoes what it is sent.');
    await page.getByLabel('Method').selectOption('POST');
    await page.getByLabel('Base URL').fill(tools.url);
    await page.getByLabel('Endpoint path').fill('/echo/{q}');
    const schema = page.getByLabel('Input schema (JSON Schema)');
    await schema.fill('{"type": "array"');
    await page.getByText(/not valid JSON/).waitFor();
    assert.ok(await page.getByRole('button', { name: 'Create tool' }).isDisabled(), 'an invalid schema cannot be saved');
    await schema.fill('{"type": "array"}');
    await page.getByText(/must have "type": "object"/).waitFor();
    await schema.fill('{"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}');
    await page.getByText('The schema is valid JSON with "type": "object".').waitFor();
    assert.equal(await page.locator('mark', { hasText: '{q}' }).count() >= 1, true, 'placeholders are highlighted');
    await page.getByLabel(/Headers template/).fill('{"X-Trace": "t-{q}"}');
    await page.getByLabel(/Query template/).fill('{"lang": "en"}');
    await page.locator('mark', { hasText: '{q}' }).nth(1).waitFor();
    await page.getByLabel('Authentication').selectOption('static_bearer');
    await page.getByLabel(/Secret \(write-only/).fill('sk_console_0123456789');
    await accessible(page, 'tool-form');
    await screenshots(page, 'tool-form');
    await page.getByRole('button', { name: 'Create tool' }).click();
    await page.getByRole('cell', { name: /echo/ }).first().waitFor();

    const tool = (await api(server, server.adminKey, 'GET', `/projects/${project.id}/tools`)).data[0];
    assert.equal(tool.has_auth_secret, true);
    const toggle = page.getByRole('switch', { name: 'echo enabled' });
    await toggle.uncheck();
    for (let i = 0; i < 20 && (await api(server, server.adminKey, 'GET', `/projects/${project.id}/tools/${tool.id}`)).enabled; i++) {
      await page.waitForTimeout(200);
    }
    assert.equal((await api(server, server.adminKey, 'GET', `/projects/${project.id}/tools/${tool.id}`)).enabled, false);
    // The list has reloaded with the stored state before the switch is used again.
    await page.waitForFunction(() => (document.querySelector('[role="switch"]') as HTMLInputElement | null)?.checked === false);
    await page.getByRole('switch', { name: 'echo enabled' }).check();
    for (let i = 0; i < 20 && !(await api(server, server.adminKey, 'GET', `/projects/${project.id}/tools/${tool.id}`)).enabled; i++) {
      await page.waitForTimeout(200);
    }
    assert.equal((await api(server, server.adminKey, 'GET', `/projects/${project.id}/tools/${tool.id}`)).enabled, true);

    await page.getByRole('button', { name: 'Try it' }).click();
    await page.getByLabel(/Arguments for echo/).fill('{"q": "hello"}');
    await page.getByRole('button', { name: 'Run once' }).click();
    const result = page.getByTestId('try-result');
    // The result, or an error box saying why there is none.
    await page.locator('[data-testid="try-result"], [role="alert"]').first().waitFor();
    assert.equal(await result.count(), 1, `no result: ${await page.locator('[role="alert"]').allTextContents()}`);
    const shown = (await result.textContent()) ?? '';
    assert.match(shown, /POST http:\/\/127\.0\.0\.1:\d+\/echo\/hello\?lang=en/);
    assert.match(shown, /Bearer \*{8}/);
    assert.ok(!shown.includes('sk_console_0123456789'), 'the secret is never shown');
    assert.equal(tools.got.length, 1, 'the API was called once');
    assert.equal(tools.got[0]?.headers.authorization, 'Bearer sk_console_0123456789');
    assert.equal(tools.got[0]?.headers['x-trace'], 't-hello', 'the headers template was rendered');
    assert.equal(tools.got[0]?.path, '/echo/hello?lang=en', 'and the query template');
    await accessible(page, 'tools');
    await screenshots(page, 'tools');

    // The call log shows it (written about once a second), filtered by outcome.
    await page.getByLabel('Outcome').selectOption('succeeded');
    await until(page, () => page.getByRole('button', { name: 'Refresh' }).click(), async () => (await page.locator('[data-call-status="succeeded"]').count()) === 1, 'the logged call');
    await page.getByLabel('Outcome').selectOption('refused');
    await page.getByText('No calls yet.').waitFor();
    await page.close();
    await tools.close();
  });

  it('embeds a portal in another origin, showing only its project, until it is revoked', async () => {
    const project = await api(server, server.adminKey, 'POST', '/projects', { name: 'Embedded' });
    const other = await api(server, server.adminKey, 'POST', '/projects', { name: 'Elsewhere' });
    await api(server, server.adminKey, 'POST', `/projects/${project.id}/api-keys`, { name: 'portal-visible', permissions: ['read'] });
    await api(server, server.adminKey, 'POST', `/projects/${other.id}/api-keys`, { name: 'never-in-portal', permissions: ['read'] });
    await api(server, server.adminKey, 'POST', `/projects/${project.id}/webhooks`, { url: 'https://hooks.example.com/portal', events: ['*'] });
    let portalUrl = '';
    const host = await receiver((path) =>
      path === '/' ? `<!doctype html><html lang="en"><title>Platform</title><h1>Our platform</h1><iframe title="Tengine portal" src="${portalUrl}" width="1000" height="700"></iframe></html>` : undefined,
    );
    const session = await api(server, server.adminKey, 'POST', `/projects/${project.id}/portal-sessions`, {
      permissions: ['read', 'webhook'],
      sections: ['keys', 'usage', 'webhooks'],
      allowed_origins: [host.url],
    });
    portalUrl = session.url;
    assert.match(portalUrl, /#code=/, 'the one-time code rides in the fragment');
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${host.url}/`);
    const frame = page.frameLocator('iframe[title="Tengine portal"]');
    await frame.getByRole('cell', { name: 'portal-visible' }).waitFor();
    assert.equal(await frame.getByText('never-in-portal').count(), 0, 'another project is never shown');
    assert.equal(await frame.getByRole('button', { name: 'Create key' }).count(), 0, 'keys need admin, which a portal never has');
    await frame.getByText('https://hooks.example.com/portal').waitFor();
    assert.equal(await frame.getByRole('button', { name: 'Deliveries' }).count(), 0, 'no deliveries section, no deliveries');
    await accessible(page, 'portal');
    await screenshots(page, 'portal-embedded');
    // The portal's own token, narrowed to its project: nothing else answers to it.
    const portalFrame = page.frames().find((f) => f.url().startsWith(`${server.url}/portal/`));
    assert.ok(portalFrame, 'the portal is framed from the server');
    assert.ok(!portalFrame.url().includes('#code='), 'the code leaves the address bar once used');
    const kept = await portalFrame.evaluate(() => sessionStorage.getItem('tengine.portal'));
    const token = (JSON.parse(kept ?? '{}') as { token?: string }).token ?? '';
    assert.match(token, /^tng_ps_/);
    const foreign = await fetch(`${server.url}/api/v1/projects/${other.id}/api-keys`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(foreign.status, 404, 'another project does not exist for the portal');

    // Revoked: the page is gone and the token refused.
    await api(server, server.adminKey, 'DELETE', `/projects/${project.id}/portal-sessions/${session.id}`);
    const gone = await fetch(`${server.url}${new URL(portalUrl).pathname}`);
    assert.equal(gone.status, 404);
    const refused = await fetch(`${server.url}/api/v1/projects/${project.id}/api-keys`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(refused.status, 401);
    await page.reload();
    await page.getByRole('heading', { name: 'Our platform' }).waitFor();
    await page.waitForTimeout(500);
    assert.equal(await frame.getByRole('cell', { name: 'portal-visible' }).count(), 0, 'nothing of the project shows');
    await page.close();
    await host.close();
  });
});
