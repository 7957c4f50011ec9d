/**
 * The validating admission webhooks through a real API server: our HTTPS server (serving cert
 * from a throwaway test CA, real validators, KubeObjectLookup with admin credentials) is
 * registered in a ValidatingWebhookConfiguration, and the API server sends it every create and
 * update of the test's objects (selected by a per-run label, so other suites never reach it).
 * Certificate reloading is covered by controller/admission/admission-server.test.ts.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AdmissionregistrationV1Api,
  ApiException,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type V1ValidatingWebhook,
} from '@kubernetes/client-node';
import { expect } from 'chai';
import { GROUP, VERSION, plurals } from '../crds/index.ts';
import { installCrds } from '../crds/install.ts';
import * as validation from '../crds/validation/index.ts';
import type { AdmissionKind } from '../crds/validation/index.ts';
import { ADMISSION_PATHS, createAdmissionApp } from '../controller/admission/admission-app.ts';
import { startAdmissionServer, type AdmissionServer } from '../controller/admission/admission-server.ts';
import { KubeObjectLookup } from '../controller/admission/kube-object-lookup.ts';
import { selfSubjectUsername } from '../controller/admission/own-identity.ts';
import { createTestCa, issueServingCertificate } from '../controller/admission/certificates.test-support.ts';
import {
  sampleClusterConfig,
  sampleDenyPolicy,
  sampleEscalation,
  sampleIdentityProvider,
  sampleSession,
  type SampleObject,
} from '../controller/admission/samples.test-support.ts';
import { silentLogger } from '../controller/observability/logger.ts';
import { ControllerMetrics } from '../controller/observability/metrics.ts';
import { testCluster } from './harness/cluster.ts';
import { deleteClusterScoped } from './harness/cluster-scoped.ts';

const NAMESPACED: ReadonlySet<AdmissionKind> = new Set(['BreakglassSession', 'BreakglassEscalation', 'ClusterConfig']);

/**
 * A URL webhook at the test process is only reachable when the API server runs here or
 * E2E_WEBHOOK_HOST names an address of this machine that the cluster can reach.
 */
const webhookReachable = !process.env['E2E_KUBECONFIG'] || Boolean(process.env['E2E_WEBHOOK_HOST']);

interface Refusal {
  title: string;
  /** The invalid object, or an update applied to a valid object created first. */
  object: SampleObject;
  update?: (object: SampleObject) => void;
  /** Created before the refused object (e.g. the same name in another namespace). */
  before?: SampleObject[];
  /** Substrings the API server's error message must contain; the first is the field. */
  expect: string[];
  /** Only our webhook knows this rule (the CRD schema does not), so the webhook must deny it. */
  webhookOnly?: boolean;
}

function errorStatus(err: unknown): { code: number; message: string } {
  if (!(err instanceof ApiException)) throw err;
  const body: unknown = err.body;
  let message = String(body);
  if (typeof body === 'string') {
    try {
      message = String((JSON.parse(body) as { message?: unknown }).message ?? body);
    } catch {
      // not JSON; keep the raw text
    }
  }
  return { code: err.code, message };
}

describe('validating admission webhooks', function () {
  this.timeout(120_000);
  const runId = randomBytes(3).toString('hex');
  const label = 'breakglass.t-caas.telekom.com/e2e-admission';
  const webhookConfigName = `breakglass-e2e-admission-${runId}`;
  let server: AdmissionServer | undefined;
  let certDir: string;
  let caPem: string;
  let objects: CustomObjectsApi;
  let webhooks: AdmissionregistrationV1Api;
  let nsA: string;
  let nsB: string;
  const metrics = new ControllerMetrics({ defaultMetrics: false });
  /** Who the webhook lets write status; the tests stand in for the controller's identity. */
  let statusWriters: readonly string[] | undefined;
  /** The test admin's user name, which the status webhooks skip, as they skip the controller's. */
  let adminUser: string;

  const labelled = (object: SampleObject): SampleObject => {
    object.metadata.labels = { ...object.metadata.labels, [label]: runId };
    return object;
  };
  const unique = (base: string): string => `${base}-${runId}-${randomBytes(2).toString('hex')}`;

  async function create(object: SampleObject): Promise<void> {
    const plural = plurals[object.kind];
    if (NAMESPACED.has(object.kind)) {
      await objects.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: object.metadata.namespace ?? '', plural, body: object });
    } else {
      await objects.createClusterCustomObject({ group: GROUP, version: VERSION, plural, body: object });
    }
  }

  async function replace(object: SampleObject): Promise<void> {
    const plural = plurals[object.kind];
    const name = object.metadata.name;
    const namespace = object.metadata.namespace;
    const current = (NAMESPACED.has(object.kind)
      ? await objects.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: namespace ?? '', plural, name })
      : await objects.getClusterCustomObject({ group: GROUP, version: VERSION, plural, name })) as { metadata: Record<string, unknown> };
    const body = { ...object, metadata: { ...current.metadata, ...object.metadata } };
    if (NAMESPACED.has(object.kind)) {
      await objects.replaceNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: namespace ?? '', plural, name, body });
    } else {
      await objects.replaceClusterCustomObject({ group: GROUP, version: VERSION, plural, name, body });
    }
  }

  /** Runs the write and returns the API server's refusal; fails when the write succeeds. */
  async function expectRefused(write: () => Promise<void>): Promise<{ code: number; message: string }> {
    try {
      await write();
    } catch (err) {
      return errorStatus(err);
    }
    return expect.fail('the API server accepted the object');
  }

  before(async () => {
    const cluster = testCluster();
    objects = cluster.admin.kubeConfig.makeApiClient(CustomObjectsApi);
    webhooks = cluster.admin.kubeConfig.makeApiClient(AdmissionregistrationV1Api);
    await installCrds(cluster.admin.kubeConfig);
    nsA = await cluster.createNamespace('adm-a');
    nsB = await cluster.createNamespace('adm-b');

    certDir = await mkdtemp(join(tmpdir(), 'admission-e2e-'));
    const ca = await createTestCa(certDir);
    caPem = ca.certPem;
    const host = cluster.webhookHost;
    const serving = await issueServingCertificate(certDir, ca, isIP(host) ? { ips: [host] } : { dnsNames: [host] });
    await writeFile(join(certDir, 'tls.crt'), serving.certPem);
    await writeFile(join(certDir, 'tls.key'), serving.keyPem);

    const app = createAdmissionApp({
      validator: validation,
      lookup: new KubeObjectLookup(cluster.admin.kubeConfig),
      logger: silentLogger(),
      metrics,
      statusWriters: () => statusWriters,
    });
    server = await startAdmissionServer({
      bindAddress: host === '127.0.0.1' ? '127.0.0.1:0' : ':0',
      certDir,
      certFile: 'tls.crt',
      keyFile: 'tls.key',
      listener: app.callback(),
      logger: silentLogger(),
    });
    if (!webhookReachable) return;

    const port = server.port;
    // As infra/webhook-configuration.ts renders them: status writes in webhooks of their own,
    // which the controller's user skips (here the test admin stands in for the controller).
    adminUser = (await selfSubjectUsername(cluster.admin.kubeConfig)) ?? '';
    const webhookList: V1ValidatingWebhook[] = (Object.keys(ADMISSION_PATHS) as AdmissionKind[]).flatMap((kind) => {
      const common = {
        clientConfig: { url: `https://${host}:${port}${ADMISSION_PATHS[kind]}`, caBundle: Buffer.from(caPem).toString('base64') },
        objectSelector: { matchLabels: { [label]: runId } },
        sideEffects: 'None',
        admissionReviewVersions: ['v1'],
        failurePolicy: 'Fail',
        timeoutSeconds: 5,
      };
      return [
        {
          name: `${plurals[kind]}.${runId}.validation.${GROUP}`,
          rules: [{ apiGroups: [GROUP], apiVersions: [VERSION], operations: ['CREATE', 'UPDATE'], resources: [plurals[kind]], scope: '*' }],
          ...common,
        },
        {
          name: `${plurals[kind]}-status.${runId}.validation.${GROUP}`,
          rules: [{ apiGroups: [GROUP], apiVersions: [VERSION], operations: ['UPDATE'], resources: [`${plurals[kind]}/status`], scope: '*' }],
          matchConditions: [{ name: 'not-the-controller', expression: `request.userInfo.username != ${JSON.stringify(adminUser)}` }],
          ...common,
        },
      ];
    });
    await webhooks.createValidatingWebhookConfiguration({
      body: { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', metadata: { name: webhookConfigName }, webhooks: webhookList },
    });

    // The API server picks the configuration up asynchronously: probe until the webhook answers.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const probe = labelled(sampleDenyPolicy(unique('probe')));
      (probe.spec['rules'] as Array<Record<string, unknown>>)[0]!['verbs'] = ['  '];
      try {
        await create(probe);
      } catch (err) {
        if (errorStatus(err).message.includes('denied the request')) break;
        throw err;
      }
      if (Date.now() > deadline) throw new Error('the API server did not call the admission webhook within 30 s');
      await new Promise((done) => setTimeout(done, 250));
    }
  });

  after(async () => {
    // failurePolicy Fail: a configuration left behind would block these kinds for later suites.
    if (webhookReachable && webhooks) {
      await webhooks.deleteValidatingWebhookConfiguration({ name: webhookConfigName }).catch((err: unknown) => {
        if (!(err instanceof ApiException && err.code === 404)) throw err;
      });
    }
    await server?.close();
    if (certDir) await rm(certDir, { recursive: true, force: true });
    await deleteClusterScoped(testCluster().admin.kubeConfig, (name) => name.includes(`-${runId}-`) || name.endsWith(`-${runId}`));
  });

  it('fails closed, naming the field, when the lookup may not read from the API server', async () => {
    // alice has no RBAC on the breakglass kinds: every list is refused with 403.
    const lookup = new KubeObjectLookup(testCluster().alice.kubeConfig);
    const outcome = await validation.validateAdmission(
      { kind: 'BreakglassEscalation', operation: 'CREATE', object: sampleEscalation(unique('forbidden'), nsA), namespace: nsA },
      lookup,
    );
    expect(outcome.errors).to.have.length(1);
    expect(outcome.errors[0]?.field).to.equal('metadata.name');
    expect(outcome.errors[0]?.message).to.match(
      /^could not check that the name is unique cluster-wide: could not list breakglassescalations\.breakglass\.t-caas\.telekom\.com from the API server: HTTP 403: /,
    );
  });

  if (!webhookReachable) {
    it('is registered with the API server only when E2E_WEBHOOK_HOST names an address the cluster can reach; here the lookup is checked directly', async () => {
      const lookup = new KubeObjectLookup(testCluster().admin.kubeConfig);
      const name = unique('lookup');
      await create(sampleEscalation(name, nsB));
      expect(await lookup.namespacesWithName('BreakglassEscalation', name)).to.deep.equal([nsB]);
    });
    return;
  }

  it('admits valid objects of all five kinds', async () => {
    const valid = [
      sampleIdentityProvider(unique('idp'), `https://idp-${runId}.example.com/realms/valid`),
      sampleDenyPolicy(unique('policy')),
      sampleClusterConfig(unique('cluster'), nsA),
      sampleEscalation(unique('escalation'), nsA),
      sampleSession(unique('session'), nsA),
    ];
    for (const object of valid) await create(labelled(object));
    const admitted = await metrics.admissionRequests.get();
    const allowedKinds = new Set(admitted.values.filter((v) => v.labels.allowed === 'true').map((v) => v.labels.kind));
    expect([...allowedKinds].sort()).to.deep.equal(['BreakglassEscalation', 'BreakglassSession', 'ClusterConfig', 'DenyPolicy', 'IdentityProvider']);
  });

  it('admits a metadata-only update of a session', async () => {
    const session = labelled(sampleSession(unique('forward'), nsA));
    await create(session);
    await objects.patchNamespacedCustomObject(
      { group: GROUP, version: VERSION, namespace: nsA, plural: plurals.BreakglassSession, name: session.metadata.name, body: { metadata: { annotations: { note: 'reviewed' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  });

  /** A merge patch through the API server, which sends the webhook an UPDATE. */
  async function mergePatch(object: SampleObject, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const plural = plurals[object.kind];
    const options = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
    const name = object.metadata.name;
    return (await (NAMESPACED.has(object.kind)
      ? objects.patchNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: object.metadata.namespace ?? '', plural, name, body }, options)
      : objects.patchClusterCustomObject({ group: GROUP, version: VERSION, plural, name, body }, options))) as Record<string, unknown>;
  }

  const addLabel = { metadata: { labels: { [label]: runId } } };

  // Objects created without the label never reached the webhook, like objects created before it
  // was installed; adding the label sends the webhook their first UPDATE.
  it('admits labelling objects that predate the webhook, even with a duplicate name or a since-tightened rule', async () => {
    const name = unique('predates');
    const sessionA = sampleSession(name, nsA);
    await create(sampleSession(name, nsB));
    await create(sessionA);
    const escalation = withSpec(sampleEscalation(unique('stale'), nsA), { idleTimeout: '10s' });
    await create(escalation);
    for (const object of [sessionA, escalation]) {
      const patched = await mergePatch(object, addLabel);
      expect((patched['metadata'] as { labels?: Record<string, string> }).labels?.[label], object.kind).to.equal(runId);
    }
  });

  it('still validates a spec change of an object that predates the webhook', async () => {
    const escalation = withSpec(sampleEscalation(unique('stale-edit'), nsA), { idleTimeout: '10s' });
    await create(escalation);
    const status = await expectRefused(async () => {
      await mergePatch(escalation, { ...addLabel, spec: { approvalTimeout: '1h' } });
    });
    expect(status.message).to.match(/admission webhook ".*\.validation\.breakglass\.t-caas\.telekom\.com" denied the request/);
    expect(status.message).to.contain('spec.idleTimeout').and.to.contain('at least 1m');
  });

  it('lets only the controller write a session status: a forged approval is refused, naming who may write it', async () => {
    const session = labelled(sampleSession(unique('status'), nsA));
    await create(session);
    expect(adminUser, 'the API server names the test admin').to.not.equal('');
    /** A merge patch of the status as `as` (impersonated by the admin, with all rights), or as the admin. */
    const approve = (as?: string) => {
      let options = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
      if (as !== undefined) options = setHeaderOptions('Impersonate-Group', 'system:masters', setHeaderOptions('Impersonate-User', as, options));
      return objects.patchNamespacedCustomObjectStatus(
        {
          group: GROUP,
          version: VERSION,
          namespace: nsA,
          plural: plurals.BreakglassSession,
          name: session.metadata.name,
          body: { status: { state: 'Approved', approvedAt: new Date().toISOString(), expiresAt: new Date(Date.now() + 3_600_000).toISOString() } },
        },
        options,
      ) as Promise<{ status?: { state?: string } }>;
    };
    const stateNow = async () =>
      ((await objects.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: nsA, plural: plurals.BreakglassSession, name: session.metadata.name })) as {
        status?: { state?: string };
      }).status?.state;
    try {
      statusWriters = ['system:serviceaccount:breakglass-system:breakglass'];
      const refused = await expectRefused(async () => void (await approve('mallory@example.com')));
      expect(refused.code).to.equal(403);
      expect(refused.message).to.contain('its status is written by the breakglass controller only (system:serviceaccount:breakglass-system:breakglass)');
      expect(refused.message).to.contain('not by mallory@example.com');
      expect(await stateNow()).to.equal(undefined);
      // The user the matchConditions name never reaches the webhook (which would refuse it here).
      expect((await approve()).status?.state).to.equal('Approved');
      // Without such a condition (another install), the webhook admits the controller's own identity.
      statusWriters = ['mallory@example.com'];
      await approve('mallory@example.com');
    } finally {
      statusWriters = undefined;
    }
  });

  it('lets the finalizers of an object being deleted be removed, even when its name is duplicated', async () => {
    const name = unique('finalized');
    await create(sampleEscalation(name, nsB));
    const held = sampleEscalation(name, nsA);
    (held.metadata as Record<string, unknown>)['finalizers'] = ['breakglass.t-caas.telekom.com/e2e-hold'];
    await create(held);
    await objects.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: nsA, plural: plurals.BreakglassEscalation, name });
    await mergePatch(held, { metadata: { labels: { [label]: runId }, finalizers: null } });
    // Without finalizers the API server removes the object at once (no garbage collector needed).
    const code = await objects
      .getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: nsA, plural: plurals.BreakglassEscalation, name })
      .then(() => 200, (err: unknown) => errorStatus(err).code);
    expect(code).to.equal(404);
  });

  const sharedIssuer = `https://idp-${runId}.example.com/realms/shared`;
  const sessionName = `dup-session-${runId}`;
  const escalationName = `dup-escalation-${runId}`;
  const clusterName = `dup-cluster-${runId}`;
  const withSpec = (object: SampleObject, spec: Record<string, unknown>): SampleObject => ({ ...object, spec: { ...object.spec, ...spec } });

  /** Built inside each test: the namespaces and times only exist once the suite runs. */
  const refusals = (): Refusal[] => {
    const past = new Date(Date.now() - 3_600_000).toISOString();
    const soon = new Date(Date.now() + 60_000).toISOString();
    return [
    // BreakglassSession
    { title: 'a session with the same name in another namespace', before: [sampleSession(sessionName, nsB)], object: sampleSession(sessionName, nsA), expect: ['metadata.name', 'must be unique cluster-wide', `conflicting namespace=${nsB}`], webhookOnly: true },
    { title: 'a change of a session spec', object: sampleSession(unique('immutable'), nsA), update: (s) => { s.spec['requestReason'] = 'changed my mind'; }, expect: ['spec', 'immutable'] },
    { title: 'a session maxValidFor of 400d', object: withSpec(sampleSession(unique('s400d'), nsA), { maxValidFor: '400d' }), expect: ['spec.maxValidFor', '365'], webhookOnly: true },
    { title: 'a session maxValidFor beyond the Go maximum', object: withSpec(sampleSession(unique('s-huge'), nsA), { maxValidFor: '99999999999h' }), expect: ['spec.maxValidFor', 'exceeds the maximum of 2562047h'], webhookOnly: true },
    { title: 'a session idleTimeout under one minute', object: withSpec(sampleSession(unique('idle'), nsA), { idleTimeout: '30s' }), expect: ['spec.idleTimeout', 'at least 1m'], webhookOnly: true },
    { title: 'a session idleTimeout over maxValidFor', object: withSpec(sampleSession(unique('idlemax'), nsA), { idleTimeout: '2h', maxValidFor: '1h' }), expect: ['spec.idleTimeout', 'maxValidFor'], webhookOnly: true },
    { title: 'a session retainFor of zero', object: withSpec(sampleSession(unique('retain'), nsA), { retainFor: '0s' }), expect: ['spec.retainFor'], webhookOnly: true },
    { title: 'a session scheduled in the past', object: withSpec(sampleSession(unique('past'), nsA), { scheduledStartTime: past }), expect: ['spec.scheduledStartTime', 'in the future'], webhookOnly: true },
    { title: 'a session scheduled less than 5 minutes ahead', object: withSpec(sampleSession(unique('soon'), nsA), { scheduledStartTime: soon }), expect: ['spec.scheduledStartTime', '5 minutes'], webhookOnly: true },
    { title: 'a session naming an unknown IdentityProvider', object: withSpec(sampleSession(unique('noidp'), nsA), { identityProviderName: `missing-${runId}` }), expect: ['spec.identityProviderName', 'not found'], webhookOnly: true },
    { title: 'a session with a blank cluster', object: withSpec(sampleSession(unique('blank'), nsA), { cluster: '   ' }), expect: ['spec.cluster'], webhookOnly: true },
    { title: 'a session with invalid characters in the user', object: withSpec(sampleSession(unique('user'), nsA), { user: 'alice <alice@example.com>' }), expect: ['spec.user', 'invalid characters'], webhookOnly: true },
    // BreakglassEscalation
    { title: 'an escalation whose approvalTimeout exceeds maxValidFor', object: withSpec(sampleEscalation(unique('approval'), nsA), { maxValidFor: '1h', approvalTimeout: '3h' }), expect: ['spec.approvalTimeout', 'maxValidFor'], webhookOnly: true },
    { title: 'an escalation maxValidFor of 400d', object: withSpec(sampleEscalation(unique('e400d'), nsA), { maxValidFor: '400d' }), expect: ['spec.maxValidFor', '365'], webhookOnly: true },
    { title: 'an escalation with the same name in another namespace', before: [sampleEscalation(escalationName, nsB)], object: sampleEscalation(escalationName, nsA), expect: ['metadata.name', 'must be unique cluster-wide'], webhookOnly: true },
    { title: 'an escalation with duplicate approver groups', object: withSpec(sampleEscalation(unique('dupgroups'), nsA), { approvers: { groups: ['approvers', 'approvers'] } }), expect: ['spec.approvers.groups'], webhookOnly: true },
    { title: 'an escalation with a malformed cluster glob', object: withSpec(sampleEscalation(unique('glob'), nsA), { allowed: { clusters: ['prod-['], groups: ['developers'] } }), expect: ['spec.allowed.clusters'], webhookOnly: true },
    { title: 'an escalation with a blank allowed group', object: withSpec(sampleEscalation(unique('blankgroup'), nsA), { allowed: { clusters: ['prod-*'], groups: ['  '] } }), expect: ['spec.allowed.groups'], webhookOnly: true },
    { title: 'an escalation without approvers', object: withSpec(sampleEscalation(unique('noapprovers'), nsA), { approvers: { users: [] } }), expect: ['approver'] },
    { title: 'an update of an escalation to a maxValidFor of 400d', object: sampleEscalation(unique('update400d'), nsA), update: (e) => { e.spec['maxValidFor'] = '400d'; }, expect: ['spec.maxValidFor', '365'], webhookOnly: true },
    { title: 'an escalation idleTimeout under one minute', object: withSpec(sampleEscalation(unique('eidle'), nsA), { idleTimeout: '10s' }), expect: ['spec.idleTimeout', 'at least 1m'], webhookOnly: true },
    // ClusterConfig
    { title: 'a ClusterConfig with two auth methods', object: withSpec(sampleClusterConfig(unique('twoauth'), nsA), { oidcAuth: { issuerURL: 'https://idp.example.com', clientID: 'hub', server: 'https://api.prod-1.example.com' } }), expect: ['kubeconfigSecretRef', 'oidcAuth'] },
    { title: 'a ClusterConfig with the same name in another namespace', before: [sampleClusterConfig(clusterName, nsB)], object: sampleClusterConfig(clusterName, nsA), expect: ['metadata.name', 'must be unique cluster-wide'], webhookOnly: true },
    { title: 'a ClusterConfig referencing an unknown IdentityProvider', object: withSpec(sampleClusterConfig(unique('refs'), nsA), { identityProviderRefs: [`missing-${runId}`] }), expect: ['spec.identityProviderRefs'], webhookOnly: true },
    { title: 'a ClusterConfig with duplicate OIDC scopes', object: withSpec(sampleClusterConfig(unique('scopes'), nsA), { kubeconfigSecretRef: undefined, authType: 'OIDC', oidcAuth: { issuerURL: 'https://idp.example.com', clientID: 'hub', server: 'https://api.prod-1.example.com', scopes: ['groups', 'groups'] } }), expect: ['spec.oidcAuth.scopes'], webhookOnly: true },
    // IdentityProvider
    { title: 'an IdentityProvider reusing another one\'s issuer', before: [sampleIdentityProvider(unique('first'), sharedIssuer)], object: sampleIdentityProvider(unique('second'), sharedIssuer), expect: ['spec.issuer', 'unique'], webhookOnly: true },
    { title: 'an IdentityProvider with Keycloak group sync but no keycloak block', object: withSpec(sampleIdentityProvider(unique('kc'), `https://kc-${runId}.example.com`), { groupSyncProvider: 'Keycloak' }), expect: ['spec.keycloak'] },
    { title: 'an IdentityProvider whose client ID has invalid characters', object: withSpec(sampleIdentityProvider(unique('client'), `https://client-${runId}.example.com`), { oidc: { authority: `https://client-${runId}.example.com`, clientID: 'ui<script>', expectedAudience: 'breakglass' } }), expect: ['spec.oidc.clientID'], webhookOnly: true },
    // DenyPolicy
    { title: 'a DenyPolicy rule with a blank verb', object: withSpec(sampleDenyPolicy(unique('blankverb')), { rules: [{ verbs: ['  '], apiGroups: [''], resources: ['pods'] }] }), expect: ['spec.rules[0].verbs'], webhookOnly: true },
    { title: 'a DenyPolicy rule without resources', object: withSpec(sampleDenyPolicy(unique('noresources')), { rules: [{ verbs: ['get'], apiGroups: [''], resources: [] }] }), expect: ['spec.rules[0].resources'], webhookOnly: true },
    { title: 'a DenyPolicy without any rules', object: withSpec(sampleDenyPolicy(unique('empty')), { rules: [] }), expect: ['rules'] },
    ];
  };

  const refusedKinds: AdmissionKind[] = [];
  refusals().forEach(({ title }, index) => {
    it(`refuses ${title}`, async () => {
      const refusal = refusals()[index] as Refusal;
      for (const prerequisite of refusal.before ?? []) await create(labelled(prerequisite));
      const object = labelled(JSON.parse(JSON.stringify(refusal.object)) as SampleObject);
      let status: { code: number; message: string };
      if (refusal.update) {
        await create(object);
        refusal.update(object);
        status = await expectRefused(() => replace(object));
      } else {
        status = await expectRefused(() => create(object));
      }
      expect([400, 403, 422], status.message).to.include(status.code);
      for (const part of refusal.expect) expect(status.message).to.contain(part);
      if (refusal.webhookOnly) expect(status.message).to.match(/admission webhook ".*\.validation\.breakglass\.t-caas\.telekom\.com" denied the request/);
      refusedKinds.push(object.kind);
    });
  });

  it('has refused at least 25 invalid objects across the five kinds', () => {
    expect(refusedKinds.length).to.be.greaterThanOrEqual(25);
    expect(new Set(refusedKinds).size).to.equal(5);
  });
});
