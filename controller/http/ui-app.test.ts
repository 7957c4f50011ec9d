/**
 * The web UI on the 8080 app, over real HTTP against a UI folder made by the test: cache
 * headers, the strict CSP with the identity providers' origins, history fallback, clear 404s,
 * and /api left to the API.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { silentLogger } from '../observability/logger.ts';
import { createApiApp } from './api-app.ts';
import { listen, type ListeningServer } from './listen.ts';
import { createUiMiddleware, uiContentSecurityPolicy } from './ui-app.ts';
import { defaultUiDir } from './ui-dir.ts';

/** A GET with the path exactly as given (fetch would normalize the dots away). */
function rawGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const INDEX = '<!doctype html><title>ui</title><script type="module" src="/assets/app-abc123.js"></script>';

describe('web UI serving', () => {
  let dir: string;
  let server: ListeningServer;
  let base: string;
  let origins: string[];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bg-ui-'));
    await mkdir(join(dir, 'assets'));
    await writeFile(join(dir, 'index.html'), INDEX);
    await writeFile(join(dir, 'assets', 'app-abc123.js'), 'console.log(1)');
    await writeFile(join(dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    await writeFile(join(dir, '.secret'), 'hidden');
    origins = ['https://sso.example.com:8443'];
    const ui = createUiMiddleware({ root: dir, identityProviderOrigins: () => origins, logger: silentLogger() });
    server = await listen(createApiApp({ logger: silentLogger(), version: 't', ui }).callback(), '127.0.0.1:0');
    base = `http://127.0.0.1:${server.port}`;
  });
  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves index.html at / uncached, under a strict CSP that lets the OIDC client reach the IdP', async () => {
    const res = await fetch(`${base}/`);
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.match(/^text\/html/);
    expect(res.headers.get('cache-control')).to.equal('no-cache');
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).to.include("script-src 'self'");
    expect(csp).to.include("connect-src 'self' https://sso.example.com:8443");
    expect(csp).to.include("frame-ancestors 'self'");
    expect(csp).to.include("object-src 'none'");
    expect(csp).not.to.include('unsafe-inline');
    expect(csp).not.to.include('unsafe-eval');
    expect(res.headers.get('x-content-type-options')).to.equal('nosniff');
    expect(await res.text()).to.equal(INDEX);
  });

  it('sends no Referer from its pages: the callback URL with the authorization code stays in the browser', async () => {
    for (const path of ['/', '/auth/callback?code=secret-code&state=s1', '/sessions/x', '/index.html']) {
      const res = await fetch(`${base}${path}`);
      expect(res.status, path).to.equal(200);
      expect(res.headers.get('content-type'), path).to.match(/^text\/html/);
      expect(res.headers.get('referrer-policy'), path).to.equal('no-referrer');
    }
  });

  it('follows the identity providers as they change, per response', async () => {
    origins = ['https://a.example.com', 'https://b.example.com', 'https://a.example.com'];
    const csp = (await fetch(`${base}/approvals`)).headers.get('content-security-policy') ?? '';
    expect(csp).to.include("connect-src 'self' https://a.example.com https://b.example.com;");
    origins = [];
    expect((await fetch(`${base}/`)).headers.get('content-security-policy')).to.include("connect-src 'self';");
    origins = ['https://sso.example.com:8443'];
  });

  it('answers every page path of the app with index.html (history routing), keeping the query', async () => {
    for (const path of ['/approvals', '/sessions', '/sessions/prod-1-admin-x7k2p', '/sessions/made.with.kubectl', '/?search=prod-1&group=admin', '/auth/callback?code=x&state=y']) {
      const res = await fetch(`${base}${path}`);
      expect(res.status, path).to.equal(200);
      expect(await res.text(), path).to.equal(INDEX);
    }
    const head = await fetch(`${base}/sessions`, { method: 'HEAD' });
    expect(head.status).to.equal(200);
  });

  it('caches hashed assets for a year as immutable', async () => {
    const res = await fetch(`${base}/assets/app-abc123.js`);
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.match(/javascript/);
    expect(res.headers.get('cache-control')).to.equal('public, max-age=31536000, immutable');
    expect(await res.text()).to.equal('console.log(1)');
    const icon = await fetch(`${base}/favicon.svg`);
    expect(icon.status).to.equal(200);
    expect(icon.headers.get('content-type')).to.match(/^image\/svg\+xml/);
    expect(icon.headers.get('cache-control')).to.equal('no-cache');
  });

  it('answers a missing or hidden file with a clear 404, never with the app', async () => {
    for (const path of ['/assets/app-old999.js', '/favicon.ico', '/.secret']) {
      const res = await fetch(`${base}${path}`);
      expect(res.status, path).to.equal(404);
      expect(res.headers.get('cache-control'), path).to.equal('no-store');
      const body = (await res.json()) as { error: string; code: string };
      expect(body, path).to.deep.include({ error: 'UI asset not found', code: 'NOT_FOUND' });
    }
  });

  it('never serves a file outside its folder, whatever the raw path says', async () => {
    await writeFile(join(dir, '..', 'bg-ui-outside.txt'), 'outside');
    try {
      for (const path of ['/../bg-ui-outside.txt', '/assets/../../bg-ui-outside.txt', '/%2e%2e/bg-ui-outside.txt', '/..%2fbg-ui-outside.txt']) {
        const { status, body } = await rawGet(server.port, path);
        expect(status, path).to.equal(404);
        expect(JSON.parse(body), path).to.deep.include({ error: 'UI asset not found', code: 'NOT_FOUND' });
      }
    } finally {
      await rm(join(dir, '..', 'bg-ui-outside.txt'), { force: true });
    }
  });

  it('leaves /api to the API: unknown API paths stay JSON 404s, other methods are not the UI', async () => {
    const version = await fetch(`${base}/api/version`);
    expect(await version.json()).to.deep.equal({ version: 't' });
    expect(version.headers.get('content-security-policy')).to.equal("default-src 'self'; frame-ancestors 'self'; frame-src 'none'");
    const unknown = await fetch(`${base}/api/nothing`);
    expect(unknown.status).to.equal(404);
    expect(await unknown.json()).to.deep.include({ error: 'API endpoint not found', code: 'NOT_FOUND' });
    const apiRoot = await fetch(`${base}/api`);
    expect(apiRoot.status).to.equal(404);
    expect(apiRoot.headers.get('content-type')).to.match(/json/);
    const post = await fetch(`${base}/sessions`, { method: 'POST' });
    expect(post.status).to.equal(404);
    expect(await post.json()).to.deep.include({ code: 'NOT_FOUND' });
  });

  it('says plainly when the UI is not built', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'bg-ui-empty-'));
    const ui = createUiMiddleware({ root: empty, identityProviderOrigins: () => [], logger: silentLogger() });
    const bare = await listen(createApiApp({ logger: silentLogger(), version: 't', ui }).callback(), '127.0.0.1:0');
    try {
      const res = await fetch(`http://127.0.0.1:${bare.port}/`);
      expect(res.status).to.equal(503);
      expect(await res.json()).to.deep.equal({ error: 'the web UI is not built (npm run build:ui)', code: 'SERVICE_UNAVAILABLE' });
    } finally {
      await bare.close();
      await rm(empty, { recursive: true, force: true });
    }
  });

  it('builds the policy from unique origins', () => {
    expect(uiContentSecurityPolicy(['https://x', 'https://x'])).to.include("connect-src 'self' https://x;");
  });

  it('finds build/ui next to a bundle, and at the repository root from the sources', () => {
    expect(defaultUiDir('file:///app/build/image/main.mjs')).to.equal('/app/build/ui');
    expect(defaultUiDir('file:///repo/build/e2e-bundle/controller-1.mjs')).to.equal('/repo/build/ui');
    expect(defaultUiDir('file:///repo/controller/http/ui-dir.ts')).to.equal('/repo/build/ui');
  });
});
