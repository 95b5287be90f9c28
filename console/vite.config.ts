// Two pages (the console and the portal) built into the Rust crate that embeds them.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

// CONSOLE_OUT_DIR builds elsewhere (the committed-build test compares such a build with
// the committed one).
const outDir = process.env.CONSOLE_OUT_DIR ?? here('../crates/adapters-console/assets');

export default defineConfig({
  root: here('./src'),
  base: '/',
  resolve: { alias: { '@tengineai/sdk': here('../sdks/typescript/src/index.ts') } },
  build: {
    outDir,
    emptyOutDir: true,
    target: 'es2022',
    modulePreload: { polyfill: false },
    rollupOptions: {
      input: { index: here('./src/index.html'), portal: here('./src/portal.html') },
    },
  },
});
