/**
 * A real browser for the UI acceptance tests: Debian's /usr/bin/chromium driven headless by
 * playwright-core (playwright's own browser download cannot work on these machines).
 *
 * - TLS: Keycloak serves a certificate from the test CA. Instead of ignoring certificate errors,
 *   the harness verifies the server's chain against that CA in Node and then tells Chromium to
 *   accept exactly that server key (`--ignore-certificate-errors-spki-list`); any other
 *   untrusted certificate still fails.
 * - Every page of a context reports console errors and uncaught exceptions to the context's
 *   collector, which tests assert empty.
 * - `axeViolations` runs axe-core (npm) in the page and returns serious and critical violations.
 * - Screenshots go to `build/e2e-screenshots/<suite>/` (build/ is gitignored).
 * - `loginAtKeycloak` fills Keycloak's real login form.
 *
 * `requireChromium` skips a suite with the reason in its title where there is no Chromium, except
 * under CI (CI=true), where a missing browser is a failure: `.ci/run` installs it.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { createHash, X509Certificate } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { connect } from 'node:tls';
import { fileURLToPath } from 'node:url';
import type { AxeResults, ImpactValue, Result as AxeResult } from 'axe-core';
import { chromium, type Browser, type BrowserContext, type ConsoleMessage, type Page } from 'playwright-core';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** E2E_CHROMIUM overrides the Debian path (for example a Chrome elsewhere). */
export const CHROMIUM_PATH = process.env.E2E_CHROMIUM || '/usr/bin/chromium';

/** Where screenshots are kept; gitignored through build/. */
export const SCREENSHOT_ROOT = join(root, 'build', 'e2e-screenshots');

/**
 * The Chromium binary, or a skip of the current test/hook with the reason in its title. Under
 * CI a missing browser throws instead: the acceptance tests must not vanish from CI silently.
 */
export function requireChromium(ctx: Mocha.Context): string {
  if (existsSync(CHROMIUM_PATH)) return CHROMIUM_PATH;
  const reason = `no Chromium at ${CHROMIUM_PATH} (apt-get install chromium, or set E2E_CHROMIUM)`;
  if (process.env.CI) throw new Error(`${reason}; CI must have it (.ci/run installs it)`);
  const runnable = ctx.currentTest ?? ctx.test;
  if (runnable) runnable.title += ` [skipped: ${reason}]`;
  ctx.skip();
}

/** A TLS server the browser should trust because a given CA signed its certificate. */
export interface TrustedServer {
  /** Any URL on the server, e.g. Keycloak's base URL. */
  url: string;
  /** PEM of the CA that must have signed the server's certificate. */
  caPem: string;
}

/**
 * The base64 SHA-256 of the server's public key (SPKI), after Node verified the server's chain
 * and name against `caPem`: the value Chromium's --ignore-certificate-errors-spki-list takes.
 */
export async function verifiedServerKeyHash(server: TrustedServer): Promise<string> {
  const url = new URL(server.url);
  const port = Number(url.port || 443);
  const der = await new Promise<Buffer>((resolve, reject) => {
    const socket = connect({ host: url.hostname, port, ca: server.caPem, servername: isIp(url.hostname) ? undefined : url.hostname }, () => {
      const peer = socket.getPeerCertificate();
      socket.end();
      resolve(peer.raw);
    });
    socket.once('error', (error) => reject(new Error(`TLS to ${url.host} not trusted by the given CA: ${error.message}`)));
  });
  const spki = new X509Certificate(der).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64');
}

function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}

/** One console error or uncaught page exception, with where it happened. */
export interface PageProblem {
  kind: 'console' | 'pageerror';
  text: string;
  /** The URL of the page whose console showed it. */
  pageUrl: string;
  /** Console: the script or resource the message names (a failed request's URL), when known. */
  sourceUrl: string;
}

/** A browser context (its own cookies and storage: one user) with its problem collector. */
export class UserContext {
  readonly problems: PageProblem[] = [];
  /** Problems a test declared expected (see expectProblems); left out of problemsOn. */
  private readonly expected: ((problem: PageProblem) => boolean)[] = [];

  constructor(
    readonly name: string,
    readonly context: BrowserContext,
    readonly page: Page,
    private readonly screenshotDir: string,
    /** Numbers the suite's pictures in the order they were taken, across users. */
    private readonly nextShot: () => number,
  ) {
    context.on('page', (p) => this.watch(p));
    this.watch(page);
  }

  private watch(page: Page): void {
    page.on('console', (message: ConsoleMessage) => {
      if (message.type() !== 'error') return;
      this.problems.push({ kind: 'console', text: message.text(), pageUrl: page.url(), sourceUrl: message.location().url });
    });
    page.on('pageerror', (error: Error) => {
      this.problems.push({ kind: 'pageerror', text: `${error.name}: ${error.message}`, pageUrl: page.url(), sourceUrl: '' });
    });
  }

  /** Problems shown on pages of the given origins (e.g. the app's, not Keycloak's own login page). */
  problemsOn(...origins: string[]): PageProblem[] {
    return this.problems.filter(
      (p) => origins.some((origin) => p.pageUrl.startsWith(`${origin}/`)) && !this.expected.some((isExpected) => isExpected(p)),
    );
  }

  /**
   * Declares problems the browser shows by design in this test (e.g. the failed token refresh
   * of an ended login); resolves to those seen so far, so the test can assert they happened.
   */
  expectProblems(isExpected: (problem: PageProblem) => boolean): PageProblem[] {
    this.expected.push(isExpected);
    return this.problems.filter(isExpected);
  }

  /** Saves a full-page screenshot as `<nn>-<user>-<label>.png`; resolves to its path. */
  async screenshot(label: string): Promise<string> {
    await mkdir(this.screenshotDir, { recursive: true });
    const index = String(this.nextShot()).padStart(2, '0');
    const file = join(this.screenshotDir, `${index}-${this.name}-${label.replace(/[^a-z0-9-]+/gi, '-')}.png`);
    await this.page.screenshot({ path: file, fullPage: true });
    return file;
  }

  /** axe-core's serious and critical violations on the current page. */
  axeViolations(): Promise<AxeViolation[]> {
    return axeViolations(this.page);
  }

  async close(): Promise<void> {
    await this.context.close().catch(() => undefined);
  }
}

export interface TestBrowserOptions {
  /** TLS servers to trust (verified against their CA first); typically the test Keycloak. */
  trust?: TrustedServer[];
  /** Subfolder of build/e2e-screenshots for this suite's pictures. */
  screenshots: string;
}

/** One headless Chromium for a suite; contexts per user. */
export class TestBrowser {
  private readonly contexts: UserContext[] = [];
  private shots = 0;

  private constructor(
    readonly browser: Browser,
    readonly screenshotDir: string,
  ) {}

  static async launch(options: TestBrowserOptions): Promise<TestBrowser> {
    const hashes = await Promise.all((options.trust ?? []).map((server) => verifiedServerKeyHash(server)));
    const browser = await chromium.launch({
      executablePath: CHROMIUM_PATH,
      headless: true,
      // playwright-core already passes --no-sandbox (its chromiumSandbox default is false), which
      // running as root needs; nothing else is loosened.
      args: hashes.length > 0 ? [`--ignore-certificate-errors-spki-list=${hashes.join(',')}`] : [],
      timeout: 120_000,
    });
    const dir = join(SCREENSHOT_ROOT, options.screenshots);
    // Pictures of an earlier run would pass for this one's.
    await rm(dir, { recursive: true, force: true });
    return new TestBrowser(browser, dir);
  }

  /** A fresh context (no cookies, no storage) with one page. */
  async newUser(name: string, viewport = { width: 1280, height: 900 }): Promise<UserContext> {
    const context = await this.browser.newContext({ viewport, locale: 'en-US', timezoneId: 'UTC' });
    const user = new UserContext(name, context, await context.newPage(), this.screenshotDir, () => ++this.shots);
    this.contexts.push(user);
    return user;
  }

  async close(): Promise<void> {
    await Promise.all(this.contexts.map((c) => c.close()));
    await this.browser.close().catch(() => undefined);
  }
}

export interface AxeViolation {
  id: string;
  impact: ImpactValue | undefined;
  help: string;
  /** Selectors and failure summaries of the offending nodes. */
  nodes: string[];
}

let axeSource: Promise<string> | undefined;

/**
 * Runs axe-core in the page. Injected with evaluate (DevTools evaluation), not a script tag, so
 * the app's Content-Security-Policy stays in force and is not weakened for the test.
 */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  axeSource ??= readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  const source = await axeSource;
  const loaded = await page.evaluate('typeof window.axe === "object"');
  if (!loaded) await page.evaluate(source);
  const results = (await page.evaluate(
    'window.axe.run(document, { resultTypes: ["violations"] })',
  )) as AxeResults;
  return results.violations
    .filter((v: AxeResult) => v.impact === 'serious' || v.impact === 'critical')
    .map((v: AxeResult) => ({
      id: v.id,
      impact: v.impact ?? undefined,
      help: v.help,
      nodes: v.nodes.map((n) => `${n.target.join(' ')}: ${n.failureSummary ?? ''}`),
    }));
}

export interface LoginCredentials {
  username: string;
  password: string;
}

/**
 * On Keycloak's login page (the browser was sent there by the app): fills the real form and
 * signs in. Waits for the form first, so it also proves the app redirected to Keycloak.
 */
export async function loginAtKeycloak(page: Page, keycloakIssuer: string, user: LoginCredentials): Promise<void> {
  await page.waitForURL((url) => url.href.startsWith(`${keycloakIssuer}/`), { timeout: 60_000 });
  const username = page.getByLabel('Username or email');
  await username.waitFor({ timeout: 60_000 });
  await username.fill(user.username);
  await page.getByLabel('Password', { exact: true }).fill(user.password);
  await page.getByRole('button', { name: 'Sign In' }).click();
  await page.waitForURL((url) => !url.href.startsWith(`${keycloakIssuer}/`), { timeout: 60_000 });
}
