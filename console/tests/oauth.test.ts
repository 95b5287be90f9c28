// The OAuth consent step end to end in Debian's Chromium: an MCP client's authorization
// request (/oauth/authorize) lands on the console's consent page; the admin signs in,
// grants less than asked and allows; the browser arrives at the client's loopback
// redirect with a code, which the client exchanges (PKCE) for a token holding what was
// granted.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { accessible, api, launch, screenshots, startServer, type Server } from './fixture.js';

let server: Server;
let browser: Browser;
let callback: HttpServer;
let port = 0;
const arrived: URL[] = [];

before(async () => {
  server = await startServer();
  browser = await launch();
  // The client's loopback redirect (RFC 8252): records what it got.
  callback = createServer((req, res) => {
    arrived.push(new URL(req.url ?? '/', `http://127.0.0.1:${port}`));
    res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>Done</title><p>You may close this window.</p>');
  });
  await new Promise<void>((resolve) => callback.listen(0, '127.0.0.1', resolve));
  port = (callback.address() as AddressInfo).port;
});
after(async () => {
  await browser?.close();
  await server?.stop();
  await new Promise((r) => callback?.close(r));
});

describe('oauth consent', () => {
  it('signs in on the consent page, grants less than asked, and sends the code back', async () => {
    const project = await api(server, server.adminKey, 'POST', '/projects', { name: 'Consent' });
    const integration = await api(server, server.adminKey, 'POST', `/projects/${project.id}/integrations`, {
      name: 'Desktop agent',
      redirect_uris: ['http://127.0.0.1/callback'],
      permissions: ['read', 'write'],
      client_type: 'public',
    });
    const verifier = randomBytes(32).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const redirect = `http://127.0.0.1:${port}/callback`;
    const query = new URLSearchParams({
      response_type: 'code',
      client_id: integration.client_id,
      redirect_uri: redirect,
      scope: 'read write',
      state: 'state-123',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${server.url}/oauth/authorize?${query}`);
    // Not signed in: the sign-in form, on the consent route.
    assert.match(page.url(), /#\/oauth\/consent\?/);
    await page.getByLabel(/API key/).fill(server.adminKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Connect Desktop agent?' }).waitFor();
    const text = await page.locator('.consent').innerText();
    assert.ok(text.includes('Consent') && text.includes(project.id), text);
    assert.ok(text.includes(`127.0.0.1:${port}`), text);
    await accessible(page, 'consent');
    await screenshots(page, 'consent');
    // Grant only read.
    await page.getByRole('checkbox', { name: /write/ }).uncheck();
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.waitForURL((u) => u.port === String(port));
    // The browser may also ask the callback's server for a favicon: take the callback.
    const got = arrived.find((u) => u.pathname === '/callback' && u.searchParams.has('code'));
    assert.ok(got, 'the browser reached the redirect URI');
    assert.equal(got.searchParams.get('state'), 'state-123');
    const code = got.searchParams.get('code') ?? '';
    assert.match(code, /^tng_oac_/);
    // The client exchanges the code with its verifier.
    const res = await fetch(`${server.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirect, client_id: integration.client_id, code_verifier: verifier }),
    });
    assert.equal(res.status, 200);
    const token = (await res.json()) as { access_token: string; scope: string };
    assert.equal(token.scope, 'read');
    const me = await fetch(`${server.url}/api/v1/projects/${project.id}`, { headers: { authorization: `Bearer ${token.access_token}` } });
    assert.equal(me.status, 200);
    const write = await fetch(`${server.url}/api/v1/projects/${project.id}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${token.access_token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'renamed' }),
    });
    assert.equal(write.status, 403, 'write was not granted');
    // The connection shows on the project's Integrations page.
    await page.goto(`${server.url}/#/projects/${project.id}/integrations`);
    await page.getByRole('button', { name: 'Connections' }).click();
    await page.getByRole('button', { name: 'Disconnect' }).click();
    await page.getByText('No connections yet.').waitFor();
    const after = await fetch(`${server.url}/api/v1/projects/${project.id}`, { headers: { authorization: `Bearer ${token.access_token}` } });
    assert.equal(after.status, 401, 'a disconnected token stops working at once');
    await accessible(page, 'integrations');
  });

  it('denies with access_denied and the state', async () => {
    const project = await api(server, server.adminKey, 'POST', '/projects', { name: 'Denied' });
    const integration = await api(server, server.adminKey, 'POST', `/projects/${project.id}/integrations`, {
      name: 'Unwanted',
      redirect_uris: ['http://127.0.0.1/callback'],
      permissions: ['read'],
      client_type: 'public',
    });
    const query = new URLSearchParams({
      response_type: 'code',
      client_id: integration.client_id,
      redirect_uri: `http://127.0.0.1:${port}/callback`,
      state: 'no-thanks',
      code_challenge: createHash('sha256').update('v'.repeat(43)).digest('base64url'),
      code_challenge_method: 'S256',
    });
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${server.url}/oauth/authorize?${query}`);
    await page.getByLabel(/API key/).fill(server.adminKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Deny' }).click();
    await page.waitForURL((u) => u.port === String(port) && u.searchParams.get('state') === 'no-thanks');
    assert.equal(new URL(page.url()).searchParams.get('error'), 'access_denied');
  });
});
