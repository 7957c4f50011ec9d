/**
 * The synthesized manifests are sufficient: the real controller process, holding nothing but a
 * TokenRequest token of the synthesized ServiceAccount (bound by the synthesized RBAC), does all
 * of its work: leads through its Lease, transitions a session, reads a kubeconfig Secret, records
 * Events, answers admission reviews with live lookups and syncs approver groups (Keycloak client
 * Secret, escalation and IdentityProvider status); and meets no authorization denial
 * on the way. e2e/infra.e2e.ts covers the other half: what the same identity must not do.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AuthenticationV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
} from '@kubernetes/client-node';
import { expect } from 'chai';
import {
  API_VERSION,
  GROUP,
  VERSION,
  plurals,
  type BreakglassEscalation,
  type BreakglassSession,
  type ClusterConfig,
  type IdentityProvider,
} from '../crds/index.ts';
import { installCrds } from '../crds/install.ts';
import { ADMISSION_PATHS } from '../controller/admission/admission-app.ts';
import { sendRaw } from '../controller/admission/client.test-support.ts';
import { sampleEscalation, sampleIdentityProvider, sampleSession, type SampleObject } from '../controller/admission/samples.test-support.ts';
import { FakeKeycloak } from '../controller/escalations/fake-keycloak.test-support.ts';
import { CONFIGURATIONS, findOne, synthesize, type KubeObject } from '../infra/test/configurations.ts';
import { createCa, createServingCert } from './controlplane/certs.ts';
import { freePort } from './controlplane/controlplane.ts';
import { testCluster } from './harness/cluster.ts';
import { Replica, type LogLine } from './harness/replicas.ts';
import { applyIdentityAndRbac, serviceAccountKubeConfig } from './harness/serviceaccount.ts';
import { createSession, isoSeconds } from './harness/sessions.ts';

/** The parts of the synthesized Deployment the replica is started from. */
interface ControllerContainer {
  args?: string[];
  env?: Array<{ name: string; value?: string }>;
}

function controllerContainer(objects: readonly KubeObject[]): ControllerContainer {
  const deployment = findOne(objects, 'Deployment') as KubeObject & {
    spec: { template: { spec: { containers: Array<ControllerContainer & { name: string }> } } };
  };
  const container = deployment.spec.template.spec.containers.find((c) => c.name === 'controller');
  if (!container) throw new Error('the synthesized Deployment has no controller container');
  return container;
}

/** The container's literal env values; downward-API values (POD_NAME, POD_NAMESPACE) are set by the test. */
function literalEnv(container: ControllerContainer): Record<string, string> {
  const env: Record<string, string> = {};
  for (const { name, value } of container.env ?? []) if (value !== undefined) env[name] = value;
  return env;
}

async function eventually<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** An authorization denial as the API server and client-node report it. */
const DENIAL = /forbidden|HTTP(?:-Code:)? 403\b|"(?:code|statusCode)":403\b/i;

/** Namespaces an API server denial names ("... in the namespace \"x\""), however often escaped. */
function deniedNamespaces(text: string): string[] {
  return [...text.matchAll(/in the namespace\W+([a-z0-9](?:[-a-z0-9]*[a-z0-9])?)/g)].map((m) => m[1] as string);
}

/**
 * Log lines reporting an authorization denial that the install should have granted. A denial
 * that names only namespaces outside the install (objects other suites left behind, e.g. a
 * ClusterConfig whose Secret lives where this install may not read) is least privilege at work;
 * one in a granted namespace, or at cluster scope, is a missing permission.
 */
function permissionGaps(logs: readonly LogLine[], granted: ReadonlySet<string>): LogLine[] {
  return logs.filter((line) => {
    const text = JSON.stringify(line);
    if (!DENIAL.test(text)) return false;
    const named = deniedNamespaces(text);
    return named.length === 0 || named.some((ns) => granted.has(ns));
  });
}

interface ReviewAnswer {
  uid: string;
  allowed: boolean;
  status?: { code: number; reason: string; message: string; details?: { causes?: Array<{ field: string; message: string }> } };
}

describe('the controller process as its synthesized ServiceAccount', function () {
  this.timeout(180_000);
  const run = randomBytes(3).toString('hex');
  // A unique instance name: ClusterRole and ClusterRoleBinding are named after it.
  const instance = `bg-sa-${run}`;
  let admin: KubeConfig;
  let controller: KubeConfig;
  let namespace: string;
  let replica: Replica | undefined;
  let dir: string;
  let webhookPort: number;
  let caPem: string;
  let objects: KubeObject[];
  let keycloak: FakeKeycloak | undefined;

  before(async function () {
    this.timeout(180_000);
    const cluster = testCluster();
    admin = cluster.admin.kubeConfig;
    await installCrds(admin);
    namespace = await cluster.createNamespace('bg-sa');
    // Controller, Lease, Secret and Event namespace are all the fresh namespace (the defaults).
    ({ objects } = synthesize(CONFIGURATIONS['single-instance']({ name: instance, namespace })));
    await applyIdentityAndRbac(cluster, objects);
    const serviceAccount = findOne(objects, 'ServiceAccount');
    controller = await serviceAccountKubeConfig(admin, { name: serviceAccount.metadata.name, namespace });

    dir = await mkdtemp(join(tmpdir(), 'bg-sa-'));
    const kubeconfigPath = join(dir, 'kubeconfig');
    await writeFile(kubeconfigPath, controller.exportConfig(), { mode: 0o600 });
    const certDir = join(dir, 'serving-certs');
    await mkdir(certDir);
    const ca = await createCa(dir);
    await createServingCert(certDir, ca, 'tls', { ips: ['127.0.0.1'] });
    caPem = await readFile(ca.certFile, 'utf8');
    webhookPort = await freePort();
    // Stands in for Keycloak here, where the question is RBAC; e2e/group-sync.e2e.ts uses a real one.
    keycloak = new FakeKeycloak({
      certPem: await readFile(join(certDir, 'tls.crt'), 'utf8'),
      keyPem: await readFile(join(certDir, 'tls.key'), 'utf8'),
    });
    await keycloak.start();

    const container = controllerContainer(objects);
    replica = await Replica.start({
      name: `${instance}-0`,
      kubeconfigPath,
      env: {
        ...literalEnv(container),
        POD_NAMESPACE: namespace,
        CLEANUP_INTERVAL: '1s',
        CLUSTER_CONFIG_CHECK_INTERVAL: '2s',
        ESCALATION_STATUS_UPDATE_INTERVAL: '2s',
        LEADER_ELECT_LEASE_DURATION: '3s',
        LEADER_ELECT_RENEW_DEADLINE: '2s',
        LEADER_ELECT_RETRY_PERIOD: '500ms',
      },
      // The Deployment's own args first; the test's bind address and cert path win over them.
      args: [...(container.args ?? []), `--webhook-bind-address=127.0.0.1:${webhookPort}`, `--webhook-cert-path=${certDir}`],
    });
  });

  after(async () => {
    await replica?.stop();
    await keycloak?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  function running(): Replica {
    if (!replica) throw new Error('the replica did not start');
    return replica;
  }

  it('authenticates as the synthesized ServiceAccount, not as an administrator', async () => {
    const review = await controller.makeApiClient(AuthenticationV1Api).createSelfSubjectReview({ body: {} });
    expect(review.status?.userInfo?.username).to.equal(`system:serviceaccount:${namespace}:${instance}`);
    expect(review.status?.userInfo?.groups).to.not.include('system:masters');
  });

  it('acquires its Lease', async () => {
    const r = running();
    await r.waitForLog((l) => l.msg === 'is now the leader', 30_000);
    const [leaseNamespace, leaseName] = String(r.linesWith('controller started')[0]?.lease ?? '').split('/');
    expect(leaseNamespace).to.equal(namespace);
    const lease = await admin.makeApiClient(CoordinationV1Api).readNamespacedLease({ name: leaseName ?? '', namespace });
    expect(lease.spec?.holderIdentity).to.equal(r.identity);
    // The Lease the process uses is the one the synthesized Role grants by name.
    const role = findOne(objects, 'Role', `${instance}-leader-election`) as KubeObject & { rules: Array<{ resourceNames?: string[] }> };
    expect(role.rules.flatMap((rule) => rule.resourceNames ?? [])).to.include(leaseName);
    expect(r.identity).to.match(new RegExp(`^${instance}-0`));
  });

  it('transitions a real session: an Approved session past expiresAt becomes Expired', async () => {
    const r = running();
    const name = `sa-expired-${run}`;
    await createSession(admin, namespace, {
      name,
      state: 'Approved',
      status: { approvedAt: isoSeconds(Date.now() - 120_000), expiresAt: isoSeconds(Date.now() - 60_000) },
    });
    const line = await r.waitForLog((l) => l.msg === 'Session state transition' && l.session === `${namespace}/${name}`, 30_000);
    expect(line).to.include({ from: 'Approved', to: 'Expired' });
    const stored = (await admin.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace,
      plural: plurals.BreakglassSession,
      name,
    })) as BreakglassSession;
    expect(stored.status?.state).to.equal('Expired');
  });

  it('reads a kubeconfig Secret, writes Ready=True and records an Event for the ClusterConfig', async () => {
    const r = running();
    const name = `sa-cluster-${run}`;
    const secretName = `${name}-kubeconfig`;
    const core = admin.makeApiClient(CoreV1Api);
    const custom = admin.makeApiClient(CustomObjectsApi);
    // A kubeconfig for this very API server: the probe (GET /version) succeeds.
    await core.createNamespacedSecret({ namespace, body: { metadata: { name: secretName }, stringData: { kubeconfig: admin.exportConfig() } } });
    await custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace,
      plural: plurals.ClusterConfig,
      body: {
        apiVersion: API_VERSION,
        kind: 'ClusterConfig',
        metadata: { name },
        spec: { kubeconfigSecretRef: { name: secretName, namespace, key: 'kubeconfig' } },
      },
    });

    const ready = await eventually('the ClusterConfig to get a Ready condition', 30_000, async () => {
      const config = (await custom.getNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace,
        plural: plurals.ClusterConfig,
        name,
      })) as ClusterConfig;
      return config.status?.conditions?.find((c) => c.type === 'Ready');
    });
    expect(ready).to.include({ status: 'True', reason: 'KubeconfigValidated' });
    expect(r.logs.some((l) => l.msg === 'Checking cluster config' && l.cluster === name && l.namespace === namespace)).to.equal(true);

    const events = await eventually('an Event about the ClusterConfig', 15_000, async () => {
      const list = await core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${name}` });
      return list.items.length > 0 ? list.items : undefined;
    });
    expect(events.map((e) => `${e.type}:${e.reason}`)).to.deep.equal(['Normal:ClusterConfigValidationSucceeded']);
    expect(events[0]?.involvedObject).to.include({ kind: 'ClusterConfig', namespace, name });
    expect(events[0]?.reportingInstance).to.equal(r.identity);
  });

  /**
   * Posts an AdmissionReview for `object` to the replica's webhook server, as the API server
   * would. A denial because a lookup got HTTP 429 (the API server's cache for a just-installed
   * CRD still initializing) is transient, not a permission question, so the review is repeated.
   */
  async function review(kind: keyof typeof ADMISSION_PATHS, object: SampleObject): Promise<ReviewAnswer> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const answer = await reviewOnce(kind, object);
      if (answer.allowed || !/HTTP 429\b/.test(answer.status?.message ?? '') || Date.now() > deadline) return answer;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }

  async function reviewOnce(kind: keyof typeof ADMISSION_PATHS, object: SampleObject): Promise<ReviewAnswer> {
    const uid = `uid-${randomBytes(4).toString('hex')}`;
    const body = JSON.stringify({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: {
        uid,
        kind: { group: GROUP, version: VERSION, kind },
        operation: 'CREATE',
        name: object.metadata.name,
        namespace: object.metadata.namespace,
        object,
      },
    });
    const response = await sendRaw({ port: webhookPort, path: ADMISSION_PATHS[kind], body, headers: { 'content-type': 'application/json' }, ca: caPem });
    expect(response.status, response.text).to.equal(200);
    const answer = (JSON.parse(response.text) as { response: ReviewAnswer }).response;
    expect(answer.uid).to.equal(uid);
    return answer;
  }

  it('denies an invalid BreakglassEscalation, naming the field', async () => {
    const invalid = sampleEscalation(`sa-invalid-${run}`, namespace);
    invalid.spec['approvers'] = {};
    const answer = await review('BreakglassEscalation', invalid);
    expect(answer.allowed).to.equal(false);
    expect(answer.status?.code).to.equal(422);
    expect(answer.status?.message).to.contain('spec.approvers');
    expect(answer.status?.details?.causes?.map((c) => c.field), answer.status?.message).to.deep.equal(['spec.approvers']);
  });

  it('allows a valid BreakglassEscalation (the cluster-wide name lookup is permitted)', async () => {
    const answer = await review('BreakglassEscalation', sampleEscalation(`sa-valid-${run}`, namespace));
    expect(answer.status?.message, 'a denial here is a lookup the RBAC does not allow').to.equal(undefined);
    expect(answer.allowed).to.equal(true);
  });

  it('allows a valid BreakglassSession naming an IdentityProvider (IdentityProvider and escalation lists are permitted)', async () => {
    const idp = sampleIdentityProvider(`sa-idp-${run}`);
    await admin.makeApiClient(CustomObjectsApi).createClusterCustomObject({ group: GROUP, version: VERSION, plural: plurals.IdentityProvider, body: idp });
    const session = sampleSession(`sa-session-${run}`, namespace);
    // A group no other suite's escalation grants, so no leftover escalation restricts the IDP.
    Object.assign(session.spec, { grantedGroup: `sa-group-${run}`, identityProviderName: idp.metadata.name });
    const answer = await review('BreakglassSession', session);
    expect(answer.status?.message, 'a denial here is a lookup the RBAC does not allow').to.equal(undefined);
    expect(answer.allowed).to.equal(true);

    // The lists really ran: a missing IdentityProvider is found missing, not "could not list".
    Object.assign(session.spec, { identityProviderName: `sa-missing-${run}` });
    const missing = await review('BreakglassSession', session);
    expect(missing.allowed).to.equal(false);
    expect(missing.status?.message).to.contain(`IdentityProvider "sa-missing-${run}" not found`);
  });

  it('syncs approver groups: reads the Keycloak client Secret, writes escalation and IdentityProvider status', async () => {
    const r = running();
    const kc = keycloak!;
    const group = `sa-approvers-${run}`;
    kc.addGroup(group, [{ username: 'bob', email: 'bob@example.com' }]);
    const core = admin.makeApiClient(CoreV1Api);
    const custom = admin.makeApiClient(CustomObjectsApi);
    const secretName = `sa-keycloak-${run}`;
    await core.createNamespacedSecret({ namespace, body: { metadata: { name: secretName }, stringData: { 'client-secret': kc.clientSecret } } });
    const idpName = `sa-kc-${run}`;
    await custom.createClusterCustomObject({
      group: GROUP,
      version: VERSION,
      plural: plurals.IdentityProvider,
      body: {
        apiVersion: API_VERSION,
        kind: 'IdentityProvider',
        metadata: { name: idpName },
        spec: {
          oidc: { authority: `${kc.url}/realms/${kc.realm}`, clientID: 'ui', expectedAudience: 'breakglass' },
          groupSyncProvider: 'Keycloak',
          keycloak: {
            baseURL: kc.url,
            realm: kc.realm,
            clientID: kc.clientID,
            clientSecretRef: { name: secretName, namespace, key: 'client-secret' },
            certificateAuthority: caPem,
          },
        },
      } satisfies IdentityProvider,
    });
    const escalationName = `sa-escalation-${run}`;
    await custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace,
      plural: plurals.BreakglassEscalation,
      body: {
        apiVersion: API_VERSION,
        kind: 'BreakglassEscalation',
        metadata: { name: escalationName },
        spec: {
          escalatedGroup: `sa-admin-${run}`,
          allowed: { clusters: ['*'], groups: ['developers'] },
          approvers: { groups: [group] },
          allowedIdentityProviders: [idpName],
        },
      } satisfies BreakglassEscalation,
    });
    const members = await eventually('the escalation status to list the approver group members', 30_000, async () => {
      const escalation = (await custom.getNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace,
        plural: plurals.BreakglassEscalation,
        name: escalationName,
      })) as BreakglassEscalation;
      return escalation.status?.approverGroupMembers;
    });
    expect(members).to.deep.equal({ [group]: ['bob@example.com'] });
    const healthy = await eventually('GroupSyncHealthy on the IdentityProvider', 15_000, async () => {
      const idp = (await custom.getClusterCustomObject({ group: GROUP, version: VERSION, plural: plurals.IdentityProvider, name: idpName })) as IdentityProvider;
      return idp.status?.conditions?.find((c) => c.type === 'GroupSyncHealthy');
    });
    expect(healthy).to.include({ status: 'True', reason: 'GroupSyncSucceeded' });
    expect(r.logs.some((l) => l.msg === 'Checking group membership')).to.equal(true);
    expect(JSON.stringify(r.logs)).to.not.include(kc.clientSecret);
    await custom.deleteClusterCustomObject({ group: GROUP, version: VERSION, plural: plurals.IdentityProvider, name: idpName });
  });

  it('met no authorization denial for anything the install grants', async () => {
    const r = running();
    // Several more loop passes (cleanup 1 s, checker 2 s) after all the work above.
    const from = r.linesWith('cluster config check finished').length;
    await eventually('two more checker passes', 30_000, async () =>
      r.linesWith('cluster config check finished').length >= from + 2 ? true : undefined,
    );
    expect(r.running, 'the replica is still running').to.equal(true);
    expect(r.linesWith('lost leader status'), 'leadership was kept').to.have.length(0);
    const gaps = permissionGaps(r.logs, new Set([namespace]));
    expect(gaps.map((l) => JSON.stringify(l)), 'log lines reporting a denied request').to.deep.equal([]);
  });
});
