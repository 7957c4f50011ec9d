/**
 * Acceptance of the request/approve journey against a real Keycloak: two real controller
 * replicas trust the realm through an IdentityProvider object; alice (developers), bob and carol
 * (approvers) and dave (no group) use Keycloak access tokens from the password grant. Bad
 * tokens are real Keycloak tokens too: from a realm of this suite's own (unknown issuer, then
 * expired once trusted; another audience), or alice's token altered (tampered, `alg: none`,
 * HS256 with the realm's public key as the secret).
 */
import { createPublicKey, randomBytes, type JsonWebKey } from 'node:crypto';
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { expect } from 'chai';
import { SignJWT, base64url, decodeJwt, type JWK } from 'jose';
import { API_VERSION, GROUP, VERSION, plurals, type BreakglassSession } from '../crds/index.ts';
import { installCrds } from '../crds/install.ts';
import { ApiClient, type ApiAnswer } from './harness/api-client.ts';
import { testCluster } from './harness/cluster.ts';
import { KEYCLOAK_START_TIMEOUT_MS, useKeycloak, type KeycloakHandle, type KeycloakUserName } from './harness/keycloak.ts';
import { Replica } from './harness/replicas.ts';
import { SessionWriteRecorder } from './harness/sessions.ts';
import { eventually, sleep } from './harness/wait.ts';
import { httpCall } from './keycloak/http.ts';

describe('REST API with real Keycloak tokens on two replicas', function () {
  this.timeout(300_000);
  const suffix = randomBytes(3).toString('hex');
  const idpName = `keycloak-api-${suffix}`;
  const cluster = `kc-api-${suffix}`;
  const adminGroup = `kc-admin-${suffix}`;
  const viewGroup = `kc-view-${suffix}`;
  let keycloak: KeycloakHandle;
  let kc: KubeConfig;
  let namespace: string;
  let replicas: Replica[] = [];
  let api: ApiClient;
  let recorder: SessionWriteRecorder | undefined;
  const custom = () => kc.makeApiClient(CustomObjectsApi);

  const call = async (replica: Replica, who: KeycloakUserName, method: string, path: string, body?: unknown): Promise<ApiAnswer> =>
    api.call(replica, method, path, await keycloak.accessToken(who), body);

  before(async function () {
    this.timeout(KEYCLOAK_START_TIMEOUT_MS);
    keycloak = await useKeycloak();
    const tc = testCluster();
    kc = tc.admin.kubeConfig;
    await installCrds(kc);
    namespace = await tc.createNamespace('kc-api');
    const idp = keycloak.identityProviderObject({ name: idpName, groupSync: false });
    await custom().createClusterCustomObject({ group: GROUP, version: VERSION, plural: plurals.IdentityProvider, body: idp });
    const escalation = (name: string, escalatedGroup: string, approvers: Record<string, string[]>) =>
      custom().createNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        plural: plurals.BreakglassEscalation,
        namespace,
        body: {
          apiVersion: API_VERSION,
          kind: 'BreakglassEscalation',
          metadata: { name },
          spec: { escalatedGroup, allowed: { clusters: ['kc-api-*'], groups: ['developers'] }, approvers, maxValidFor: '1h' },
        },
      });
    // alice is also an approver of the admin escalation by name: only the self-approval rule stops her.
    await escalation('admin', adminGroup, { groups: ['approvers'], users: ['alice@example.com'] });
    await escalation('view', viewGroup, { groups: ['approvers'] });
    replicas = await Replica.startMany(
      ['kc-a', 'kc-b'].map((name) => ({
        name: `${name}-${suffix}`,
        kubeconfigPath: tc.admin.kubeconfigPath,
        // The race below has alice request 20 times in a row, beyond the per-user request limit.
        env: { LEADER_ELECT_NAMESPACE: namespace, ENABLE_WEBHOOKS: 'false', ENABLE_CLEANUP: 'false', DISABLE_SESSION_RATE_LIMIT: 'true' },
      })),
    );
    api = await ApiClient.forReplica(replicas[0]!);
    for (const replica of replicas) {
      await eventually(`${replica.name} to offer both escalations to alice`, 60_000, async () => {
        const answer = await call(replica, 'alice', 'GET', `/api/breakglassEscalations?cluster=${cluster}`);
        // The cluster is shared with other suites (and, via E2E_KUBECONFIG, with anything else):
        // count only this suite's escalations.
        const items = (answer.body.items ?? []) as { metadata?: { namespace?: string } }[];
        return answer.status === 200 && items.filter((e) => e.metadata?.namespace === namespace).length === 2 ? true : undefined;
      });
    }
  });

  after(async () => {
    recorder?.stop();
    await Promise.all(replicas.map((r) => r.stop()));
    for (const name of [idpName, foreignIdpName]) {
      await custom()
        .deleteClusterCustomObject({ group: GROUP, version: VERSION, plural: plurals.IdentityProvider, name })
        .catch(() => undefined);
    }
    if (foreignRealmCreated) await realmAdmin('DELETE', `/${foreignRealm}`).catch(() => undefined);
  });

  // A realm of this suite's own on the same Keycloak, for tokens the replicas must refuse.
  const foreignRealm = `bg-foreign-${suffix}`;
  const foreignIdpName = `keycloak-foreign-${suffix}`;
  const foreignPassword = randomBytes(12).toString('hex');
  let foreignRealmCreated = false;
  const realmAdmin = async (method: string, path: string, body?: unknown) => {
    const res = await httpCall(`${keycloak.baseUrl}/admin/realms${path}`, {
      method,
      ca: keycloak.caPem,
      headers: { Authorization: `Bearer ${await keycloak.admin.token()}` },
      json: body,
      timeoutMs: 120_000,
    });
    if (res.status < 200 || res.status > 299) throw new Error(`${method} admin/realms${path}: HTTP ${res.status}: ${res.body.slice(0, 300)}`);
    return res;
  };
  const audienceMapper = (audience: string) => ({
    name: `audience-${audience}`,
    protocol: 'openid-connect',
    protocolMapper: 'oidc-audience-mapper',
    config: { 'included.custom.audience': audience, 'access.token.claim': 'true', 'id.token.claim': 'false' },
  });
  const foreignToken = async (clientId: 'short-lived' | 'other-audience'): Promise<string> => {
    const res = await httpCall(`${keycloak.baseUrl}/realms/${foreignRealm}/protocol/openid-connect/token`, {
      ca: keycloak.caPem,
      form: { grant_type: 'password', client_id: clientId, username: 'erin', password: foreignPassword, scope: 'openid' },
      timeoutMs: 120_000,
    });
    if (res.status !== 200) throw new Error(`password grant in ${foreignRealm} (${clientId}): HTTP ${res.status}: ${res.body.slice(0, 300)}`);
    return (JSON.parse(res.body) as { access_token: string }).access_token;
  };

  it('alice requests on A, bob approves on B; alice cannot approve herself; carol rejects another; dave is refused; a duplicate is 409', async () => {
    const [a, b] = replicas as [Replica, Replica];
    const created = await call(a, 'alice', 'POST', '/api/breakglassSessions', { cluster, group: adminGroup, reason: 'INC-9 outage' });
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    const name = created.body.metadata.name as string;
    expect(created.body.spec).to.include({ user: 'alice@example.com', identityProviderName: idpName, identityProviderIssuer: keycloak.issuer });

    const duplicate = await call(b, 'alice', 'POST', '/api/breakglassSessions', { cluster, group: adminGroup, reason: 'again' });
    expect([duplicate.status, duplicate.body.error, duplicate.body.session?.metadata?.name]).to.deep.equal([409, 'already requested', name]);

    const self = await call(b, 'alice', 'POST', `/api/breakglassSessions/${name}/approve`);
    expect(self.status).to.equal(403);
    expect(self.body.error).to.match(/Self-approval is not allowed/);

    const dave = await call(a, 'dave', 'POST', '/api/breakglassSessions', { cluster, group: adminGroup });
    expect([dave.status, dave.body.error]).to.deep.equal([403, 'user not authorized for requested group']);
    expect((await call(b, 'dave', 'POST', `/api/breakglassSessions/${name}/approve`)).status).to.equal(403);

    const approved = await call(b, 'bob', 'POST', `/api/breakglassSessions/${name}/approve`, { reason: 'approved' });
    expect(approved.status).to.equal(200);
    const stored = (await custom().getNamespacedCustomObject({ group: GROUP, version: VERSION, plural: plurals.BreakglassSession, namespace, name })) as BreakglassSession;
    expect(stored.status).to.include({ state: 'Approved', approver: 'bob@example.com' });
    expect(stored.status?.approvedAt).to.be.a('string');
    expect(Date.parse(stored.status?.expiresAt ?? '') - Date.parse(stored.status?.approvedAt ?? '')).to.equal(3600_000);

    const other = await call(a, 'alice', 'POST', '/api/breakglassSessions', { cluster, group: viewGroup, reason: 'look around' });
    expect(other.status).to.equal(201);
    const rejected = await call(b, 'carol', 'POST', `/api/breakglassSessions/${other.body.metadata.name}/reject`, { reason: 'not needed' });
    expect([rejected.status, rejected.body.status.state, rejected.body.status.approver]).to.deep.equal([200, 'Rejected', 'carol@example.com']);

    const events = await eventually('an Event per action', 20_000, async () => {
      const list = await kc.makeApiClient(CoreV1Api).listNamespacedEvent({ namespace });
      const reasons = list.items.map((e) => `${e.involvedObject.name}:${e.reason}`);
      return reasons.length >= 4 ? reasons : undefined;
    });
    expect(events).to.have.members([
      `${name}:SessionRequested`,
      `${name}:SessionApproved`,
      `${other.body.metadata.name}:SessionRequested`,
      `${other.body.metadata.name}:SessionRejected`,
    ]);
    // What bob sees on A: the session he approved, once A's cache has B's write (its own watch).
    const mine = await eventually('replica A to list the session bob approved', 20_000, async () => {
      const answer = await call(a, 'bob', 'GET', `/api/breakglassSessions?approvedByMe=true&cluster=${cluster}`);
      const names = (answer.body.items as BreakglassSession[]).map((s) => s.metadata?.name);
      return names.includes(name) ? names : undefined;
    });
    expect(mine).to.deep.equal([name]);
  });
  it("bob's approve racing alice's withdraw, 20 rounds on two replicas: exactly one wins, the other gets 409 or 400 naming the state, one transition each", async function () {
    this.timeout(300_000);
    const [a, b] = replicas as [Replica, Replica];
    recorder = new SessionWriteRecorder(kc, namespace);
    await recorder.start();
    const raceCluster = `${cluster}-race`;
    const names: string[] = [];
    const winners: string[] = [];
    for (let round = 0; round < 20; round++) {
      const [alice, bob] = [await keycloak.accessToken('alice'), await keycloak.accessToken('bob')];
      const created = await api.call(a, 'POST', '/api/breakglassSessions', alice, { cluster: raceCluster, group: viewGroup, reason: `race ${round}` });
      expect(created.status, JSON.stringify(created.body)).to.equal(201);
      const name = created.body.metadata.name as string;
      names.push(name);
      const [approve, withdraw] = await Promise.all([
        api.call(round % 2 === 0 ? a : b, 'POST', `/api/breakglassSessions/${name}/approve`, bob),
        api.call(round % 2 === 0 ? b : a, 'POST', `/api/breakglassSessions/${name}/withdraw`, alice),
      ]);
      const context = `round ${round}: ${JSON.stringify([approve.status, approve.body, withdraw.status, withdraw.body])}`;
      expect([approve.status, withdraw.status].filter((s) => s === 200), context).to.have.length(1);
      const loser = approve.status === 200 ? withdraw : approve;
      expect([400, 409], context).to.include(loser.status);
      if (loser.status === 400) expect(loser.body.error, context).to.match(/current state: (Approved|Withdrawn)/);
      winners.push(approve.status === 200 ? 'Approved' : 'Withdrawn');
      // An approved session blocks the next request as a duplicate: alice ends it.
      if (approve.status === 200) expect((await api.call(a, 'POST', `/api/breakglassSessions/${name}/drop`, alice)).status).to.equal(200);
    }
    const seen = recorder;
    await eventually('the watch to see every round', 30_000, () =>
      names.every((n) => seen.changes.some((c) => c.name === n && c.from === 'Pending')) ? true : undefined,
    );
    names.forEach((name, round) => {
      const fromPending = seen.changes.filter((c) => c.name === name && c.from === 'Pending');
      expect(fromPending.map((c) => c.to), `round ${round}`).to.deep.equal([winners[round]]);
    });
    console.log(`      winners: ${winners.filter((w) => w === 'Approved').length} approve, ${winners.filter((w) => w === 'Withdrawn').length} withdraw`);
  });

  it('answers 401, never 500, to Keycloak tokens that are expired, for another audience, from an unknown issuer, tampered, alg none or HS256 with the public key', async function () {
    // The expired case waits out a 1 s token lifetime plus the verifier's 30 s clock tolerance.
    this.timeout(240_000);
    const [a, b] = replicas as [Replica, Replica];
    await realmAdmin('POST', '', {
      realm: foreignRealm,
      enabled: true,
      users: [
        {
          username: 'erin',
          email: 'erin@example.com',
          emailVerified: true,
          firstName: 'Erin',
          lastName: 'Elsewhere',
          enabled: true,
          credentials: [{ type: 'password', value: foreignPassword, temporary: false }],
        },
      ],
      clients: [
        // Tokens for the replicas' audience that live one second.
        { clientId: 'short-lived', publicClient: true, directAccessGrantsEnabled: true, standardFlowEnabled: false, attributes: { 'access.token.lifespan': '1' }, protocolMappers: [audienceMapper(keycloak.audience)] },
        { clientId: 'other-audience', publicClient: true, directAccessGrantsEnabled: true, standardFlowEnabled: false, protocolMappers: [audienceMapper('someone-else')] },
      ],
    });
    foreignRealmCreated = true;
    const refusal = async (replica: Replica, token: string) => {
      const answer = await api.call(replica, 'GET', '/api/breakglassSessions?mine=true', token);
      return [answer.status, answer.body.code, answer.body.error];
    };

    // A real Keycloak token of an issuer no IdentityProvider names.
    const early = await foreignToken('short-lived');
    const foreignIssuer = decodeJwt(early).iss as string;
    expect(foreignIssuer).to.match(new RegExp(`/realms/${foreignRealm}$`));
    expect(await refusal(a, early)).to.deep.equal([401, 'UNAUTHORIZED', 'token issuer is not configured for this service']);

    // The replicas come to trust that realm; its fresh tokens pass on both.
    const idp = keycloak.identityProviderObject({ name: foreignIdpName, groupSync: false });
    idp.spec = { ...idp.spec, issuer: foreignIssuer, oidc: { ...idp.spec.oidc, authority: foreignIssuer } };
    await custom().createClusterCustomObject({ group: GROUP, version: VERSION, plural: plurals.IdentityProvider, body: idp });
    for (const replica of replicas) {
      await eventually(`${replica.name} to trust ${foreignRealm}`, 60_000, async () => {
        const answer = await api.call(replica, 'GET', '/api/breakglassSessions?mine=true', await foreignToken('short-lived'));
        return answer.status === 200 ? true : undefined;
      });
    }
    // Trusted issuer, but not for the replicas' audience.
    const otherAudience = await foreignToken('other-audience');
    expect(decodeJwt(otherAudience).aud).to.not.include(keycloak.audience);
    expect(await refusal(b, otherAudience)).to.deep.equal([401, 'UNAUTHORIZED', 'token audience does not include the expected audience']);

    // alice's token altered: another payload under her signature, no signature, and HS256 keyed
    // with the realm's own RSA public key (the classic algorithm-confusion forgery).
    const good = await keycloak.accessToken('alice');
    const [header, payload, signature] = good.split('.') as [string, string, string];
    const claims = decodeJwt(good);
    const tampered = `${header}.${base64url.encode(JSON.stringify({ ...claims, groups: ['approvers'] }))}.${signature}`;
    const none = `${base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${payload}.`;
    const certs = await httpCall(`${keycloak.issuer}/protocol/openid-connect/certs`, { ca: keycloak.caPem, timeoutMs: 60_000 });
    const kid = (JSON.parse(Buffer.from(header, 'base64url').toString()) as { kid: string }).kid;
    const jwk = (JSON.parse(certs.body) as { keys: (JWK & { kid: string })[] }).keys.find((k) => k.kid === kid);
    expect(jwk, `the realm's key ${kid}`).to.not.equal(undefined);
    const pem = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' }) as string;
    const hs256 = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid }).sign(new TextEncoder().encode(pem));
    expect(await refusal(a, tampered)).to.deep.equal([401, 'UNAUTHORIZED', 'token signature is invalid']);
    expect(await refusal(b, none)).to.deep.equal([401, 'UNAUTHORIZED', 'token signing algorithm is not allowed']);
    expect(await refusal(a, hs256)).to.deep.equal([401, 'UNAUTHORIZED', 'token signing algorithm is not allowed']);
    expect((await api.call(a, 'GET', '/api/breakglassSessions?mine=true', good)).status, 'the unaltered token').to.equal(200);

    // The first token, now from a trusted issuer but past exp and the clock tolerance.
    const exp = decodeJwt(early).exp as number;
    await sleep(Math.max(0, (exp + 31) * 1000 - Date.now()));
    expect(await refusal(b, early)).to.deep.equal([401, 'UNAUTHORIZED', 'token expired']);
  });
});
