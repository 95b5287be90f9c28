// The committed build (crates/adapters-console/assets, embedded in the binary) is what
// the sources build to: a build into a temporary directory must match it byte for byte.
// `cargo xtask dashboard` rewrites the committed build.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';

const committed = join(process.cwd(), '..', 'crates', 'adapters-console', 'assets');

function files(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else out.set(relative(dir, path), readFileSync(path));
    }
  };
  walk(dir);
  return out;
}

describe('console build', () => {
  it('the committed build matches the sources (run `cargo xtask dashboard` when this fails)', () => {
    const fresh = mkdtempSync(join(tmpdir(), 'tengine-console-build-'));
    try {
      const env = { ...process.env, CONSOLE_OUT_DIR: fresh };
      execFileSync('npx', ['vite', 'build', '--logLevel', 'warn'], { env, stdio: 'inherit' });
      execFileSync('node', ['scripts/compress.mjs'], { env, stdio: 'inherit' });
      const built = files(fresh);
      const kept = files(committed);
      assert.deepEqual([...kept.keys()].sort(), [...built.keys()].sort(), 'the same files');
      for (const [name, body] of built) {
        assert.ok(kept.get(name)?.equals(body), `${name} differs from the committed build`);
      }
    } finally {
      rmSync(fresh, { recursive: true, force: true });
    }
  });
});
