/**
 * The authorization webhook with a real spoke (issue 9): a second etcd + kube-apiserver whose
 * AuthorizationConfiguration asks RBAC first and then the hub replica's
 * /api/breakglass/webhook/authorize/spoke (failurePolicy Deny, system: users skipped, no
 * caching), authenticated with the ClusterConfig's webhook token; the hub checks grants on the
 * spoke with a least-privilege ServiceAccount token from the ClusterConfig's kubeconfig Secret.
 * Real kubectl as alice against the spoke judges every decision.
 *
 * A second spoke (`spoke-mtls`) authenticates to the hub with a client certificate instead: its
 * webhook kubeconfig has client-certificate-data and points straight at the replica's TLS
 * listener (--sar-tls-*), the only place the certificate is visible.
 *
 * Users log in to the spoke with Keycloak access tokens (AuthenticationConfiguration: username
 * claim `email`, groups claim `groups` with prefix `oidc:`). alice requests and drops through the
 * REST API and bob approves there; sessions for the timing tests (expiry, idle, activity) are
 * seeded through the API server directly. The idle one is dave's, made first in the setup and
 * last used a minute before: the 65 s that recorded activity may lag pass while the setup and
 * the other tests run.
 */
import { expect } from 'chai';
import { CoreV1Api, CustomObjectsApi, KubeConfig, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { installCrds } from '../crds/install.ts';
import { API_VERSION, GROUP, VERSION, plurals, type BreakglassSession, type ClusterConfig, type WebhookAuthentication } from '../crds/index.ts';
import { startSilentServer, type SilentServer } from '../controller/kube/silent-server.ts';
import { kubeconfigYaml, type ControlPlane, type RunningIdentity } from './controlplane/controlplane.ts';
import { testCluster, writeKubeconfigWithServer, type KubectlResult } from './harness/cluster.ts';
import { requireLocalControlPlane } from './harness/local-only.ts';
import { KEYCLOAK_START_TIMEOUT_MS, useKeycloak, type KeycloakHandle } from './harness/keycloak.ts';
import { Replica } from './harness/replicas.ts';
import { newWebhookToken, startSpokeControlPlane, startTlsTerminator, type TlsTerminator } from './harness/spoke.ts';
import { isoSeconds, SessionWriteRecorder } from './harness/sessions.ts';
import { eventually, sleep } from './harness/wait.ts';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { createServer as createHttpsServer, request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONFIGURATIONS, findOne, synthesize } from '../infra/test/configurations.ts';
import { applyIdentityAndRbac, serviceAccountKubeConfig } from './harness/serviceaccount.ts';
import { createCa, createServingCert } from './controlplane/certs.ts';
import { createTestCa } from '../controller/admission/certificates.test-support.ts';
import { issueClientCertificate, type TestClientCertificate } from '../controller/authorization/client-certificates.test-support.ts';

const CLUSTER = 'spoke';
const FRONTEND = 'https://breakglass.example/';
const ESCALATED_GROUP = 'payments-admin';
const WEBHOOK_TOKEN = newWebhookToken();
/** The spoke that presents a client certificate, and the subject CN its ClusterConfig expects. */
const MTLS_CLUSTER = 'spoke-mtls';
const MTLS_CN = 'spoke-mtls-apiserver';

interface TlsAnswer {
  status: number;
  text: string;
}

/** POST over TLS with an optional client certificate (fetch cannot present one). */
function postTls(port: number, path: string, body: string, tls: { ca: string; cert?: string; key?: string; token?: string; requestId?: string }): Promise<TlsAnswer> {
  return new Promise((resolve, reject) => {
    const request = httpsRequest(
      {
        host: '127.0.0.1', port, path, method: 'POST', agent: false, ca: tls.ca,
        ...(tls.cert === undefined ? {} : { cert: tls.cert, key: tls.key }),
        headers: {
          'content-type': 'application/json',
          ...(tls.token === undefined ? {} : { authorization: `Bearer ${tls.token}` }),
          ...(tls.requestId === undefined ? {} : { 'x-request-id': tls.requestId }),
        },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk)).on('end', () => resolve({ status: response.statusCode ?? 0, text }));
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

/**
 * A TLS front of the hub API server that forwards everything (the caller's own bearer token
 * included) except BreakglassSession lists and watches, which it never answers: a replica behind
 * it syncs every cache but its session cache. Resolves with a kubeconfig for `hub`'s user that
 * points at the proxy (client-node refuses plain HTTP, so the proxy has its own CA).
 */
async function startSessionBlockingProxy(hub: KubeConfig, dir: string): Promise<{ kubeconfigPath: string; stop(): Promise<void> }> {
  const cluster = hub.getCurrentCluster();
  if (!cluster) throw new Error('the hub kubeconfig has no current cluster');
  const target = new URL(cluster.server);
  const ca = cluster.caData ? Buffer.from(cluster.caData, 'base64') : cluster.caFile ? await readFile(cluster.caFile) : undefined;
  const proxyCa = await createCa(dir, 'session-blocking-proxy-ca');
  const serving = await createServingCert(dir, proxyCa, 'session-blocking-proxy', { ips: ['127.0.0.1'] });
  const held = new Set<ServerResponse>();
  const server = createHttpsServer({ cert: await readFile(serving.certFile), key: await readFile(serving.keyFile) }, (req, res) => {
    if ((req.url ?? '').includes(`/${plurals.BreakglassSession}`)) {
      held.add(res);
      res.on('close', () => held.delete(res));
      return;
    }
    const upstream = httpsRequest(
      { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: { ...req.headers, host: target.host }, ca },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        res.flushHeaders(); // a watch sends headers long before its first event; the client waits for them
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const config = JSON.parse(hub.exportConfig()) as { clusters: { name: string; cluster: Record<string, unknown> }[] };
  for (const entry of config.clusters) {
    if (entry.name !== cluster.name) continue;
    entry.cluster.server = `https://127.0.0.1:${(server.address() as { port: number }).port}`;
    entry.cluster['certificate-authority-data'] = Buffer.from(await readFile(proxyCa.certFile)).toString('base64');
    delete entry.cluster['certificate-authority'];
  }
  const kubeconfigPath = join(dir, 'session-blocking.kubeconfig');
  await writeFile(kubeconfigPath, JSON.stringify(config), { mode: 0o600 }); // JSON is valid YAML
  return {
    kubeconfigPath,
    async stop() {
      for (const res of held) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * A spoke as every test needs it: namespaces, a harmless and a privileged pod (no kubelet: they
 * stay Pending; authorization comes first), RBAC for the escalated group, and the hub's
 * least-privilege identity, returned as the kubeconfig the ClusterConfig's Secret holds.
 */
async function prepareSpoke(plane: ControlPlane): Promise<{ admin: KubeConfig; hubIdentity: string }> {
  const adminIdentity = plane.identities.find((i) => i.name === 'admin') as RunningIdentity;
  const admin = new KubeConfig();
  admin.loadFromFile(adminIdentity.kubeconfigPath);
  const core = admin.makeApiClient(CoreV1Api);
  const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
  await core.createNamespace({ body: { metadata: { name: 'payments' } } });
  await core.createNamespace({ body: { metadata: { name: 'breakglass' } } });
  const container = (securityContext: Record<string, unknown>) => [{ name: 'c', image: 'registry.example/app:1', securityContext }];
  await core.createNamespacedPod({ namespace: 'payments', body: { metadata: { name: 'web' }, spec: { containers: container({ runAsUser: 1000 }) } } });
  await core.createNamespacedPod({
    namespace: 'payments',
    body: { metadata: { name: 'root-shell' }, spec: { hostPID: true, containers: container({ privileged: true }) } },
  });
  await rbac.createClusterRole({
    body: {
      metadata: { name: 'payments-admin' },
      rules: [
        { apiGroups: [''], resources: ['pods', 'secrets'], verbs: ['get', 'list'] },
        { apiGroups: [''], resources: ['pods/exec'], verbs: ['create', 'get'] },
      ],
    },
  });
  // Bound cluster-wide: the spoke's RBAC alone would let the group read kube-system secrets;
  // only the hub's DenyPolicy stops that.
  await rbac.createClusterRoleBinding({
    body: {
      metadata: { name: 'payments-admin' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'payments-admin' },
      subjects: [{ kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: ESCALATED_GROUP }],
    },
  });
  await core.createNamespacedServiceAccount({ namespace: 'breakglass', body: { metadata: { name: 'hub' } } });
  await rbac.createClusterRole({
    body: {
      metadata: { name: 'breakglass-hub' },
      rules: [
        { apiGroups: ['authorization.k8s.io'], resources: ['subjectaccessreviews'], verbs: ['create'] },
        { apiGroups: [''], resources: ['namespaces', 'pods'], verbs: ['get'] },
      ],
    },
  });
  await rbac.createClusterRoleBinding({
    body: {
      metadata: { name: 'breakglass-hub' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'breakglass-hub' },
      subjects: [{ kind: 'ServiceAccount', name: 'hub', namespace: 'breakglass' }],
    },
  });
  const tokenRequest = await core.createNamespacedServiceAccountToken({
    namespace: 'breakglass',
    name: 'hub',
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  return { admin, hubIdentity: kubeconfigYaml(plane.server, plane.caData, 'breakglass-hub', tokenRequest.status?.token ?? '') };
}


/** Deterministic PRNG (mulberry32), so that a failing body can be replayed from its index. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ATOMS: unknown[] = [null, true, 0, -1, 1.5, '', 'get', 'pods', 'exec', 'impersonate', 'system:masters', '*', '__proto__', 'x'.repeat(5000), [], {}, ['a'], [1]];
const KEYS = ['apiVersion', 'kind', 'spec', 'metadata', 'user', 'groups', 'uid', 'extra', 'resourceAttributes', 'nonResourceAttributes', 'verb', 'resource', 'subresource', 'name', 'namespace', 'group', 'path', '__proto__'];

function fuzzValue(next: () => number, depth: number): unknown {
  if (depth > 3 || next() < 0.4) return ATOMS[Math.floor(next() * ATOMS.length)];
  if (next() < 0.3) return Array.from({ length: Math.floor(next() * 4) }, () => fuzzValue(next, depth + 1));
  const out: Record<string, unknown> = {};
  for (let i = Math.floor(next() * 5); i > 0; i--) out[KEYS[Math.floor(next() * KEYS.length)] as string] = fuzzValue(next, depth + 1);
  return out;
}

/** A random body: a valid review with one field replaced, random JSON, or broken text. */
function fuzzBody(next: () => number, user: string): string {
  const roll = next();
  if (roll < 0.15) return JSON.stringify(fuzzValue(next, 0)).slice(0, Math.floor(next() * 200)); // truncated
  if (roll < 0.3) return JSON.stringify(fuzzValue(next, 0));
  const spec: Record<string, unknown> = {
    user,
    groups: ['oidc:developers', 'system:authenticated'],
    resourceAttributes: { verb: 'create', resource: 'pods', subresource: 'exec', name: 'web', namespace: 'payments', version: 'v1' },
  };
  const target = next() < 0.5 ? (spec.resourceAttributes as Record<string, unknown>) : spec;
  target[KEYS[Math.floor(next() * KEYS.length)] as string] = fuzzValue(next, 2);
  return JSON.stringify({ apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec });
}

function kubectl(binary: string, kubeconfig: string, args: string[]): Promise<KubectlResult> {
  return new Promise((resolve) => {
    execFile(binary, ['--kubeconfig', kubeconfig, ...args], { maxBuffer: 8 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ stdout, stderr, code: error ? (typeof error.code === 'number' ? error.code : 1) : 0 });
    });
  });
}

describe('authorization webhook with a real spoke API server', function () {
  this.timeout(300_000);
  let hub: KubeConfig;
  let hubNamespace: string;
  let replica: Replica;
  let spoke: ControlPlane;
  /** The spoke whose webhook kubeconfig presents a client certificate. */
  let mtlsSpoke: ControlPlane;
  /** The CA of the replica's TLS listener, and client certificates of the right CA, the right CA with another CN, and a foreign CA. */
  let sarTlsCa = '';
  let spokeCertificate: TestClientCertificate;
  let otherCnCertificate: TestClientCertificate;
  let foreignCertificate: TestClientCertificate;
  let keycloak: KeycloakHandle;
  /** alice as the spoke sees her: the e-mail claim. */
  let aliceUser: string;
  let aliceKubeconfig: string;
  let unsynced: Replica | undefined;
  let silent: SilentServer | undefined;
  let sessionless: Replica | undefined;
  let blockingProxy: Awaited<ReturnType<typeof startSessionBlockingProxy>> | undefined;
  /** The replicas' identity: the synthesized ServiceAccount. */
  let controllerKubeConfig: KubeConfig;
  let custom: CustomObjectsApi;
  let ingress: TlsTerminator | undefined;
  let workDir: string | undefined;
  let hubKubeconfig: string;
  const policyNames: string[] = [];
  let idpName = '';

  /** kubectl on a spoke with a fresh Keycloak access token of `who` (tokens live 300 s). */
  const asUserOn = async (plane: ControlPlane, who: 'alice' | 'dave', args: string[]) => {
    const token = await keycloak.accessToken(who);
    const path = plane === spoke && who === 'alice' ? aliceKubeconfig : join(plane.workDir, `${who}-jwt.kubeconfig`);
    await writeFile(path, kubeconfigYaml(plane.server, plane.caData, who, token), { mode: 0o600 });
    return kubectl(plane.binaries.kubectl, path, args);
  };
  const asAliceOn = (plane: ControlPlane, args: string[]) => asUserOn(plane, 'alice', args);
  const asAlice = (args: string[]) => asAliceOn(spoke, args);
  /** A SubjectAccessReview body: alice (with her Keycloak groups) getting pods in payments. */
  const alicePodsReview = () =>
    JSON.stringify({
      apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview',
      spec: { user: aliceUser, groups: ['oidc:developers', 'system:authenticated'], resourceAttributes: { verb: 'get', resource: 'pods', version: 'v1', namespace: 'payments' } },
    });
  /** Until the replica's /readyz says its caches synced (before that it answers 500, fail-closed). */
  const untilReady = (r: Replica, what: string) =>
    eventually(what, 60_000, async () => {
      const response = await fetch(`http://127.0.0.1:${r.ports.probes}/readyz`).catch(() => undefined);
      return response?.status === 200 ? true : undefined;
    });
  /**
   * dave's idle session (1 m idle timeout, last used a minute before), made first thing in the
   * setup: the wait for its expiry (the 65 s recorded activity may lag) runs alongside the setup
   * and the other tests, on a user none of them uses. The test at the end awaits it. (The
   * activity test covers activity recorded through the webhook.)
   */
  let idleSession: { name: string; lastActivity: string } | undefined;

  before(async function () {
    this.timeout(KEYCLOAK_START_TIMEOUT_MS);
    requireLocalControlPlane(this, 'starts a second control plane from the cached binaries');
    keycloak = await useKeycloak();
    aliceUser = keycloak.users.alice.email;
    hub = testCluster().admin.kubeConfig;
    await installCrds(hub);
    custom = hub.makeApiClient(CustomObjectsApi);
    hubNamespace = await testCluster().createNamespace('webhook');
    idleSession = await seedIdleSession();
    // The replicas hold nothing but a token of the synthesized ServiceAccount, so the
    // synthesized RBAC is proven sufficient (DenyPolicy watch, Secrets in its namespace,
    // session status writes for activity).
    const instance = `bg-wh-${randomBytes(3).toString('hex')}`;
    const { objects } = synthesize(CONFIGURATIONS['single-instance']({ name: instance, namespace: hubNamespace }));
    await applyIdentityAndRbac(testCluster(), objects);
    const serviceAccount = findOne(objects, 'ServiceAccount');
    const asController = await serviceAccountKubeConfig(hub, { name: serviceAccount.metadata.name, namespace: hubNamespace });
    workDir = await mkdtemp(join(tmpdir(), 'bg-wh-'));
    hubKubeconfig = join(workDir, 'kubeconfig');
    await writeFile(hubKubeconfig, asController.exportConfig(), { mode: 0o600 });
    controllerKubeConfig = asController;
    // The replica's own TLS listener for spokes with client certificates, and those certificates.
    const listenerCa = await createCa(workDir, 'sar-tls-ca');
    const listenerCert = await createServingCert(workDir, listenerCa, 'sar-tls', { ips: ['127.0.0.1'] });
    sarTlsCa = await readFile(listenerCa.certFile, 'utf8');
    const clientCa = await createTestCa(workDir, 'spoke-webhook-ca');
    const foreignCa = await createTestCa(workDir, 'spoke-webhook-ca'); // same name, other key
    spokeCertificate = await issueClientCertificate(workDir, clientCa, { commonName: MTLS_CN });
    otherCnCertificate = await issueClientCertificate(workDir, clientCa, { commonName: 'someone-else' });
    foreignCertificate = await issueClientCertificate(workDir, foreignCa, { commonName: MTLS_CN });

    // The hub replica first: the spoke's webhook kubeconfig needs its port.
    replica = await Replica.start({
      name: 'webhook-a',
      kubeconfigPath: hubKubeconfig,
      args: [
        '--enable-webhooks=false', '--enable-leader-election=false', `--frontend-base-url=${FRONTEND}`,
        '--sar-grant-cache-ttl=1s', '--cleanup-interval=2s', '--oidc-prefixes=oidc:',
        '--sar-tls-bind-address=127.0.0.1:0', `--sar-tls-cert-file=${listenerCert.certFile}`, `--sar-tls-key-file=${listenerCert.keyFile}`,
      ],
    });
    ingress = await startTlsTerminator([replica.ports.api]);
    const webhookUrl = `https://127.0.0.1:${ingress.port}/api/breakglass/webhook/authorize/${CLUSTER}`;

    const mtlsUrl = `https://127.0.0.1:${replica.ports['sar-tls']}/api/breakglass/webhook/authorize/${MTLS_CLUSTER}`;
    [spoke, mtlsSpoke] = await Promise.all([
      startSpokeControlPlane({ keycloak, webhookUrl, webhookCaPem: ingress.caPem, webhookToken: WEBHOOK_TOKEN }),
      startSpokeControlPlane({
        keycloak, webhookUrl: mtlsUrl, webhookCaPem: sarTlsCa,
        webhookClientCertificate: { certPem: spokeCertificate.certPem, keyPem: spokeCertificate.keyPem },
      }),
    ]);
    aliceKubeconfig = join(spoke.workDir, 'alice-jwt.kubeconfig');
    // The API server fetches the issuer's keys after /readyz: wait for a token to work.
    const whoami = await eventually('alice authenticates on the spoke with her Keycloak token', 60_000, async () => {
      const result = await asAlice(['auth', 'whoami', '-o', 'json']);
      return result.code === 0 ? result.stdout : undefined;
    });
    expect(JSON.parse(whoami).status.userInfo).to.deep.include({ username: aliceUser });
    expect(JSON.parse(whoami).status.userInfo.groups).to.include('oidc:developers');
    const [prepared, mtlsPrepared] = await Promise.all([prepareSpoke(spoke), prepareSpoke(mtlsSpoke)]);
    const hubIdentity = prepared.hubIdentity;

    // The hub: Secrets, ClusterConfig, escalation, DenyPolicies.
    const hubCore = hub.makeApiClient(CoreV1Api);
    await hubCore.createNamespacedSecret({ namespace: hubNamespace, body: { metadata: { name: 'spoke-kubeconfig' }, stringData: { value: hubIdentity } } });
    await hubCore.createNamespacedSecret({ namespace: hubNamespace, body: { metadata: { name: 'spoke-webhook' }, stringData: { token: WEBHOOK_TOKEN } } });
    await custom.createNamespacedCustomObject({
      group: GROUP, version: VERSION, namespace: hubNamespace, plural: plurals.ClusterConfig,
      body: {
        apiVersion: API_VERSION, kind: 'ClusterConfig', metadata: { name: CLUSTER },
        spec: {
          kubeconfigSecretRef: { name: 'spoke-kubeconfig', namespace: hubNamespace },
          webhookAuthentication: { tokenSecretRef: { name: 'spoke-webhook', namespace: hubNamespace, key: 'token' } },
        },
      },
    });
    // The client-certificate spoke: its kubeconfig, its CA (public, but kept in a Secret like
    // cert-manager writes it) and a ClusterConfig that accepts only a certificate with its CN.
    await hubCore.createNamespacedSecret({ namespace: hubNamespace, body: { metadata: { name: 'spoke-mtls-kubeconfig' }, stringData: { value: mtlsPrepared.hubIdentity } } });
    await hubCore.createNamespacedSecret({ namespace: hubNamespace, body: { metadata: { name: 'spoke-mtls-webhook-ca' }, stringData: { 'ca.crt': clientCa.certPem } } });
    await custom.createNamespacedCustomObject({
      group: GROUP, version: VERSION, namespace: hubNamespace, plural: plurals.ClusterConfig,
      body: {
        apiVersion: API_VERSION, kind: 'ClusterConfig', metadata: { name: MTLS_CLUSTER },
        spec: {
          kubeconfigSecretRef: { name: 'spoke-mtls-kubeconfig', namespace: hubNamespace },
          webhookAuthentication: { clientCertificate: { caSecretRef: { name: 'spoke-mtls-webhook-ca', namespace: hubNamespace, key: 'ca.crt' }, commonName: MTLS_CN } },
        },
      },
    });
    await custom.createNamespacedCustomObject({
      group: GROUP, version: VERSION, namespace: hubNamespace, plural: plurals.BreakglassEscalation,
      body: {
        apiVersion: API_VERSION, kind: 'BreakglassEscalation', metadata: { name: 'payments-oncall' },
        spec: { escalatedGroup: ESCALATED_GROUP, allowed: { clusters: [CLUSTER, MTLS_CLUSTER], groups: ['developers'] }, approvers: { groups: ['approvers'] }, maxValidFor: '1h' },
      },
    });
    const suffix = randomBytes(3).toString('hex');
    idpName = `keycloak-wh-${suffix}`;
    await custom.createClusterCustomObject({ group: GROUP, version: VERSION, plural: plurals.IdentityProvider, body: keycloak.identityProviderObject({ name: idpName, groupSync: false }) });
    for (const [name, spec] of [
      [`wh-secrets-${suffix}`, { appliesTo: { clusters: [CLUSTER] }, rules: [{ verbs: ['get', 'list'], apiGroups: [''], resources: ['secrets'], namespaces: { patterns: ['kube-system'] } }] }],
      [
        `wh-pods-${suffix}`,
        {
          appliesTo: { clusters: [CLUSTER] },
          podSecurityRules: {
            riskFactors: { hostPID: 40, privilegedContainer: 60 },
            thresholds: [{ maxScore: 50, action: 'allow' }, { maxScore: 1000, action: 'deny', reason: 'Pod {{.Namespace}}/{{.Pod}} is too risky: {{.Factors}}' }],
            blockFactors: ['privilegedContainer'],
            failMode: 'closed',
          },
        },
      ],
    ] as const) {
      policyNames.push(name);
      await custom.createClusterCustomObject({ group: GROUP, version: VERSION, plural: plurals.DenyPolicy, body: { apiVersion: API_VERSION, kind: 'DenyPolicy', metadata: { name }, spec } });
    }
    // The replica's caches see the new objects through their watches.
    await untilReady(replica, 'the replica is ready');
  });

  afterEach(function () {
    if (this.currentTest?.state !== 'failed' || replica === undefined) return;
    const interesting = replica.logs.filter((l) => ['warn', 'error'].includes(String(l.level)) || String(l.msg).startsWith('sar_'));
    console.log(interesting.slice(-10).map((l) => JSON.stringify(l)).join('\n'));
  });

  after(async () => {
    await unsynced?.stop();
    await silent?.stop();
    await sessionless?.stop();
    await blockingProxy?.stop();
    await replica?.stop();
    await ingress?.stop();
    await spoke?.stop();
    await mtlsSpoke?.stop();
    if (workDir) await rm(workDir, { recursive: true, force: true });
    if (idpName) await custom?.deleteClusterCustomObject({ group: GROUP, version: VERSION, plural: plurals.IdentityProvider, name: idpName }).catch(() => {});
    for (const name of policyNames) await custom?.deleteClusterCustomObject({ group: GROUP, version: VERSION, plural: plurals.DenyPolicy, name }).catch(() => {});
  });

  /** The REST API of replica A with a fresh Keycloak token of `who`. */
  async function api(who: 'alice' | 'bob', method: string, path: string, body?: unknown): Promise<{ status: number; body: { metadata?: { name?: string }; error?: string } }> {
    const response = await fetch(`http://127.0.0.1:${replica.ports.api}${path}`, {
      method,
      headers: { authorization: `Bearer ${await keycloak.accessToken(who)}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as { metadata?: { name?: string }; error?: string } };
  }

  async function approveSession(name: string, expiresInMs = 3_600_000, spec: Record<string, string> = {}, status: Record<string, string> = {}): Promise<BreakglassSession> {
    const created = (await custom.createNamespacedCustomObject({
      group: GROUP, version: VERSION, namespace: hubNamespace, plural: plurals.BreakglassSession,
      body: { apiVersion: API_VERSION, kind: 'BreakglassSession', metadata: { name }, spec: { cluster: CLUSTER, user: aliceUser, grantedGroup: ESCALATED_GROUP, ...spec } },
    })) as BreakglassSession;
    return (await custom.replaceNamespacedCustomObjectStatus({
      group: GROUP, version: VERSION, namespace: hubNamespace, plural: plurals.BreakglassSession, name,
      body: { ...created, status: { state: 'Approved', approvedAt: isoSeconds(Date.now() - 1000), expiresAt: isoSeconds(Date.now() + expiresInMs), approvers: ['bob@example.com'], ...status } },
    })) as BreakglassSession;
  }

  const readSession = async (name: string) =>
    (await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: hubNamespace, plural: plurals.BreakglassSession, name })) as BreakglassSession;

  /**
   * dave's session with a 1 m idle timeout, approved and last used a minute ago: idle by its
   * timeout already, so only the recording lag (65 s) keeps it from ending before the test.
   */
  async function seedIdleSession(): Promise<{ name: string; lastActivity: string }> {
    const name = `dave-idle-${randomBytes(2).toString('hex')}`;
    const lastActivity = isoSeconds(Date.now() - 60_000);
    await approveSession(name, 3_600_000, { idleTimeout: '1m', user: keycloak.users.dave.email }, { approvedAt: isoSeconds(Date.now() - 61_000), lastActivity });
    return { name, lastActivity };
  }

  it('without a session: forbidden, naming the escalation that would allow it and its link', async () => {
    const result = await asAlice(['get', 'pods', '-n', 'payments']);
    expect(result.code).to.not.equal(0);
    expect(result.stderr).to.contain('forbidden');
    expect(result.stderr).to.contain('"payments-oncall"');
    expect(result.stderr).to.contain(`https://breakglass.example?search=${CLUSTER}&group=${ESCALATED_GROUP}`);
  });

  it('alice requests through the REST API, bob approves: allowed within seconds; a DenyPolicy still forbids kube-system secrets; exec judged by pod security; after the drop forbidden again', async () => {
    const requested = await eventually('alice requests the escalation through the API', 30_000, async () => {
      const answer = await api('alice', 'POST', '/api/breakglassSessions', { cluster: CLUSTER, group: ESCALATED_GROUP, reason: 'INC-42 payments down' });
      return answer.status === 201 ? answer : undefined;
    });
    const name = requested.body.metadata?.name ?? '';
    const approved = await api('bob', 'POST', `/api/breakglassSessions/${name}/approve`, { reason: 'go ahead' });
    expect(approved.status, JSON.stringify(approved.body)).to.equal(200);
    const allowed = await eventually('kubectl get pods succeeds', 20_000, async () => {
      const result = await asAlice(['get', 'pods', '-n', 'payments', '-o', 'name']);
      return result.code === 0 ? result : undefined;
    });
    expect(allowed.stdout).to.contain('pod/web');

    const secrets = await asAlice(['get', 'secrets', '-n', 'kube-system']);
    expect(secrets.code).to.not.equal(0);
    expect(secrets.stderr).to.contain('forbidden');
    expect(secrets.stderr).to.contain(policyNames[0]);

    const risky = await asAlice(['exec', '-n', 'payments', 'root-shell', '--', 'id']);
    expect(risky.code).to.not.equal(0);
    expect(risky.stderr).to.match(/cannot create resource "pods\/exec"/);
    expect(risky.stderr).to.contain(policyNames[1]);
    // The harmless pod: the decision itself, through the same authorizer chain (RBAC, then our
    // webhook) with the pod's name and the exec subresource, as a SelfSubjectAccessReview...
    const canExec = await asAlice(['auth', 'can-i', 'create', 'pods/web', '--subresource=exec', '-n', 'payments']);
    expect(canExec.stdout.trim(), canExec.stderr).to.equal('yes');
    expect(canExec.code).to.equal(0);
    const canExecRisky = await asAlice(['auth', 'can-i', 'create', 'pods/root-shell', '--subresource=exec', '-n', 'payments']);
    // kubectl prints the webhook's reason after "no".
    expect(canExecRisky.stdout, 'the same check says no for the privileged pod').to.match(/^no\b/);
    expect(canExecRisky.stdout).to.contain(policyNames[1]);
    // ...and the real exec: the API server authorizes pods/exec before its handler looks for the
    // pod's node, so "no host assigned" (no kubelet here) is only reachable once allowed.
    const harmless = await asAlice(['exec', '-n', 'payments', 'web', '--', 'id']);
    expect(harmless.code).to.not.equal(0);
    expect(harmless.stderr).to.not.match(/forbidden|cannot create resource/i);
    expect(harmless.stderr).to.contain('does not have a host assigned');

    const dropped = await api('alice', 'POST', `/api/breakglassSessions/${name}/drop`);
    expect(dropped.status, JSON.stringify(dropped.body)).to.equal(200);
    await eventually('kubectl get pods is forbidden again', 20_000, async () => {
      const result = await asAlice(['get', 'pods', '-n', 'payments']);
      return result.code !== 0 && result.stderr.includes('forbidden') ? true : undefined;
    });
  });

  it('an expiring session stops granting on its own', async () => {
    await approveSession(`alice-short-${randomBytes(2).toString('hex')}`, 8_000);
    await eventually('allowed while the session runs', 10_000, async () => ((await asAlice(['get', 'pods', '-n', 'payments'])).code === 0 ? true : undefined));
    await sleep(8_000);
    await eventually('forbidden after expiresAt', 15_000, async () => {
      const result = await asAlice(['get', 'pods', '-n', 'payments']);
      return result.code !== 0 && result.stderr.includes('forbidden') ? true : undefined;
    });
  });

  it('refuses an unauthenticated or wrongly authenticated SAR caller with 401', async () => {
    const body = alicePodsReview();
    const url = `http://127.0.0.1:${replica.ports.api}/api/breakglass/webhook/authorize/${CLUSTER}`;
    for (const headers of [{}, { authorization: 'Bearer not-the-token' }] as Record<string, string>[]) {
      const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
      expect(response.status).to.equal(401);
      expect(await response.text()).to.not.contain('allowed');
    }
    const ok = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${WEBHOOK_TOKEN}` }, body });
    expect(ok.status).to.equal(200);
  });

  it('rate limit: past its budget a ClusterConfig gets 429 with Retry-After; refused callers get 401 and spend none of it', async () => {
    const limited = await Replica.start({
      name: 'webhook-limited',
      kubeconfigPath: hubKubeconfig,
      // One token in 1,000 s: nothing refills while the test runs.
      args: ['--enable-webhooks=false', '--enable-leader-election=false', '--enable-cleanup=false', '--sar-rate-limit-per-cluster=0.001/s,3'],
    });
    try {
      await untilReady(limited, 'the rate-limited replica is ready');
      const body = alicePodsReview();
      const ask = async (token: string) => {
        const response = await fetch(`http://127.0.0.1:${limited.ports.api}/api/breakglass/webhook/authorize/${CLUSTER}`, {
          method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body,
        });
        return { status: response.status, retryAfter: response.headers.get('retry-after'), text: await response.text() };
      };
      const refused = [];
      for (let i = 0; i < 5; i++) refused.push((await ask('not-the-token')).status);
      expect(refused, 'wrong token: 401 each time, which a spoke API server does not retry').to.deep.equal([401, 401, 401, 401, 401]);
      const spoke = [];
      for (let i = 0; i < 4; i++) spoke.push(await ask(WEBHOOK_TOKEN));
      expect(spoke.map((r) => r.status), 'the spoke: its whole budget, then 429').to.deep.equal([200, 200, 200, 429]);
      expect((JSON.parse(spoke[0]?.text ?? '{}') as { status?: { allowed?: unknown } }).status?.allowed, 'a decision').to.be.a('boolean');
      // 1,000 s until the next token, less the seconds since the first request took one.
      expect(Number(spoke[3]?.retryAfter), 'seconds until the next token').to.be.within(990, 1000);
      expect(JSON.parse(spoke[3]?.text ?? '{}')).to.deep.include({ code: 'TOO_MANY_REQUESTS' });
      const metrics = await (await fetch(`http://127.0.0.1:${limited.ports.metrics}/metrics`)).text();
      expect(metrics).to.contain(`breakglass_webhook_sar_rate_limited_total{cluster="${CLUSTER}"} 1`);
      expect(metrics).to.contain(`breakglass_webhook_sar_refused_total{cluster="${CLUSTER}"} 5`);
      // Log lines travel through the replica's stdout pipe: they may arrive after the response.
      const warned = await limited.waitForLog((l) => l.msg === 'sar_rate_limited', 10_000);
      expect(warned).to.deep.include({ level: 'warn', cluster: CLUSTER });
    } finally {
      await limited.stop();
    }
  });

  it('client certificate: the TLS listener refuses no, a foreign or a wrongly named certificate with 401 and decides for the spoke\'s own', async () => {
    const port = replica.ports['sar-tls'] as number;
    const path = `/api/breakglass/webhook/authorize/${MTLS_CLUSTER}`;
    const body = alicePodsReview();
    const refusals: [string, Parameters<typeof postTls>[3], string][] = [
      ['no certificate', { ca: sarTlsCa }, 'a client certificate is required'],
      ['a bearer token instead', { ca: sarTlsCa, token: WEBHOOK_TOKEN }, 'a client certificate is required'],
      ['a certificate of another CA', { ca: sarTlsCa, cert: foreignCertificate.certPem, key: foreignCertificate.keyPem }, 'not issued by the CA this cluster trusts'],
      ['another CN of the right CA', { ca: sarTlsCa, cert: otherCnCertificate.certPem, key: otherCnCertificate.keyPem }, 'subject CN'],
    ];
    for (const [i, [what, tls, reason]] of refusals.entries()) {
      const requestId = `mtls-refusal-${i}-${Date.now()}`;
      const answer = await postTls(port, path, body, { ...tls, requestId });
      expect(answer.status, `${what}: ${answer.text}`).to.equal(401);
      // One body for every refusal; the reason is in the hub's log.
      expect((JSON.parse(answer.text) as { code: string }).code, what).to.equal('UNAUTHORIZED');
      expect(answer.text, what).to.not.contain('allowed');
      const logged = await replica.waitForLog((l) => l.msg === 'sar_unauthenticated' && l.requestId === requestId, 10_000);
      expect(String(logged.reason), what).to.contain(reason);
    }
    const decided = await postTls(port, path, body, { ca: sarTlsCa, cert: spokeCertificate.certPem, key: spokeCertificate.keyPem });
    expect(decided.status, decided.text).to.equal(200);
    const review = JSON.parse(decided.text) as { kind: string; status: { allowed: boolean; reason: string } };
    expect(review.kind).to.equal('SubjectAccessReview');
    expect(review.status.allowed, 'no session yet').to.equal(false);
    expect(review.status.reason).to.contain('"payments-oncall"');
    // The token-only cluster does not take a certificate for its token, on this listener either.
    const tokenCluster = await postTls(port, `/api/breakglass/webhook/authorize/${CLUSTER}`, body, { ca: sarTlsCa, cert: spokeCertificate.certPem, key: spokeCertificate.keyPem });
    expect(tokenCluster.status).to.equal(401);
  });

  it('client certificate: a real spoke whose webhook kubeconfig has client-certificate-data gets decisions (denied, then allowed through a session), none once the hub stops accepting its certificate', async () => {
    const denied = await asAliceOn(mtlsSpoke, ['get', 'pods', '-n', 'payments']);
    expect(denied.code).to.not.equal(0);
    expect(denied.stderr).to.contain('forbidden');
    // A decision (not a refused caller): the reason names the escalation and links to it.
    expect(denied.stderr).to.contain('"payments-oncall"');
    expect(denied.stderr).to.contain(`https://breakglass.example?search=${MTLS_CLUSTER}&group=${ESCALATED_GROUP}`);
    const name = `alice-mtls-${randomBytes(2).toString('hex')}`;
    await approveSession(name, 3_600_000, { cluster: MTLS_CLUSTER });
    const allowed = await eventually('kubectl get pods succeeds on the client-certificate spoke', 20_000, async () => {
      const result = await asAliceOn(mtlsSpoke, ['get', 'pods', '-n', 'payments', '-o', 'name']);
      return result.code === 0 ? result : undefined;
    });
    expect(allowed.stdout).to.contain('pod/web');

    // The same real spoke with a certificate the hub no longer accepts (the ClusterConfig now
    // expects another CN): 401, no decision, so even the active session grants nothing; the
    // spoke's failurePolicy Deny refuses. Back to the spoke's CN: decisions again.
    const setCommonName = async (commonName: string) => {
      const current = (await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: hubNamespace, plural: plurals.ClusterConfig, name: MTLS_CLUSTER })) as ClusterConfig;
      const auth = current.spec.webhookAuthentication as WebhookAuthentication;
      const body = { ...current, spec: { ...current.spec, webhookAuthentication: { ...auth, clientCertificate: { ...auth.clientCertificate!, commonName } } } };
      await custom.replaceNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: hubNamespace, plural: plurals.ClusterConfig, name: MTLS_CLUSTER, body });
    };
    const refusedCn = () =>
      replica.logs.filter((l) => l.msg === 'sar_unauthenticated' && l.cluster === MTLS_CLUSTER && String(l.reason).includes('subject CN') && l.clientCertificate === true).length;
    const refusedBefore = refusedCn();
    await setCommonName('another-apiserver');
    const refused = await eventually('the spoke is refused once its certificate no longer fits', 20_000, async () => {
      const result = await asAliceOn(mtlsSpoke, ['get', 'pods', '-n', 'payments', '-o', 'name']);
      return result.code !== 0 ? result : undefined;
    });
    expect(refused.stdout).to.not.contain('pod/web');
    expect(refused.stderr, 'no decision reached the user').to.not.contain('payments-oncall');
    // Log lines come through the replica's stdout pipe, possibly after kubectl's answer.
    await eventually('the hub refused the real spoke\'s certificate (401)', 10_000, async () => (refusedCn() > refusedBefore ? true : undefined));
    await setCommonName(MTLS_CN);
    await eventually('decisions again with the expected CN', 20_000, async () => ((await asAliceOn(mtlsSpoke, ['get', 'pods', '-n', 'payments'])).code === 0 ? true : undefined));

    // The session is for spoke-mtls only: the token spoke still says no.
    const other = await asAlice(['get', 'pods', '-n', 'payments']);
    expect(other.code).to.not.equal(0);
    expect(other.stderr).to.contain('forbidden');
    await custom.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: hubNamespace, plural: plurals.BreakglassSession, name });
  });

  it('1,000 fuzzed or malformed SAR bodies get 400 or a decision, never a 5xx, and the replica lives on', async () => {
    const next = random(9);
    const url = `http://127.0.0.1:${replica.ports.api}/api/breakglass/webhook/authorize/${CLUSTER}`;
    const seen = new Map<number, number>();
    for (let batch = 0; batch < 50; batch++) {
      const bodies = Array.from({ length: 20 }, (_, i) => ({ index: batch * 20 + i, body: fuzzBody(next, aliceUser) }));
      await Promise.all(
        bodies.map(async ({ index, body }) => {
          const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${WEBHOOK_TOKEN}` }, body });
          const text = await response.text();
          seen.set(response.status, (seen.get(response.status) ?? 0) + 1);
          expect([200, 400], `body #${index}: ${body.slice(0, 200)} -> ${text.slice(0, 200)}`).to.include(response.status);
          if (response.status === 200) expect((JSON.parse(text) as { status: { allowed: unknown } }).status.allowed).to.be.a('boolean');
          else expect((JSON.parse(text) as { error: string }).error).to.be.a('string').and.not.equal('');
        }),
      );
    }
    expect(seen.get(200) ?? 0, 'some bodies are decided').to.be.greaterThan(0);
    expect(seen.get(400) ?? 0, 'some bodies are refused').to.be.greaterThan(0);
    expect(replica.running).to.equal(true);
    const ready = await fetch(`http://127.0.0.1:${replica.ports.probes}/readyz`);
    expect(ready.status).to.equal(200);
  });

  it('activity: 500 allowed decisions on two replicas cause at most 2 writes; killing one replica changes no decision of the other', async () => {
    const second = await Replica.start({
      name: 'webhook-b',
      kubeconfigPath: hubKubeconfig,
      args: ['--enable-webhooks=false', '--enable-leader-election=false'],
    });
    const recorder = new SessionWriteRecorder(hub, hubNamespace);
    try {
      // Until its caches synced the new replica answers 500 (fail-closed); /readyz says when.
      await untilReady(second, 'the second replica is ready');
      await recorder.start();
      const name = `alice-busy-${randomBytes(2).toString('hex')}`;
      await approveSession(name);
      const review = (resource: Record<string, string>, user = aliceUser) =>
        JSON.stringify({
          apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview',
          spec: { user, groups: ['oidc:developers', 'system:authenticated'], resourceAttributes: resource },
        });
      const ask = async (port: number, body: string): Promise<boolean> => {
        const response = await fetch(`http://127.0.0.1:${port}/api/breakglass/webhook/authorize/${CLUSTER}`, {
          method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${WEBHOOK_TOKEN}` }, body,
        });
        expect(response.status).to.equal(200);
        return ((await response.json()) as { status: { allowed: boolean } }).status.allowed;
      };
      const pods = review({ verb: 'get', resource: 'pods', version: 'v1', namespace: 'payments' });
      const secrets = review({ verb: 'get', resource: 'secrets', version: 'v1', namespace: 'kube-system' });
      const ports = [replica.ports.api, second.ports.api];
      await eventually('both replicas see the session', 20_000, async () => ((await Promise.all(ports.map((p) => ask(p, pods)))).every(Boolean) ? true : undefined));
      const before = recorder.rewrites.filter((c) => c.name === name).length;
      for (let round = 0; round < 25; round++) {
        const answers = await Promise.all(ports.flatMap((port) => Array.from({ length: 10 }, () => ask(port, pods))));
        expect(answers.every(Boolean), `round ${round}`).to.equal(true);
      }
      await sleep(3000); // writes in flight reach the watch
      const writes = recorder.rewrites.filter((c) => c.name === name).length;
      expect(writes, 'activity writes for 500 decisions (plus the warm-up)').to.be.at.most(2);
      expect(writes + before).to.be.at.least(1);
      const live = (await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: hubNamespace, plural: plurals.BreakglassSession, name })) as BreakglassSession;
      expect(live.status?.lastActivity, 'lastActivity written').to.be.a('string');
      expect(live.status?.activityCount ?? 0).to.be.at.least(1);

      // One replica dies; the other decides exactly as before, allowed and denied alike. (The
      // second one dies: the first serves the spoke and the idle test after this one.)
      const exec = (pod: string) => review({ verb: 'create', resource: 'pods', subresource: 'exec', name: pod, version: 'v1', namespace: 'payments' });
      const probes = [pods, secrets, exec('web'), exec('root-shell'), review({ verb: 'get', resource: 'pods', version: 'v1', namespace: 'payments' }, 'mallory@example.com')];
      const decide = () => Promise.all(probes.map((body) => ask(replica.ports.api, body)));
      const beforeKill = await decide();
      expect(beforeKill, 'pods, kube-system secrets, exec web, exec root-shell, another user').to.deep.equal([true, false, true, false, false]);
      second.signal('SIGKILL');
      await second.exited;
      expect(second.running).to.equal(false);
      expect(await decide(), 'the same decisions after the other replica died').to.deep.equal(beforeKill);
    } finally {
      recorder.stop();
      await second.stop();
    }
  });

  it('a replica whose caches never synced answers fail-closed (500, the spoke denies)', async () => {
    silent = await startSilentServer();
    const kubeconfigPath = await writeKubeconfigWithServer(hub, silent.url);
    unsynced = await Replica.start({ name: 'webhook-unsynced', kubeconfigPath, args: ['--enable-webhooks=false', '--enable-leader-election=false'] });
    const response = await fetch(`http://127.0.0.1:${unsynced.ports.api}/api/breakglass/webhook/authorize/${CLUSTER}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${WEBHOOK_TOKEN}` },
      body: JSON.stringify({ apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec: { user: aliceUser, resourceAttributes: { verb: 'get', resource: 'pods' } } }),
    });
    expect(response.status).to.equal(500);
    expect(await response.text()).to.equal('');
  });

  it('a replica whose session cache alone has not synced answers fail-closed while its other caches are ready', async () => {
    blockingProxy = await startSessionBlockingProxy(controllerKubeConfig, workDir as string);
    sessionless = await Replica.start({ name: 'webhook-no-sessions', kubeconfigPath: blockingProxy.kubeconfigPath, args: ['--enable-webhooks=false', '--enable-leader-election=false'] });
    const probes = `http://127.0.0.1:${sessionless.ports.probes}/readyz`;
    let lastReadyz = '';
    const notReady = await eventually('every cache but the sessions synced', 60_000, async () => {
      const response = await fetch(probes);
      lastReadyz = await response.text();
      const failing = lastReadyz.split('\n').filter((line) => line.startsWith('[-]'));
      return response.status === 503 && failing.length === 1 && /:sessions failed/.test(failing[0] as string) ? failing : undefined;
    }).catch((error: unknown) => {
      throw new Error(`${String(error)}; last /readyz: ${lastReadyz}`);
    });
    expect(notReady).to.have.length(1);
    const response = await fetch(`http://127.0.0.1:${sessionless.ports.api}/api/breakglass/webhook/authorize/${CLUSTER}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${WEBHOOK_TOKEN}` },
      body: alicePodsReview(),
    });
    // The caller was authenticated (the ClusterConfig cache and the token Secret work); the
    // decision needs the sessions, so no decision: an empty 500, which the spoke turns into a denial.
    expect(response.status).to.equal(500);
    expect(await response.text()).to.equal('');
    // The log line travels through the replica's stdout pipe: it may arrive after the response.
    const failed = await sessionless.waitForLog((l) => l.msg === 'sar_failed' && l.cluster === CLUSTER, 10_000);
    expect(String(failed.err)).to.equal('sessions cache has not synced');
  });

  it('an idle session expires with reason IdleTimeout once no activity was recorded for its idle timeout and the recording lag', async function () {
    this.timeout(180_000);
    if (idleSession === undefined) throw new Error('the idle session was not started');
    const { name, lastActivity } = idleSession;
    const ended = await eventually('the cleanup loop idle-expires the session', 120_000, async () => {
      const session = await readSession(name);
      return session.status?.state === 'IdleExpired' ? session : undefined;
    });
    const idle = ended.status?.conditions?.find((c) => c.type === 'Idle');
    expect(idle?.reason).to.equal('IdleTimeout');
    // Not before the idle timeout plus the 65 s recorded activity may lag (timestamps are whole seconds).
    expect(Date.parse(idle?.lastTransitionTime ?? '') - Date.parse(lastActivity), 'not before the idle timeout and the recording lag').to.be.at.least(124_000);
    // Denied by the webhook's decision (dave may request nothing), not by a failing webhook.
    await eventually('forbidden again, by the webhook', 20_000, async () => {
      const result = await asUserOn(spoke, 'dave', ['get', 'pods', '-n', 'payments']);
      return result.code !== 0 && result.stderr.includes('You may not request any breakglass escalation') ? true : undefined;
    });
  });
});
