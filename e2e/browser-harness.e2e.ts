/**
 * The browser harness itself (e2e/harness/browser.ts) against the real Keycloak, so that the UI
 * acceptance test's checks are known to be able to fail: a console error and an uncaught
 * exception are collected, axe-core reports a critical violation on a page that has one and
 * none on a clean page, a server the test CA did not sign stays untrusted, and the login helper
 * gets through Keycloak's real login form back to the redirect URI with a code.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { expect } from 'chai';
import { createCa, createServingCert } from './controlplane/certs.ts';
import { loginAtKeycloak, requireChromium, TestBrowser } from './harness/browser.ts';
import { KEYCLOAK_START_TIMEOUT_MS, useKeycloak, type KeycloakHandle } from './harness/keycloak.ts';

const PAGES: Record<string, string> = {
  '/clean': '<!doctype html><html lang="en"><head><link rel="icon" href="data:,"><title>clean</title></head><body><main><h1>Clean</h1><p>Nothing wrong here.</p></main></body></html>',
  // A button without an accessible name is a critical axe violation; the page also logs an error and throws.
  '/broken':
    '<!doctype html><html lang="en"><head><link rel="icon" href="data:,"><title>broken</title></head><body><main><h1>Broken</h1><button></button></main>' +
    '<script>console.error("broken page says hi"); setTimeout(() => { throw new Error("uncaught in broken page"); }, 0);</script></body></html>',
  '/callback': '<!doctype html><html lang="en"><head><link rel="icon" href="data:,"><title>callback</title></head><body><main><h1>Back from Keycloak</h1></main></body></html>',
};

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(String((server.address() as AddressInfo).port))));
}

describe('browser harness (Chromium, axe-core, Keycloak login form)', function () {
  this.timeout(180_000);
  let keycloak: KeycloakHandle;
  let browser: TestBrowser | undefined;
  let pages: Server;
  let origin: string;
  let untrusted: Server;
  let untrustedUrl: string;
  let tmp: string;

  before(async function () {
    requireChromium(this);
    this.timeout(KEYCLOAK_START_TIMEOUT_MS);
    keycloak = await useKeycloak();
    pages = createHttpServer((req, res) => {
      const body = PAGES[new URL(req.url ?? '/', 'http://x').pathname];
      res.writeHead(body ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' }).end(body ?? 'not found');
    });
    origin = `http://127.0.0.1:${await listen(pages)}`;
    // A server whose certificate comes from a CA the browser was not told about.
    tmp = await mkdtemp(join(tmpdir(), 'browser-harness-'));
    const otherCa = await createCa(tmp, 'other-ca');
    const cert = await createServingCert(tmp, otherCa, 'other', { ips: ['127.0.0.1'] });
    untrusted = createHttpsServer({ cert: await readFile(cert.certFile), key: await readFile(cert.keyFile) }, (_req, res) =>
      res.writeHead(200, { 'content-type': 'text/html' }).end(PAGES['/clean']),
    );
    untrustedUrl = `https://127.0.0.1:${await listen(untrusted)}/clean`;
    browser = await TestBrowser.launch({
      screenshots: 'browser-harness',
      trust: keycloak.caPem ? [{ url: keycloak.baseUrl, caPem: keycloak.caPem }] : [],
    });
  });

  after(async () => {
    await browser?.close();
    pages?.close();
    untrusted?.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('collects console errors and uncaught exceptions, and axe-core finds a critical violation only where there is one', async () => {
    const user = await browser!.newUser('probe');
    await user.page.goto(`${origin}/clean`);
    expect(await user.axeViolations()).to.deep.equal([]);
    expect(user.problems).to.deep.equal([]);

    await user.page.goto(`${origin}/broken`);
    await user.page.waitForTimeout(200);
    const violations = await user.axeViolations();
    expect(violations.map((v) => [v.id, v.impact])).to.deep.include(['button-name', 'critical']);
    expect(user.problemsOn(origin).map((p) => [p.kind, p.text])).to.deep.equal([
      ['console', 'broken page says hi'],
      ['pageerror', 'Error: uncaught in broken page'],
    ]);
    const file = await user.screenshot('broken');
    expect(existsSync(file), file).to.equal(true);
  });

  it('trusts Keycloak through its CA only: another CA\'s server stays untrusted', async () => {
    const user = await browser!.newUser('tls');
    const discovery = await user.page.goto(`${keycloak.issuer}/.well-known/openid-configuration`);
    expect(discovery?.status()).to.equal(200);
    const failure = await user.page.goto(untrustedUrl).then(
      () => undefined,
      (error: Error) => error.message,
    );
    expect(failure).to.match(/ERR_CERT_AUTHORITY_INVALID/);
  });

  it('logs in through Keycloak\'s real login form and comes back to the redirect URI with a code', async () => {
    const user = await browser!.newUser('login');
    const verifier = randomBytes(32).toString('base64url');
    const state = randomBytes(8).toString('hex');
    const query = new URLSearchParams({
      client_id: keycloak.uiClientId,
      response_type: 'code',
      scope: 'openid',
      redirect_uri: `${origin}/callback`,
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
      state,
    });
    await user.page.goto(`${keycloak.issuer}/protocol/openid-connect/auth?${query}`);
    await user.screenshot('keycloak-login');
    await loginAtKeycloak(user.page, keycloak.issuer, keycloak.users.alice);
    const back = new URL(user.page.url());
    expect(`${back.origin}${back.pathname}`).to.equal(`${origin}/callback`);
    expect(back.searchParams.get('state')).to.equal(state);
    expect(back.searchParams.get('code')).to.be.a('string').and.not.equal('');
    await user.page.getByRole('heading', { name: 'Back from Keycloak' }).waitFor();
    expect(user.problemsOn(origin)).to.deep.equal([]);
  });
});
