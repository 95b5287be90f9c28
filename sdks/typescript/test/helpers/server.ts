/**
 * Starts a real `tengine serve` for the tests: a fresh data directory (embedded SQLite),
 * port 0 (the server prints the port it got), a known bootstrap key. Binary: `$TENGINE_BIN`, else
 * `<CARGO_TARGET_DIR or ../../target>/debug/tengine`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (IEEE 802.3, as zlib's `crc32`). */
export function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of bytes) crc = CRC_TABLE[(crc ^ b) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

export function base62(n: number): string {
  if (n === 0) return '0';
  let out = '';
  while (n > 0) {
    out = BASE62[n % 62]! + out;
    n = Math.floor(n / 62);
  }
  return out;
}

/** A well-formed API key: `tng_` + 40 random base62 + base62(CRC-32 of the first 44 bytes), 6 wide. */
export function generateKey(): string {
  let body = 'tng_';
  for (let i = 0; i < 40; i++) body += BASE62[randomInt(62)];
  return body + base62(crc32(Buffer.from(body, 'ascii'))).padStart(6, '0');
}

/**
 * A port nothing listens on, for connection-refused cases. Not for starting a server on:
 * it could be taken before the server binds it (servers listen on port 0 instead).
 */
export function unusedPort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => res(port));
    });
  });
}

/** What `tengine serve` prints on stdout once its listener is bound (README, Configuration). */
const LISTENING = 'tengine: listening on ';

/** The address on the first complete `tengine: listening on ADDR` line, if any yet. */
export function listeningAddress(stdout: string): string | undefined {
  const lines = stdout.split('\n');
  // The last piece is not a complete line yet.
  return lines
    .slice(0, -1)
    .find((l) => l.startsWith(LISTENING))
    ?.slice(LISTENING.length)
    .trim();
}

export function findBinary(): string {
  if (process.env['TENGINE_BIN']) return process.env['TENGINE_BIN'];
  // dist-test/helpers/server.js -> the package root is two levels up.
  const pkgRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const target = process.env['CARGO_TARGET_DIR'] ?? resolve(pkgRoot, '..', '..', 'target');
  return join(target, 'debug', 'tengine');
}

export interface TestServer {
  /** e.g. `http://127.0.0.1:PORT` (the SDK appends `/api/v1`). */
  url: string;
  /** The bootstrap key: account-wide, all permissions. */
  apiKey: string;
  stop(): Promise<void>;
}

export async function startServer(): Promise<TestServer> {
  const bin = findBinary();
  if (!existsSync(bin)) {
    throw new Error(`tengine binary not found at ${bin}: set TENGINE_BIN or build it (cargo build -p app)`);
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'tengine-ts-sdk-'));
  const apiKey = generateKey();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TENGINE_DATA_DIR: dataDir,
    // Port 0: the server picks a free port and prints it (no bind-drop-rebind race).
    TENGINE_LISTEN: '127.0.0.1:0',
    TENGINE_BOOTSTRAP_KEY: apiKey,
    TENGINE_WEBHOOK_ALLOW_PRIVATE: 'true',
    TENGINE_LOG: process.env['TENGINE_LOG'] ?? 'warn',
  };
  delete env['DATABASE_URL'];
  const child: ChildProcess = spawn(bin, ['serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-8000);
  };
  // stdout is kept whole until the listening line is found (it comes first).
  let stdout = '';
  let address: string | undefined;
  child.stdout?.on('data', (chunk: Buffer) => {
    keep(chunk);
    if (address === undefined) {
      stdout += chunk.toString();
      address = listeningAddress(stdout);
    }
  });
  child.stderr?.on('data', keep);
  let exited = false;
  child.on('exit', () => {
    exited = true;
  });

  let url = '';
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited) throw new Error(`tengine exited during startup:\n${output}`);
    if (address !== undefined) {
      url = `http://${address}`;
      try {
        const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) });
        if (res.ok) break;
      } catch {
        // not ready yet
      }
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`tengine did not become healthy within 30 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  return {
    url,
    apiKey,
    async stop() {
      if (!exited) {
        const done = new Promise<void>((r) => child.once('exit', () => r()));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await done;
        clearTimeout(timer);
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
