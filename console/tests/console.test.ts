// The console and the portal in Debian's Chromium against the real server: the issue's
// flows, axe on every page, and screenshots of every page.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { accessible, api, backend, launch, screenshots, signIn, startServer, type Server } from './fixture.js';

let server: Server;
let browser: Browser;

before(async () => {
  server = await startServer();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

describe(`console (${backend})`, () => {
  it('signs in, creates a project and a key whose secret is shown once, and charts its usage', async () => {
    const page = await signIn(browser, server, server.adminKey);
    // The API key is never kept in the browser: only the session token, in sessionStorage.
    const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }));
    assert.ok(!stored.includes(server.adminKey), 'the key is not in browser storage');
    assert.ok(stored.includes('tng_cs_'), 'the session token is');
    await accessible(page, 'overview');
    await screenshots(page, 'overview');

    await page.getByRole('link', { name: 'Projects' }).click();
    await page.getByLabel('Name').fill('Console project');
    await page.getByRole('button', { name: 'Create project' }).click();
    await page.getByRole('cell', { name: /Console project/ }).waitFor();
    await accessible(page, 'projects');
    await screenshots(page, 'projects');

    await page.getByRole('link', { name: 'Keys' }).first().click();
    // The projects page has a Name field too: wait for the keys page before typing.
    await page.getByRole('heading', { name: /API keys/ }).waitFor();
    await page.getByLabel('Name').fill('browser-made');
    await page.getByRole('button', { name: 'Create key' }).click();
    const secret = (await page.getByTestId('secret').textContent())?.trim() ?? '';
    assert.match(secret, /^tng_/);
    await accessible(page, 'keys');
    await screenshots(page, 'keys');
    await page.reload();
    await page.getByRole('cell', { name: 'browser-made' }).waitFor();
    assert.equal(await page.getByTestId('secret').count(), 0, 'the secret is gone after a reload');

    // Rotate another key (the prompt asks for the grace period), then revoke it.
    const keysPath = new URL(page.url()).hash;
    const projectId = keysPath.split('/')[2] ?? '';
    await api(server, server.adminKey, 'POST', `/projects/${projectId}/api-keys`, { name: 'to-rotate', permissions: ['read'] });
    await page.reload();
    page.once('dialog', (d) => void d.accept('0'));
    await page.getByRole('row', { name: /to-rotate/ }).getByRole('button', { name: 'Rotate' }).click();
    const rotated = (await page.getByTestId('secret').textContent())?.trim() ?? '';
    assert.match(rotated, /^tng_/);
    assert.notEqual(rotated, secret);
    await page.getByRole('button', { name: 'I have stored it' }).click();
    page.once('dialog', (d) => {
      assert.match(d.message(), /fails from now on/);
      void d.accept();
    });
    await page.getByRole('row', { name: /to-rotate/ }).getByRole('button', { name: 'Revoke' }).click();
    await page.getByLabel('Show').selectOption('revoked');
    await page.getByRole('row', { name: /to-rotate/ }).waitFor();
    const refused = await fetch(`${server.url}/api/v1/me`, { headers: { authorization: `Bearer ${rotated}` } });
    assert.equal(refused.status, 401, 'the revoked key no longer works');
    await page.getByLabel('Show').selectOption('active');

    // Use the key from the test; the usage page shows the requests (after the flush).
    const me = await api(server, secret, 'GET', '/me');
    for (let i = 0; i < 3; i++) await api(server, secret, 'GET', `/projects/${me.project_id}`);
    await page.goto(`${server.url}/#/projects/${me.project_id}/usage`);
    let total = 0;
    for (let i = 0; i < 30 && total < 4; i++) {
      await page.waitForTimeout(500);
      await page.reload();
      await page.getByTestId('total-requests').waitFor();
      total = Number(await page.getByTestId('total-requests').textContent());
    }
    assert.ok(total >= 4, `the usage page shows the key's requests (${total})`);
    assert.ok((await page.locator('.uplot').count()) >= 2, 'two uPlot charts');
    await accessible(page, 'usage');
    await screenshots(page, 'usage');

    // The overview ranks the project by those requests and shows the account's allowance.
    await page.goto(`${server.url}/#/`);
    await page.locator('[data-ready="overview"]').waitFor();
    const row = page.getByRole('row', { name: /Console project/ });
    await row.waitFor();
    const cells = await row.getByRole('cell').allTextContents();
    assert.ok(Number(cells[1]?.replace(/\D/g, '')) >= 4, `the busiest project's requests: ${cells.join(' | ')}`);
    assert.equal(await page.getByRole('heading', { name: 'Failing webhooks' }).count(), 1);
    await screenshots(page, 'overview-with-usage');
    await page.close();
  });

  it('gives a project-scoped read key its one project and no write actions', async () => {
    const project = await api(server, server.adminKey, 'POST', '/projects', { name: 'Read only' });
    const other = await api(server, server.adminKey, 'POST', '/projects', { name: 'Not yours' });
    const key = await api(server, server.adminKey, 'POST', `/projects/${project.id}/api-keys`, { name: 'reader', permissions: ['read'] });
    const page = await signIn(browser, server, key.key);
    await page.getByRole('link', { name: 'Projects' }).click();
    await page.getByRole('cell', { name: /Read only/ }).waitFor();
    assert.equal(await page.getByRole('cell', { name: new RegExp(other.name) }).count(), 0);
    assert.equal(await page.getByRole('button', { name: 'Create project' }).count(), 0);
    assert.ok(await page.getByRole('button', { name: 'Delete' }).isDisabled());
    await page.goto(`${server.url}/#/projects/${project.id}/keys`);
    await page.getByText('needs admin').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Create key' }).count(), 0);
    await page.close();
  });

  it('works with the keyboard alone: sign in, reach a project, open its keys', async () => {
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${server.url}/`);
    // Tab to the key field, type, Enter submits.
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('name')), 'key');
    await page.keyboard.type(server.adminKey);
    await page.keyboard.press('Enter');
    await page.locator('[data-ready="overview"]').waitFor();
    // Tab through the header to the Projects link and follow it.
    for (let i = 0; i < 10; i++) {
      await page.keyboard.press('Tab');
      if ((await page.evaluate(() => document.activeElement?.textContent)) === 'Projects') break;
    }
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Projects' }).waitFor();
    for (let i = 0; i < 40; i++) {
      await page.keyboard.press('Tab');
      if ((await page.evaluate(() => document.activeElement?.textContent)) === 'Keys') break;
    }
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: /API keys/ }).waitFor();
    await page.close();
  });

  it('signs out when its key is revoked', async () => {
    const project = await api(server, server.adminKey, 'POST', '/projects', { name: 'Revoked' });
    const key = await api(server, server.adminKey, 'POST', `/projects/${project.id}/api-keys`, { name: 'soon gone', permissions: ['read'] });
    const page = await signIn(browser, server, key.key);
    await api(server, server.adminKey, 'DELETE', `/projects/${project.id}/api-keys/${key.id}`);
    await page.reload();
    await page.getByRole('heading', { name: 'Sign in to Tengine' }).waitFor();
    await page.getByText(/session ended/).waitFor();
    await accessible(page, 'sign-in');
    await screenshots(page, 'sign-in');
    await page.close();
  });
});
