/**
 * The REST API end to end: two real controller replicas on the real API server, running as the
 * ServiceAccount of a synthesized install (so the RBAC is proven too), tokens signed
 * by a local HTTPS OIDC provider that the replicas trust through an IdentityProvider object.
 * Alice requests on replica A, bob approves on replica B; self-approval, missing groups,
 * duplicates, bad tokens; and a race of approve against withdraw, judged by the API server's own
 * watch. Every response is checked against the OpenAPI document the replicas serve.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { expect } from 'chai';
import { SignJWT, base64url } from 'jose';
import { API_VERSION, GROUP, VERSION, plurals, type BreakglassEscalation, type BreakglassSession } from '../crds/index.ts';
import { installCrds } from '../crds/install.ts';
import { CONFIGURATIONS, findOne, synthesize } from '../infra/test/configurations.ts';
import { createCa } from './controlplane/certs.ts';
import { ApiClient, type ApiAnswer } from './harness/api-client.ts';
import { testCluster } from './harness/cluster.ts';
import { TestOidcProvider, type SigningKey } from './harness/oidc-provider.ts';
import { Replica, type LogLine } from './harness/replicas.ts';
import { applyIdentityAndRbac, serviceAccountKubeConfig } from './harness/serviceaccount.ts';
import { SessionWriteRecorder } from './harness/sessions.ts';
import { eventually } from './harness/wait.ts';

const AUDIENCE = 'breakglass';

describe('REST API on two replicas (real API server, OIDC tokens)', function () {
  this.timeout(300_000);
  const suffix = randomBytes(3).toString('hex');
  const idpName = `e2e-api-${suffix}`;
  const group = `e2e-admin-${suffix}`;
  const cluster = `e2e-api-${suffix}`;
  let kc: KubeConfig;
  let namespace: string;
  let dir: string;
  let oidc: TestOidcProvider;
  let signingKey: SigningKey;
  let replicas: Replica[] = [];
  let api: ApiClient;
  let recorder: SessionWriteRecorder;
  const custom = () => kc.makeApiClient(CustomObjectsApi);
  const createEscalation = (name: string, spec: BreakglassEscalation['spec']) =>
    custom().createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      plural: plurals.BreakglassEscalation,
      namespace,
      body: { apiVersion: API_VERSION, kind: 'BreakglassEscalation', metadata: { name }, spec } satisfies BreakglassEscalation,
    });

  const people = {
    alice: { email: 'alice@example.com', groups: ['developers'] },
    bob: { email: 'bob@example.com', groups: ['approvers'] },
    carol: { email: 'carol@example.com', groups: ['approvers'] },
    dave: { email: 'dave@example.com', groups: [] as string[] },
  };
  type Person = keyof typeof people;

  function token(who: Person, claims: Record<string, unknown> = {}): Promise<string> {
    const p = people[who];
    return oidc.sign({ sub: `sub-${who}`, aud: AUDIENCE, email: p.email, preferred_username: who, groups: p.groups, ...claims });
  }

  const call = (replica: Replica, method: string, path: string, auth?: string, body?: unknown): Promise<ApiAnswer> =>
    api.call(replica, method, path, auth, body);

  const as = async (who: Person) => token(who);

  before(async () => {
    const tc = testCluster();
    kc = tc.admin.kubeConfig;
    await installCrds(kc);
    namespace = await tc.createNamespace('session-api');
    dir = await mkdtemp(join(tmpdir(), 'session-api-e2e-'));
    const ca = await createCa(dir);
    oidc = await TestOidcProvider.start({ dir, ca, realmPath: '/realms/corp' });
    signingKey = await oidc.addKey('RS256');
    await custom().createClusterCustomObject({
      group: GROUP,
      version: VERSION,
      plural: plurals.IdentityProvider,
      body: {
        apiVersion: API_VERSION,
        kind: 'IdentityProvider',
        metadata: { name: idpName },
        spec: {
          issuer: oidc.issuer,
          oidc: { authority: oidc.issuer, clientID: 'breakglass-ui', expectedAudience: AUDIENCE, certificateAuthority: await readFile(ca.certFile, 'utf8') },
          displayName: 'e2e login',
        },
      },
    });
    await createEscalation('developers-admin', {
      escalatedGroup: group,
      allowed: { clusters: ['e2e-api-*'], groups: ['developers'] },
      approvers: { groups: ['approvers'] },
      maxValidFor: '2h',
      approvalTimeout: '1h',
    });
    recorder = new SessionWriteRecorder(kc, namespace);
    await recorder.start();
    // The replicas hold nothing but a token of the synthesized ServiceAccount, whose RBAC is
    // applied for real; the controller (and so Event) namespace is the escalation's.
    const { objects } = synthesize(CONFIGURATIONS['single-instance']({ name: `bg-api-${suffix}`, namespace }));
    await applyIdentityAndRbac(tc, objects);
    const serviceAccount = findOne(objects, 'ServiceAccount');
    const controllerKc = await serviceAccountKubeConfig(kc, { name: serviceAccount.metadata.name, namespace });
    const kubeconfigPath = join(dir, 'controller-kubeconfig');
    await writeFile(kubeconfigPath, controllerKc.exportConfig(), { mode: 0o600 });
    replicas = await Replica.startMany(
      ['api-a', 'api-b'].map((name) => ({
        name: `${name}-${suffix}`,
        kubeconfigPath,
        env: {
          POD_NAMESPACE: namespace,
          ENABLE_WEBHOOKS: 'false',
          ENABLE_CLEANUP: 'false',
          DISABLE_SESSION_RATE_LIMIT: 'true',
        },
      })),
    );
    api = await ApiClient.forReplica(replicas[0]!);
    // Both replicas know the escalation and the identity provider before the tests start.
    const alice = await as('alice');
    for (const replica of replicas) {
      await eventually(`${replica.name} to offer the escalation`, 30_000, async () => {
        const answer = await call(replica, 'GET', `/api/breakglassEscalations?cluster=${cluster}`, alice);
        // The cluster is shared with other suites (and, via E2E_KUBECONFIG, with anything else):
        // count only this suite's escalations.
        const items = (answer.body.items ?? []) as { metadata?: { namespace?: string } }[];
        return answer.status === 200 && items.filter((e) => e.metadata?.namespace === namespace).length === 1 ? true : undefined;
      });
    }
  });

  after(async () => {
    recorder?.stop();
    await Promise.all(replicas.map((r) => r.stop()));
    await custom()
      .deleteClusterCustomObject({ group: GROUP, version: VERSION, plural: plurals.IdentityProvider, name: idpName })
      .catch(() => undefined);
    await oidc?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function eventsOf(session: string): Promise<{ reason: string; message: string }[]> {
    const list = await kc.makeApiClient(CoreV1Api).listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${session}` });
    return list.items.map((e) => ({ reason: e.reason ?? '', message: e.message ?? '' }));
  }

  it('alice requests on replica A, bob approves on replica B: Approved, with an Event and a log line per action', async () => {
    const [a, b] = replicas as [Replica, Replica];
    const created = await call(a, 'POST', '/api/breakglassSessions', await as('alice'), { cluster, group, reason: 'INC-7 payments down' });
    expect(created.status).to.equal(201);
    const name = created.body.metadata.name as string;
    expect(created.body.spec).to.include({ user: 'alice@example.com', grantedGroup: group, requestReason: 'INC-7 payments down', identityProviderName: idpName });
    expect(created.body.metadata.ownerReferences[0]).to.include({ kind: 'BreakglassEscalation', name: 'developers-admin' });

    const approved = await call(b, 'POST', `/api/breakglassSessions/${name}/approve`, await as('bob'), { reason: 'go' });
    expect(approved.status).to.equal(200);
    const stored = (await custom().getNamespacedCustomObject({ group: GROUP, version: VERSION, plural: plurals.BreakglassSession, namespace, name })) as BreakglassSession;
    expect(stored.status).to.include({ state: 'Approved', approver: 'bob@example.com', approvalReason: 'go' });
    const approvedAt = Date.parse(stored.status?.approvedAt ?? '');
    expect(Date.parse(stored.status?.expiresAt ?? '') - approvedAt).to.equal(2 * 3600_000);

    const events = await eventually('an Event per action', 20_000, async () => {
      const list = await eventsOf(name);
      return list.length >= 2 ? list : undefined;
    });
    expect(events.map((e) => e.reason).sort()).to.deep.equal(['SessionApproved', 'SessionRequested']);
    expect(events.find((e) => e.reason === 'SessionApproved')?.message).to.match(/^bob@example.com approved /);
    expect(a.linesWith('session requested').some((l) => l.session === `${namespace}/${name}` && l.actor === 'alice@example.com')).to.equal(true);
    expect(b.linesWith('session approved').some((l) => l.session === `${namespace}/${name}` && l.actor === 'bob@example.com')).to.equal(true);

    // The replica that did not write it sees the result through its cache.
    const seen = await eventually('replica A to list it as approved by bob', 20_000, async () => {
      const list = await call(a, 'GET', '/api/breakglassSessions?approvedByMe=true', await as('bob'));
      return list.body.items.find((s: BreakglassSession) => s.metadata?.name === name);
    });
    expect(seen.status.state).to.equal('Approved');
    const dropped = await call(a, 'POST', `/api/breakglassSessions/${name}/drop`, await as('alice'));
    expect(dropped.body.status).to.include({ state: 'Expired', reasonEnded: 'dropped' });
  });

  it('refuses self-approval (403), a caller without the group (403) and a duplicate on the other replica (409)', async () => {
    const [a, b] = replicas as [Replica, Replica];
    // alice is also an approver here, so only the self-approval rule stops her.
    const aliceApprover = await token('alice', { groups: ['developers', 'approvers'] });
    const created = await call(a, 'POST', '/api/breakglassSessions', aliceApprover, { cluster, group });
    expect(created.status).to.equal(201);
    const name = created.body.metadata.name as string;
    const duplicate = await call(b, 'POST', '/api/breakglassSessions', await as('alice'), { cluster, group });
    expect([duplicate.status, duplicate.body.error]).to.deep.equal([409, 'already requested']);
    expect(duplicate.body.session.metadata.name).to.equal(name);

    const self = await call(b, 'POST', `/api/breakglassSessions/${name}/approve`, aliceApprover);
    expect(self.status).to.equal(403);
    expect(self.body.error).to.match(/Self-approval is not allowed/);

    const dave = await call(a, 'POST', '/api/breakglassSessions', await as('dave'), { cluster, group });
    expect([dave.status, dave.body.error]).to.deep.equal([403, 'user not authorized for requested group']);
    const daveApproves = await call(a, 'POST', `/api/breakglassSessions/${name}/approve`, await as('dave'));
    expect(daveApproves.status).to.equal(403);

    const rejected = await call(b, 'POST', `/api/breakglassSessions/${name}/reject`, await as('carol'), { reason: 'no ticket' });
    expect(rejected.status).to.equal(200);
    expect(rejected.body.status).to.include({ state: 'Rejected', approver: 'carol@example.com' });
    expect((await eventually('the reject Event', 20_000, async () => {
      const list = await eventsOf(name);
      return list.some((e) => e.reason === 'SessionRejected') ? list : undefined;
    })).length).to.be.at.least(2);
  });

  it('answers 401 to expired, foreign-audience, unknown-issuer, tampered, unsigned and HS256 tokens', async () => {
    const [a] = replicas as [Replica];
    const good = await as('alice');
    const [header, payload] = good.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    const tampered = `${header}.${base64url.encode(JSON.stringify({ ...claims, groups: ['approvers'] }))}.${good.split('.')[2]}`;
    const none = `${base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${payload}.`;
    const pem = await TestOidcProvider.publicKeyPem(signingKey);
    const hs256 = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: 'key-1' }).sign(new TextEncoder().encode(pem));
    const bad = {
      expired: await token('alice', { exp: Math.floor(Date.now() / 1000) - 600, iat: Math.floor(Date.now() / 1000) - 1200 }),
      audience: await token('alice', { aud: 'someone-else' }),
      issuer: await token('alice', { iss: 'https://127.0.0.1:1/realms/unknown' }),
      tampered,
      none,
      hs256,
    };
    for (const [what, value] of Object.entries(bad)) {
      const answer = await call(a, 'GET', '/api/breakglassSessions', value);
      expect([what, answer.status, answer.body.code]).to.deep.equal([what, 401, 'UNAUTHORIZED']);
    }
  });

  it('approve racing withdraw, 20 rounds: exactly one wins, the other gets 409 or 400 naming the state', async () => {
    const [a, b] = replicas as [Replica, Replica];
    const names: string[] = [];
    const outcomes: string[] = [];
    for (let round = 0; round < 20; round++) {
      const created = await call(a, 'POST', '/api/breakglassSessions', await as('alice'), { cluster, group, reason: `round ${round}` });
      expect(created.status, JSON.stringify(created.body)).to.equal(201);
      const name = created.body.metadata.name as string;
      names.push(name);
      const [bob, alice] = [await as('bob'), await as('alice')];
      const [approve, withdraw] = await Promise.all([
        call(round % 2 === 0 ? a : b, 'POST', `/api/breakglassSessions/${name}/approve`, bob),
        call(round % 2 === 0 ? b : a, 'POST', `/api/breakglassSessions/${name}/withdraw`, alice),
      ]);
      const statuses = [approve.status, withdraw.status].sort((x, y) => x - y);
      const loser = approve.status === 200 ? withdraw : approve;
      expect(statuses[0], `round ${round}: ${JSON.stringify([approve.body, withdraw.body])}`).to.equal(200);
      expect([400, 409], `round ${round}: ${JSON.stringify(loser.body)}`).to.include(statuses[1]);
      if (loser.status === 400) expect(loser.body.error).to.match(/current state: (Approved|Withdrawn)/);
      outcomes.push(approve.status === 200 ? 'approved' : 'withdrawn');
      // End an approved session so the next round's request is not a duplicate.
      if (approve.status === 200) expect((await call(a, 'POST', `/api/breakglassSessions/${name}/drop`, alice)).status).to.equal(200);
    }
    // The API server's watch: each session left Pending exactly once, for the winner's state.
    await eventually('the watch to see every round', 20_000, () =>
      names.every((n) => recorder.changes.some((c) => c.name === n && c.from === 'Pending')) ? true : undefined,
    );
    names.forEach((name, round) => {
      const fromPending = recorder.changes.filter((c) => c.name === name && c.from === 'Pending');
      expect(fromPending.map((c) => c.to), `round ${round}`).to.deep.equal([outcomes[round] === 'approved' ? 'Approved' : 'Withdrawn']);
    });
  });

  it('a per-user limit of 1 holds across replicas: of two requests for different groups at the same moment, exactly one stands', async () => {
    const [a, b] = replicas as [Replica, Replica];
    const limitedGroups = [`e2e-limit-a-${suffix}`, `e2e-limit-b-${suffix}`];
    for (const [i, escalatedGroup] of limitedGroups.entries()) {
      await createEscalation(`limited-${i}`, {
        escalatedGroup,
        allowed: { clusters: ['e2e-api-*'], groups: ['developers'] },
        approvers: { groups: ['approvers'] },
        sessionLimitsOverride: { maxActiveSessionsPerUser: 1 },
      });
    }
    const alice = await as('alice');
    for (const replica of replicas) {
      await eventually(`${replica.name} to offer both limited escalations`, 30_000, async () => {
        const answer = await call(replica, 'GET', `/api/breakglassEscalations?cluster=${cluster}`, alice);
        const groups = ((answer.body.items ?? []) as { spec?: { escalatedGroup?: string } }[]).map((e) => e.spec?.escalatedGroup);
        return limitedGroups.every((g) => groups.includes(g)) ? true : undefined;
      });
    }
    // A new user per round: nothing of an earlier round is in any cache to refuse the request early.
    for (let round = 0; round < 10; round++) {
      const email = `limit-${round}-${suffix}@example.com`;
      const userToken = await oidc.sign({ sub: `sub-limit-${round}`, aud: AUDIENCE, email, preferred_username: `limit-${round}`, groups: ['developers'] });
      const answers = await Promise.all([
        call(a, 'POST', '/api/breakglassSessions', userToken, { cluster, group: limitedGroups[0] }),
        call(b, 'POST', '/api/breakglassSessions', userToken, { cluster, group: limitedGroups[1] }),
      ]);
      const statuses = answers.map((x) => x.status).sort();
      expect(statuses, `round ${round}: ${JSON.stringify(answers.map((x) => x.body))}`).to.deep.equal([201, 422]);
      const refused = answers.find((x) => x.status === 422)!;
      expect(refused.body.error).to.equal('session limit reached: maximum 1 slot-occupying sessions per user allowed (escalation override)');
      const stored = (await custom().listNamespacedCustomObject({ group: GROUP, version: VERSION, plural: plurals.BreakglassSession, namespace })) as {
        items: BreakglassSession[];
      };
      const mine = stored.items.filter((x) => x.spec.user === email);
      expect(mine.map((x) => x.status?.state), `round ${round}: the refused request leaves nothing behind`).to.deep.equal(['Pending']);
    }
  });

  it('met no authorization denial and recorded every audit Event', () => {
    for (const replica of replicas) {
      // The leader's loops also see other suites' objects in the shared cluster: ClusterConfigs
      // outside this install's eventNamespaces (their Events are refused, as the README says) and
      // IdentityProviders whose Keycloak Secret lies outside its secretNamespaces. Those refusals
      // are the least-privilege install working; this suite's own objects must meet none.
      const foreign = (l: LogLine) =>
        l.msg === 'recording event failed' ||
        (l.msg === 'identity provider group sync not possible' && l.identityProvider !== idpName);
      const denied = replica.logs.filter((l) => !foreign(l) && /forbidden|HTTP(?:-Code:)? 403\b/i.test(JSON.stringify(l)));
      expect(denied.map((l) => l.msg), replica.name).to.deep.equal([]);
      expect(replica.linesWith('session audit event not recorded'), replica.name).to.deep.equal([]);
    }
  });
});
