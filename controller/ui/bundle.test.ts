/**
 * The built UI as the controller ships it (npm run build:ui, built here when missing or stale):
 * under the JavaScript budget of issue 10, no inline script (the CSP forbids them), and every
 * file index.html loads is served by the 8080 app with its cache headers.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { expect } from 'chai';
import { ensureUiBuilt } from '../../e2e/harness/ui-build.ts';
import { createApiApp } from '../http/api-app.ts';
import { listen } from '../http/listen.ts';
import { createUiMiddleware } from '../http/ui-app.ts';
import { silentLogger } from '../observability/logger.ts';

/** Issue 10: total JavaScript payload under 200 KB gzipped. */
const JS_BUDGET_GZIP_BYTES = 200 * 1024;

async function files(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

describe('web UI bundle', function () {
  this.timeout(180_000); // a first build on a loaded 2-core machine
  let dir: string;

  before(async () => {
    dir = await ensureUiBuilt();
  });

  it('ships under 200 KB of gzipped JavaScript', async () => {
    const scripts = (await files(dir)).filter((f) => /\.m?js$/.test(f));
    expect(scripts.length, 'the build has scripts').to.be.greaterThan(0);
    let total = 0;
    for (const script of scripts) total += gzipSync(await readFile(script), { level: 9 }).length;
    expect(total, `gzipped JavaScript bytes of ${scripts.join(', ')}`).to.be.lessThan(JS_BUDGET_GZIP_BYTES);
  });

  it('has no inline script or style in index.html, and an icon so browsers ask for no favicon.ico', async () => {
    const html = await readFile(join(dir, 'index.html'), 'utf8');
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).to.be.greaterThan(0);
    for (const [, attributes, body] of scripts) {
      expect(attributes, 'every script is loaded from a file').to.match(/\bsrc="\/assets\//);
      expect(body?.trim(), 'no inline script').to.equal('');
    }
    expect(html).not.to.match(/<style\b/);
    expect(html).not.to.match(/\sstyle="/);
    expect(html).not.to.match(/\son[a-z]+="/);
    expect(html).to.match(/<link rel="icon"[^>]*href="\/favicon\.svg"/);
  });

  it('is served by the 8080 app: the page, its assets as immutable, its icon', async () => {
    const ui = createUiMiddleware({ root: dir, identityProviderOrigins: () => ['https://127.0.0.1:8443'], logger: silentLogger() });
    const server = await listen(createApiApp({ logger: silentLogger(), version: 't', ui }).callback(), '127.0.0.1:0');
    try {
      const base = `http://127.0.0.1:${server.port}`;
      const page = await fetch(`${base}/sessions/some-session`);
      expect(page.status).to.equal(200);
      const html = await page.text();
      const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1] as string);
      expect(assets.length).to.be.greaterThan(0);
      for (const asset of assets) {
        const res = await fetch(`${base}${asset}`);
        expect(res.status, asset).to.equal(200);
        expect(res.headers.get('cache-control'), asset).to.equal('public, max-age=31536000, immutable');
      }
      const icon = await fetch(`${base}/favicon.svg`);
      expect(icon.status).to.equal(200);
    } finally {
      await server.close();
    }
  });
});
