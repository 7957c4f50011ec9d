/**
 * `npm run build:ui`: the single-page app into build/ui (hashed files under assets/), which the
 * controller serves at / (controller/http/ui-app.ts). No inline scripts or styles, so the
 * page runs under a strict Content-Security-Policy.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  root: here,
  base: '/',
  publicDir: join(here, 'public'),
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: join(here, '..', '..', 'build', 'ui'),
    emptyOutDir: true,
    target: 'es2022',
    // Never inline small assets as data: URLs into the CSS/JS; and the module preload
    // polyfill would be an inline script.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    reportCompressedSize: false,
  },
});
