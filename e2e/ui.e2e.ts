/**
 * Acceptance of the web UI (issue 10) in a real browser: Debian's Chromium through
 * playwright-core, the real Keycloak login form, two controller replicas serving the built UI
 * and the API. The test drives the pages only by the accessible names of the UI contract
 * (roles, labels, headings), never by CSS classes.
 *
 * alice opens the deny link on replica A and logs in at Keycloak, finds the escalation of the
 * link pre-selected, is stopped by the mandatory reason (nothing is sent), requests; bob, already
 * on Approvals on replica B, sees the request appear without reloading and approves it; alice's
 * My sessions turns it Active with time left by itself; she drops it and it shows as ended.
 * Approvals never offers alice her own request. A login whose Keycloak session ended sends the
 * user back to Keycloak and then to the page they were on. Every page: axe-core without serious or
 * critical violations, no console errors, a screenshot kept under build/e2e-screenshots/ui/; the
 * main pages also at 375 px width without sideways scrolling.
 */
import { randomBytes } from 'node:crypto';
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { expect } from 'chai';
import type { Locator, Page, Request } from 'playwright-core';
import { API_VERSION, GROUP, VERSION, plurals, type BreakglassEscalation, type BreakglassSession, type IdentityProvider } from '../crds/index.ts';
import { installCrds } from '../crds/install.ts';
import { loginAtKeycloak, requireChromium, TestBrowser, type UserContext } from './harness/browser.ts';
import { testCluster } from './harness/cluster.ts';
import { KEYCLOAK_START_TIMEOUT_MS, useKeycloak, type KeycloakHandle } from './harness/keycloak.ts';
import { Replica } from './harness/replicas.ts';
import { allowWebOrigins, copyClient, deleteClient } from './harness/keycloak-clients.ts';
import { ensureUiBuilt } from './harness/ui-build.ts';
import { eventually } from './harness/wait.ts';

/** The UI contract: lists refresh on their own at least every 5 s. Slack for a loaded 2-core machine. */
const LIVE_MS = 5_000 + 15_000;
const REASON_HINT = 'Incident or ticket ID, e.g. INC-1234';

describe('web UI in Chromium with Keycloak and two replicas (issue 10)', function () {
  this.timeout(600_000);
  const run = randomBytes(3).toString('hex');
  const idpName = `keycloak-ui-${run}`;
  const shortClient = `breakglass-ui-short-${run}`;
  const cluster = `ui-prod-${run}`;
  // Unique groups: no other suite's escalation in the shared cluster can match these requests.
  const adminGroup = `ui-admin-${run}`;
  const viewGroup = `ui-view-${run}`;
  let keycloak: KeycloakHandle;
  let kc: KubeConfig;
  let namespace: string;
  let replicas: Replica[] = [];
  let browser: TestBrowser | undefined;
  let appA: string;
  let appB: string;
  const users: UserContext[] = [];
  const custom = () => kc.makeApiClient(CustomObjectsApi);

  const sessionsInNamespace = async (): Promise<BreakglassSession[]> =>
    ((await custom().listNamespacedCustomObject({ group: GROUP, version: VERSION, plural: plurals.BreakglassSession, namespace })) as {
      items: BreakglassSession[];
    }).items;

  /** The one h1 of the page, and that there is exactly one. */
  async function expectTitle(page: Page, text: string): Promise<void> {
    const h1 = page.getByRole('heading', { level: 1 });
    await h1.first().waitFor({ timeout: 30_000 });
    await eventually(`h1 "${text}" on ${page.url()}`, 30_000, async () => ((await h1.allTextContents()).join('|') === text ? true : undefined));
  }

  /** axe-core clean, nothing in the console, and a picture kept. */
  async function checkPage(user: UserContext, label: string): Promise<void> {
    await user.screenshot(label);
    const violations = await user.axeViolations();
    expect(violations, `axe-core on ${user.page.url()} (${label}):\n${JSON.stringify(violations, null, 2)}`).to.deep.equal([]);
    expect(user.problemsOn(appA, appB), `console of ${user.name} on ${label}`).to.deep.equal([]);
  }

  /**
   * The same page at a phone's width (375 px): nothing wider than the screen (no sideways
   * scrolling), axe-core still clean, and a picture; then back to the laptop size.
   */
  async function checkPhoneWidth(user: UserContext, label: string): Promise<void> {
    const laptop = user.page.viewportSize();
    await user.page.setViewportSize({ width: 375, height: 812 });
    try {
      await user.page.waitForTimeout(300); // one layout pass
      const width = (await user.page.evaluate('document.documentElement.scrollWidth')) as number;
      expect(width, `${label} at 375 px: content ${width} px wide`).to.be.at.most(375);
      await checkPage(user, `${label}-375px`);
    } finally {
      if (laptop) await user.page.setViewportSize(laptop);
    }
  }

  /** Counts full page loads of the main frame, to prove a list updated without a reload. */
  function countLoads(page: Page): () => number {
    let loads = 0;
    page.on('load', () => loads++);
    return () => loads;
  }

  const section = (page: Page, heading: string): Locator =>
    page.locator('section').filter({ has: page.getByRole('heading', { level: 2, name: heading, exact: true }) });

  before(async function () {
    requireChromium(this);
    this.timeout(KEYCLOAK_START_TIMEOUT_MS);
    const built = ensureUiBuilt();
    keycloak = await useKeycloak();
    const tc = testCluster();
    kc = tc.admin.kubeConfig;
    await installCrds(kc);
    namespace = await tc.createNamespace('ui');
    const idp: IdentityProvider = keycloak.identityProviderObject({ name: idpName, groupSync: false });
    idp.spec.primary = true;
    await custom().createClusterCustomObject({ group: GROUP, version: VERSION, plural: plurals.IdentityProvider, body: idp });
    const escalation = (name: string, spec: BreakglassEscalation['spec']) =>
      custom().createNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        plural: plurals.BreakglassEscalation,
        namespace,
        body: { apiVersion: API_VERSION, kind: 'BreakglassEscalation', metadata: { name }, spec } satisfies BreakglassEscalation,
      });
    // alice is named as an approver of the admin escalation: only the self-approval rule keeps
    // her own request off her Approvals page.
    await escalation('admin', {
      escalatedGroup: adminGroup,
      allowed: { clusters: [cluster], groups: ['developers'] },
      approvers: { groups: ['approvers'], users: ['alice@example.com'] },
      maxValidFor: '1h',
      requestReason: { mandatory: true, description: REASON_HINT },
    });
    // A second escalation on the same cluster: the deny link's group decides which is checked.
    await escalation('view', {
      escalatedGroup: viewGroup,
      allowed: { clusters: [cluster], groups: ['developers'] },
      approvers: { groups: ['approvers'] },
      maxValidFor: '2h',
    });
    await built;
    replicas = await Replica.startMany(
      ['ui-a', 'ui-b'].map((name) => ({
        name: `${name}-${run}`,
        kubeconfigPath: tc.admin.kubeconfigPath,
        env: { LEADER_ELECT_NAMESPACE: namespace, ENABLE_WEBHOOKS: 'false', ENABLE_CLEANUP: 'false' },
      })),
    );
    [appA, appB] = replicas.map((r) => `http://127.0.0.1:${r.ports.api}`) as [string, string];
    await allowWebOrigins(keycloak.admin, keycloak.uiClientId, [appA, appB]);
    for (const app of [appA, appB]) {
      let seen = 'nothing yet';
      await eventually(`${app} to offer both escalations to alice and name the primary provider`, 60_000, async () => {
        const config = (await (await fetch(`${app}/api/config`)).json()) as { frontend?: { oidcAuthority?: string; oidcClientID?: string } };
        const res = await fetch(`${app}/api/breakglassEscalations`, { headers: { authorization: `Bearer ${await keycloak.accessToken('alice')}` } });
        const text = await res.text();
        seen = `config ${JSON.stringify(config)}; escalations ${res.status} ${text.slice(0, 300)}`;
        if (config.frontend?.oidcAuthority !== keycloak.issuer || !res.ok) return undefined;
        const body = JSON.parse(text) as { items?: BreakglassEscalation[] };
        return (body.items ?? []).filter((e) => e.metadata?.namespace === namespace).length === 2 ? true : undefined;
      }).catch(async (err: unknown) => {
        // The cluster is shared: name every IdentityProvider in it (a leftover primary or a second
        // provider for the same issuer would explain a replica that never gets ready here).
        const idps = (await custom().listClusterCustomObject({ group: GROUP, version: VERSION, plural: plurals.IdentityProvider })) as { items: IdentityProvider[] };
        const present = idps.items.map((i) => `${i.metadata?.name} (issuer ${i.spec.issuer ?? i.spec.oidc?.authority}, primary ${i.spec.primary === true}, disabled ${i.spec.disabled === true})`);
        throw new Error(`${err instanceof Error ? err.message : String(err)}; last seen: ${seen}; IdentityProviders: ${present.join(', ')}`);
      });
    }
    browser = await TestBrowser.launch({
      screenshots: 'ui',
      trust: keycloak.caPem ? [{ url: keycloak.baseUrl, caPem: keycloak.caPem }] : [],
    });
  });

  after(async () => {
    await browser?.close();
    await Promise.all(replicas.map((r) => r.stop()));
    await custom()
      .deleteClusterCustomObject({ group: GROUP, version: VERSION, plural: plurals.IdentityProvider, name: idpName })
      .catch(() => undefined);
    await deleteClient(keycloak.admin, shortClient).catch(() => undefined);
  });

  /** After the login form: the app finishes its callback and puts the URL back to `expected`. */
  async function expectBackOn(page: Page, expected: string): Promise<void> {
    await page.waitForURL(expected, { timeout: 30_000 }).catch(() => undefined);
    expect(page.url(), 'back on the page asked for, path and query').to.equal(expected);
  }

  afterEach(function () {
    // Whatever a test did, the app's pages must not have logged errors (checked per page too).
    for (const user of users) expect(user.problemsOn(appA, appB), `console of ${user.name} during "${this.currentTest?.title}"`).to.deep.equal([]);
  });

  it('alice requests from the deny link, bob approves live on the other replica, alice sees it active and drops it', async () => {
    const alice = await browser!.newUser('alice');
    const bob = await browser!.newUser('bob');
    users.push(alice, bob);

    // bob first: he is on Approvals on replica B before the request exists.
    await bob.page.goto(`${appB}/approvals`);
    await loginAtKeycloak(bob.page, keycloak.issuer, keycloak.users.bob);
    await expectBackOn(bob.page, `${appB}/approvals`);
    await expectTitle(bob.page, 'Approvals');
    await bob.page.getByText('bob@example.com').first().waitFor();
    await bob.page.getByRole('button', { name: 'Log out' }).waitFor();
    const bobLoads = countLoads(bob.page);

    // alice follows the link a denied kubectl printed.
    const denyLink = `${appA}/?search=${cluster}&group=${adminGroup}`;
    await alice.page.goto(denyLink);
    await loginAtKeycloak(alice.page, keycloak.issuer, keycloak.users.alice);
    await expectBackOn(alice.page, denyLink);
    await expectTitle(alice.page, 'Request access');
    await alice.page.getByText('alice@example.com').first().waitFor();
    await alice.page.getByRole('button', { name: 'Log out' }).waitFor();
    const nav = alice.page.getByRole('navigation', { name: 'Main' });
    for (const link of ['Request access', 'Approvals', 'My sessions']) await nav.getByRole('link', { name: link }).waitFor();

    expect(await alice.page.getByLabel('Cluster').inputValue()).to.equal(cluster);
    const escalations = alice.page.getByRole('group', { name: 'Escalation' });
    const adminRadio = escalations.getByRole('radio', { name: `${adminGroup} on ${cluster}` });
    const viewRadio = escalations.getByRole('radio', { name: `${viewGroup} on ${cluster}` });
    await adminRadio.waitFor();
    await viewRadio.waitFor();
    expect(await adminRadio.isChecked(), 'the deny link\'s escalation is pre-selected').to.equal(true);
    expect(await viewRadio.isChecked()).to.equal(false);
    const reason = alice.page.getByLabel('Reason');
    const hintIds = ((await reason.getAttribute('aria-describedby')) ?? '').split(/\s+/).filter(Boolean);
    const hints = await Promise.all(hintIds.map((id) => alice.page.locator(`[id="${id}"]`).textContent()));
    expect(hints.join(' '), 'the escalation\'s reason description is the field\'s hint').to.include(REASON_HINT);
    const duration = alice.page.getByLabel('Duration (minutes)');
    expect(await duration.getAttribute('max'), 'duration bounded by maxValidFor (1h)').to.equal('60');
    await alice.page.getByLabel('Scheduled start').waitFor();
    await checkPage(alice, 'request-preselected');
    await checkPhoneWidth(alice, 'request-preselected');

    // The mandatory reason left empty: the field says so and nothing reaches the API.
    const posts: Request[] = [];
    alice.page.on('request', (request) => {
      if (request.method() !== 'GET' && new URL(request.url()).pathname.startsWith('/api/')) posts.push(request);
    });
    const before = (await sessionsInNamespace()).length;
    await alice.page.getByRole('button', { name: 'Request access' }).click();
    await alice.page.getByText('Reason is required').waitFor();
    expect(await reason.getAttribute('aria-invalid')).to.equal('true');
    await alice.page.waitForTimeout(1500);
    expect(posts.map((r) => `${r.method()} ${r.url()}`), 'no request sent with the reason missing').to.deep.equal([]);
    expect((await sessionsInNamespace()).length, 'no session created').to.equal(before);
    await checkPage(alice, 'request-reason-required');

    await reason.fill('INC-4711 payments down');
    await duration.fill('30');
    await alice.page.getByRole('button', { name: 'Request access' }).click();
    const status = alice.page.getByRole('status');
    const sessionLink = status.getByRole('link').filter({ hasText: /./ }).first();
    await sessionLink.waitFor({ timeout: 30_000 });
    const href = new URL((await sessionLink.getAttribute('href'))!, appA);
    const name = /^\/sessions\/([^/]+)$/.exec(href.pathname)?.[1];
    expect(name, `link ${href.pathname}`).to.be.a('string');
    expect(await status.textContent()).to.include(name!);
    expect(posts.map((r) => `${r.method()} ${new URL(r.url()).pathname}`)).to.deep.equal(['POST /api/breakglassSessions']);
    await checkPage(alice, 'request-sent');
    const stored = (await sessionsInNamespace()).find((s) => s.metadata?.name === name);
    expect(stored?.spec, 'the session as requested').to.include({
      user: 'alice@example.com',
      cluster,
      grantedGroup: adminGroup,
      requestReason: 'INC-4711 payments down',
    });

    // bob's Approvals shows it by itself, with what he needs to decide.
    const request = bob.page.getByRole('article', { name: `Request ${name}` });
    await request.waitFor({ timeout: LIVE_MS });
    expect(bobLoads(), 'bob did not reload').to.equal(0);
    const shown = (await request.textContent()) ?? '';
    for (const fact of ['alice@example.com', cluster, adminGroup, 'INC-4711 payments down']) expect(shown, 'the request article').to.include(fact);
    expect(shown, 'requested duration').to.match(/30 ?min|30m|0\.5 ?h/);
    expect(shown, 'time left before the approval times out').to.match(/Time left to approve\s*(\d+[dhms] ?)+left/);
    await checkPage(bob, 'approvals-pending');
    await checkPhoneWidth(bob, 'approvals-pending');

    // alice's own Approvals page never offers her request, though she is a named approver.
    await nav.getByRole('link', { name: 'Approvals' }).click();
    await expectTitle(alice.page, 'Approvals');
    await alice.page.waitForTimeout(LIVE_MS / 2); // at least one refresh after bob already saw it
    // The list loaded (no spinner, no error) and her request is not in it. "No pending requests" is
    // not asserted: other suites may leave requests alice may approve in the shared cluster.
    await alice.page.getByText('Loading requests…').waitFor({ state: 'detached', timeout: LIVE_MS });
    expect(await alice.page.getByRole('alert').count(), 'the Approvals list loaded without an error').to.equal(0);
    expect(await alice.page.getByRole('article', { name: `Request ${name}` }).count(), 'alice is not offered her own request').to.equal(0);
    await checkPage(alice, 'approvals-own-request-absent');

    // My sessions: pending, with Withdraw.
    await nav.getByRole('link', { name: 'My sessions' }).click();
    await expectTitle(alice.page, 'My sessions');
    for (const heading of ['Pending', 'Scheduled', 'Active', 'Ended']) await alice.page.getByRole('heading', { level: 2, name: heading, exact: true }).waitFor();
    const pending = section(alice.page, 'Pending').getByRole('article', { name: `Session ${name}` });
    await pending.waitFor({ timeout: LIVE_MS });
    expect(await pending.textContent()).to.include('Pending');
    await pending.getByRole('button', { name: 'Withdraw' }).waitFor();
    await checkPage(alice, 'sessions-pending');
    const aliceLoads = countLoads(alice.page);

    // bob approves with a reason.
    await request.getByLabel('Approval reason').fill('go ahead, INC-4711');
    await request.getByRole('button', { name: 'Approve' }).click();
    await eventually('bob\'s article to go or show the decision', LIVE_MS, async () =>
      (await request.count()) === 0 || /approved/i.test((await request.textContent()) ?? '') ? true : undefined,
    );
    const approved = await eventually('the session Approved in the cluster', 20_000, async () => {
      const s = (await sessionsInNamespace()).find((x) => x.metadata?.name === name);
      return s?.status?.state === 'Approved' ? s : undefined;
    });
    expect(approved.status).to.include({ approver: 'bob@example.com', approvalReason: 'go ahead, INC-4711' });
    expect(Date.parse(approved.status!.expiresAt!) - Date.parse(approved.status!.approvedAt!)).to.equal(30 * 60_000);
    await checkPage(bob, 'approvals-after-approve');

    // alice sees it active with time left, without reloading, on the other replica.
    const active = section(alice.page, 'Active').getByRole('article', { name: `Session ${name}` });
    await active.waitFor({ timeout: LIVE_MS });
    expect(aliceLoads(), 'alice did not reload').to.equal(0);
    const activeText = (await active.textContent()) ?? '';
    expect(activeText).to.include('Approved');
    expect(activeText, 'about 30 minutes left').to.match(/· (2\d|30)m( \d+s)? left/);
    await checkPage(alice, 'sessions-active');
    await checkPhoneWidth(alice, 'sessions-active');

    // The session detail page, the link an approver gets.
    await bob.page.goto(`${appB}/sessions/${name}`);
    await expectTitle(bob.page, `Session ${name}`);
    const detail = (await bob.page.getByRole('main').textContent()) ?? '';
    for (const fact of ['alice@example.com', cluster, adminGroup, 'bob@example.com', 'go ahead, INC-4711']) expect(detail, 'session detail').to.include(fact);
    await checkPage(bob, 'session-detail');

    // alice drops it; it moves to Ended.
    await active.getByRole('button', { name: 'Drop' }).click();
    const ended = section(alice.page, 'Ended').getByRole('article', { name: `Session ${name}` });
    await ended.waitFor({ timeout: LIVE_MS });
    expect(await ended.textContent()).to.match(/Expired|Dropped|Ended/);
    expect(await section(alice.page, 'Active').getByRole('article', { name: `Session ${name}` }).count()).to.equal(0);
    const dropped = await eventually('the session ended in the cluster', 20_000, async () => {
      const s = (await sessionsInNamespace()).find((x) => x.metadata?.name === name);
      return s?.status?.state === 'Expired' ? s : undefined;
    });
    expect(dropped.status?.state).to.equal('Expired');
    await checkPage(alice, 'sessions-ended');
    // Their polling ends here; the next test ends alice's Keycloak login on purpose.
    await Promise.all([alice.close(), bob.close()]);
  });

  it('an expired login leads back to Keycloak and then to the page the user was on', async () => {
    // A client of this suite whose access tokens live 70 s (a copy of the UI client otherwise),
    // named by the IdentityProvider for the rest of the run: the app renews a minute ahead, so
    // it tries within about 10 s of the login.
    const admin = keycloak.admin;
    await copyClient(admin, keycloak.uiClientId, shortClient, { 'access.token.lifespan': '70' });
    const idp = (await custom().getClusterCustomObject({ group: GROUP, version: VERSION, plural: plurals.IdentityProvider, name: idpName })) as IdentityProvider;
    idp.spec.oidc.clientID = shortClient;
    await custom().replaceClusterCustomObject({ group: GROUP, version: VERSION, plural: plurals.IdentityProvider, name: idpName, body: idp });
    for (const app of [appA, appB]) {
      await eventually(`${app} to name ${shortClient} in /api/config`, 30_000, async () => {
        const config = (await (await fetch(`${app}/api/config`)).json()) as { frontend?: { oidcClientID?: string } };
        return config.frontend?.oidcClientID === shortClient ? true : undefined;
      });
    }

    const alice = await browser!.newUser('alice-expiry');
    users.push(alice);
    const page = `${appB}/?search=${cluster}&group=${viewGroup}`;
    await alice.page.goto(page);
    await loginAtKeycloak(alice.page, keycloak.issuer, keycloak.users.alice);
    await expectBackOn(alice.page, page);
    await expectTitle(alice.page, 'Request access');
    const stored = (await alice.page.evaluate(
      'Object.keys(sessionStorage).filter((k) => k.startsWith("oidc.user:")).map((k) => JSON.parse(sessionStorage.getItem(k)))',
    )) as { expires_at?: number; profile?: { azp?: string } }[];
    expect(stored.length, 'one stored login').to.equal(1);
    expect(stored[0]!.expires_at! - Date.now() / 1000, 'the short-lived token').to.be.at.most(70);

    // The login ends at Keycloak (as when its session times out): the refresh token dies with it.
    const userId = await admin.userId('alice');
    const logout = await admin.request('POST', `/users/${userId}/logout`);
    expect(logout.status, logout.body).to.equal(204);

    // The app notices by itself at its next renewal (the test neither reloads nor navigates) and
    // sends alice to Keycloak's login form.
    await alice.page.waitForURL((url) => url.href.startsWith(`${keycloak.issuer}/`), { timeout: 120_000 });
    await alice.page.getByLabel('Username or email').waitFor();
    await alice.screenshot('login-expired-keycloak');
    await loginAtKeycloak(alice.page, keycloak.issuer, keycloak.users.alice);
    await expectBackOn(alice.page, page);
    await expectTitle(alice.page, 'Request access');
    const viewRadio = alice.page.getByRole('group', { name: 'Escalation' }).getByRole('radio', { name: `${viewGroup} on ${cluster}` });
    await viewRadio.waitFor();
    expect(await viewRadio.isChecked()).to.equal(true);

    // The refused refresh is the one error a browser shows here (Chromium logs every 4xx answer).
    const refused = alice.expectProblems(
      (p) => p.kind === 'console' && p.sourceUrl.startsWith(`${keycloak.issuer}/protocol/openid-connect/token`) && /status of 400/.test(p.text),
    );
    expect(refused.length, 'the refresh was tried and refused').to.be.greaterThan(0);
    await checkPage(alice, 'login-expired-back');
  });
});
