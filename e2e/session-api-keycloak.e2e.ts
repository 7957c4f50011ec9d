/**
 * Acceptance of the request/approve journey against a real Keycloak: two real controller
 * replicas trust the realm through an IdentityProvider object; alice (developers), bob and carol
 * (approvers) and dave (no group) use Keycloak access tokens from the password grant.
 */
import { randomBytes } from 'node:crypto';
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { expect } from 'chai';
import { API_VERSION, GROUP, VERSION, plurals, type BreakglassSession } from '../crds/index.ts';
import { installCrds } from '../crds/install.ts';
import { ApiClient, type ApiAnswer } from './harness/api-client.ts';
import { testCluster } from './harness/cluster.ts';
import { KEYCLOAK_START_TIMEOUT_MS, useKeycloak, type KeycloakHandle, type KeycloakUserName } from './harness/keycloak.ts';
import { Replica } from './harness/replicas.ts';
import { eventually } from './harness/wait.ts';

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
        env: { LEADER_ELECT_NAMESPACE: namespace, ENABLE_WEBHOOKS: 'false', ENABLE_CLEANUP: 'false' },
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
    await Promise.all(replicas.map((r) => r.stop()));
    await custom()
      .deleteClusterCustomObject({ group: GROUP, version: VERSION, plural: plurals.IdentityProvider, name: idpName })
      .catch(() => undefined);
  });

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
    // What bob sees: the session he approved.
    const mine = await call(a, 'bob', 'GET', `/api/breakglassSessions?approvedByMe=true&cluster=${cluster}`);
    expect(mine.body.items.map((s: BreakglassSession) => s.metadata?.name)).to.deep.equal([name]);
  });
});
