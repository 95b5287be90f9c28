// `cargo xtask bench console`: how long the console's overview takes to become
// interactive (from navigation start until every number on it has loaded), and what the
// first page load transfers, in Debian's Chromium against a running server.
// Usage: node bench/interactive.mjs <server url> <api key> [runs]
import { chromium } from 'playwright-core';

const [url, key, runsArg] = process.argv.slice(2);
if (!url || !key) {
  console.error('usage: node bench/interactive.mjs <server url> <api key> [runs]');
  process.exit(2);
}
const runs = Number(runsArg ?? 7);
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox'] });
try {
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  // Sign in once; the session token then survives reloads (sessionStorage).
  await page.goto(`${url}/`);
  await page.getByLabel(/API key/).fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('[data-ready="overview"]').waitFor({ timeout: 60_000 });

  // The session token the sign-in left; each measured load gets it in a fresh context
  // (an empty cache, so the assets are fetched compressed, as on a first visit).
  const token = await page.evaluate(() => sessionStorage.getItem('tengine.console.token'));
  const times = [];
  let transfer = 0;
  for (let i = 0; i < runs; i++) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await context.addInitScript((t) => sessionStorage.setItem('tengine.console.token', t), token);
    const fresh = await context.newPage();
    await fresh.goto(`${url}/#/`, { waitUntil: 'commit' });
    await fresh.locator('[data-ready="overview"]').waitFor({ timeout: 60_000 });
    // The overview marks the moment its last number arrived.
    times.push(await fresh.evaluate(() => performance.getEntriesByName('overview-ready')[0]?.startTime ?? performance.now()));
    transfer = await fresh.evaluate(() =>
      performance
        .getEntriesByType('resource')
        .filter((e) => /\.(js|css)$/.test(new URL(e.name).pathname))
        .reduce((n, e) => n + e.transferSize, 0),
    );
    await context.close();
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  console.log(JSON.stringify({ runs, median_ms: Math.round(median), min_ms: Math.round(times[0]), max_ms: Math.round(times[times.length - 1]), first_load_js_css_bytes: transfer }));
} finally {
  await browser.close();
}
