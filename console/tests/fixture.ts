// A real `tengine serve` (the release binary) on a loopback port, on SQLite or on a fresh
// PostgreSQL database (TENGINE_CONSOLE_BACKEND), and Debian's Chromium via playwright-core.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import AxeBuilder from '@axe-core/playwright';

export interface Server {
  url: string;
  adminKey: string;
  stop(): Promise<void>;
}

const target = process.env.CARGO_TARGET_DIR ?? join(process.cwd(), '..', 'target');
export const backend = process.env.TENGINE_CONSOLE_BACKEND === 'postgres' ? 'postgres' : 'sqlite';
export const shots = join(target, 'console-screenshots');

export async function startServer(): Promise<Server> {
  const bin = process.env.TENGINE_BIN ?? join(target, 'release', 'tengine');
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    TENGINE_LISTEN: '127.0.0.1:0',
    TENGINE_WEBHOOK_ALLOW_PRIVATE: 'true',
    TENGINE_TOOLS_ALLOW_PRIVATE: 'true',
    TENGINE_LOG: 'warn',
  };
  let db: string | undefined;
  if (backend === 'postgres') {
    db = `tengine_e2e_console_${Date.now()}_${Math.floor(Math.random() * 1e6)}`;
    execFileSync('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-qc', `CREATE DATABASE ${db}`]);
    env.DATABASE_URL = `postgres://postgres@127.0.0.1:5432/${db}`;
    env.TENGINE_SECRET_KEY = 'Y29uc29sZS10ZXN0cy1vbmx5LXNlcnZlci1rZXktMzI=';
  } else {
    env.TENGINE_DATA_DIR = mkdtempSync(join(tmpdir(), 'tengine-console-'));
  }
  const child: ChildProcess = spawn(bin, ['serve'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const ready = await new Promise<{ url: string; key: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tengine did not start: ${out}`)), 60_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const addr = /tengine: listening on (\S+)/.exec(out);
      const key = /key:\s+(tng_\S+)/.exec(out);
      if (addr?.[1] && key?.[1]) {
        clearTimeout(timer);
        resolve({ url: `http://${addr[1]}`, key: key[1] });
      }
    });
    child.on('exit', (code) => reject(new Error(`tengine exited (${code}): ${out}`)));
  });
  return {
    url: ready.url,
    adminKey: ready.key,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      if (db) execFileSync('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-qc', `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`]);
    },
  };
}

/** A new browser context signed in to the console with `key`, on the overview once it has loaded. */
export async function signIn(browser: Browser, server: Server, key: string): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${server.url}/`);
  await page.getByLabel(/API key/).fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('[data-ready="overview"]').waitFor();
  return page;
}

export function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox'] });
}

/** The API, as the test's own client (not the browser). */
export async function api(server: Server, key: string, method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${server.url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** axe on the page: no serious or critical violation. */
export async function accessible(page: Page, name: string): Promise<void> {
  const result = await new AxeBuilder({ page }).analyze();
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  if (bad.length > 0) {
    throw new Error(`${name}: ${bad.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join('; ')}`).join('\n')}`);
  }
}

/** Screenshots at desktop and phone sizes, light and dark. */
export async function screenshots(page: Page, name: string): Promise<void> {
  mkdirSync(shots, { recursive: true });
  for (const [w, h] of [[1280, 800], [390, 844]] as const) {
    for (const scheme of ['light', 'dark'] as const) {
      await page.setViewportSize({ width: w, height: h });
      await page.emulateMedia({ colorScheme: scheme });
      await page.screenshot({ path: join(shots, `${name}-${w}x${h}-${scheme}-${backend}.png`), fullPage: true });
    }
  }
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.emulateMedia({ colorScheme: 'light' });
}
