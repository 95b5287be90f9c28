// Precompresses every built asset (brotli and gzip, deterministic) for the server to
// pick by Accept-Encoding.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const out = process.env.CONSOLE_OUT_DIR ?? new URL('../../crates/adapters-console/assets/', import.meta.url).pathname;
const dir = join(out, 'assets');
for (const name of readdirSync(dir)) {
  const path = join(dir, name);
  if (!statSync(path).isFile() || name.endsWith('.gz') || name.endsWith('.br')) continue;
  const body = readFileSync(path);
  writeFileSync(`${path}.br`, brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }));
  // mtime 0 in the header: the same input always gives the same bytes.
  writeFileSync(`${path}.gz`, gzipSync(body, { level: 9 }));
}
