/**
 * The cdk8s manifests against a real API server: every configuration passes server-side
 * dry-run, and the synthesized RBAC is proven sufficient and least-privilege by acting as the
 * synthesized ServiceAccount (TokenRequest token) with the controller's own Lease store.
 */
import { randomBytes } from 'node:crypto';
import {
  ApiException,
  AuthorizationV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  RbacAuthorizationV1Api,
  V1MicroTime,
  Watch,
  type V1ResourceAttributes,
} from '@kubernetes/client-node';
import { Yaml } from 'cdk8s';
import { expect } from 'chai';
import { GROUP, VERSION, plurals } from '../crds/index.ts';
import { installCrds } from '../crds/install.ts';
import { selfSubjectUsername } from '../controller/admission/own-identity.ts';
import { KubernetesLeaseStore } from '../controller/leadership/kubernetes-lease-store.ts';
import type { LeaseSnapshot } from '../controller/leadership/lease-store.ts';
import { CONFIGURATION_NAMES, CONFIGURATIONS, findOne, synthesize } from '../infra/test/configurations.ts';
import { testCluster } from './harness/cluster.ts';
import { applyIdentityAndRbac, isCertManager, serviceAccountKubeConfig } from './harness/serviceaccount.ts';

/** HTTP status of a client call: 200 when it succeeded, the ApiException code otherwise. */
async function statusOf(call: Promise<unknown>): Promise<number> {
  try {
    await call;
    return 200;
  } catch (err) {
    if (err instanceof ApiException) return err.code;
    throw err;
  }
}

async function can(kc: KubeConfig, attributes: V1ResourceAttributes): Promise<boolean> {
  const review = await kc
    .makeApiClient(AuthorizationV1Api)
    .createSelfSubjectAccessReview({ body: { spec: { resourceAttributes: attributes } } });
  return review.status?.allowed === true;
}

/**
 * Starts a watch and stops it at once: 200 when the API server accepted it, else its status.
 * client-node 1.4 reports a refused watch through `done` (before `watch()` resolves), not by
 * rejecting.
 */
async function watchStatus(kc: KubeConfig, path: string, query: Record<string, string>): Promise<number> {
  let failure: unknown;
  const controller = await new Watch(kc).watch(path, query, () => undefined, (err: unknown) => {
    failure ??= err;
  });
  const refused = failure;
  controller.abort();
  if (!refused) return 200;
  const code = (refused as { statusCode?: number }).statusCode;
  if (typeof code === 'number') return code;
  throw refused;
}

async function eventually(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) expect.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('infra: synthesized manifests on a real API server', function () {
  this.timeout(120_000);

  describe('server-side dry-run', () => {
    for (const name of CONFIGURATION_NAMES) {
      it(`accepts every object of the ${name} configuration`, async () => {
        const cluster = testCluster();
        // Namespaced dry-runs need their namespaces to exist; fresh ones keep runs independent.
        const namespace = await cluster.createNamespace('bg-infra');
        const leaseNamespace = await cluster.createNamespace('bg-infra-lease');
        const secretNamespace = await cluster.createNamespace('bg-infra-secrets');
        const { objects } = synthesize(
          CONFIGURATIONS[name]({ namespace, leaseNamespace, secretNamespaces: [namespace, secretNamespace] }),
        );
        // The cert-manager Issuer/Certificate kinds are unknown to an API server without
        // cert-manager, so they are left out here; the custom-namespace configuration covers the
        // user-provided-Secret TLS mode, which has no such objects.
        const accepted = objects.filter((o) => !isCertManager(o));
        const result = await cluster.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: Yaml.stringify(...accepted) });
        expect(result.code, result.stderr).to.equal(0);
        const reported = result.stdout.split('\n').filter((line) => line.includes('(server dry run)'));
        expect(reported, result.stdout).to.have.length(accepted.length);
      });
    }
  });

  describe('least privilege of the synthesized ServiceAccount', () => {
    const instance = `bg-lp-${randomBytes(3).toString('hex')}`;
    let namespace: string;
    let leaseNamespace: string;
    let otherNamespace: string;
    let leaseId: string;
    let admin: KubeConfig;
    let controller: KubeConfig;
    let serviceAccountName: string;

    before(async function () {
      this.timeout(120_000);
      const cluster = testCluster();
      admin = cluster.admin.kubeConfig;
      await installCrds(admin);
      namespace = await cluster.createNamespace('bg-lp');
      leaseNamespace = await cluster.createNamespace('bg-lp-lease');
      otherNamespace = await cluster.createNamespace('bg-lp-other');
      const props = CONFIGURATIONS['custom-namespace']({ name: instance, namespace, leaseNamespace, secretNamespaces: [namespace] });
      leaseId = props.leaderElection?.leaseId ?? '';
      const { objects } = synthesize(props);
      // Only the identity and its RBAC are applied for real (see applyIdentityAndRbac).
      await applyIdentityAndRbac(cluster, objects);
      const serviceAccount = findOne(objects, 'ServiceAccount');
      serviceAccountName = serviceAccount.metadata.name;
      controller = await serviceAccountKubeConfig(admin, { name: serviceAccount.metadata.name, namespace });
      // The API server's RBAC authorizer reads an informer of its own: wait until the grants the
      // tests below rely on are served, so that the first request does not race the apply.
      const grants: V1ResourceAttributes[] = [
        { group: 'coordination.k8s.io', resource: 'leases', verb: 'create', namespace: leaseNamespace },
        { group: GROUP, resource: plurals.BreakglassSession, verb: 'list' },
        { group: GROUP, resource: plurals.BreakglassSession, verb: 'update', subresource: 'status', namespace },
        { group: GROUP, resource: plurals.DenyPolicy, verb: 'list' },
      ];
      const deadline = Date.now() + 15_000;
      while (!(await Promise.all(grants.map((g) => can(controller, g)))).every(Boolean)) {
        if (Date.now() > deadline) expect.fail('the synthesized RBAC did not take effect within 15 s');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    });

    it('runs the controller Lease store: creates, reads, renews and watches its own Lease', async () => {
      const store = new KubernetesLeaseStore(controller, { namespace: leaseNamespace, name: leaseId });
      expect(await store.get()).to.equal(null);
      const now = new Date();
      const created = await store.create({ holderIdentity: 'pod-a', leaseDurationSeconds: 15, acquireTime: now, renewTime: now, leaseTransitions: 0 });
      const seen: LeaseSnapshot[] = [];
      const stop = new AbortController();
      store.watch((snapshot) => {
        if (snapshot) seen.push(snapshot);
      }, stop.signal);
      try {
        const renewed = await store.update({ ...created.record, renewTime: new Date() }, created.resourceVersion);
        await eventually(() => seen.some((s) => s.resourceVersion === renewed.resourceVersion), 'the watch to report the renewal');
        // Release (holder emptied) is an update of the same object, too.
        await store.update({ ...renewed.record, holderIdentity: '', leaseDurationSeconds: 1 }, renewed.resourceVersion);
      } finally {
        stop.abort();
      }
    });

    it('watches its Lease only by name: a name-field-selected watch is allowed, list and other watches are not', async () => {
      const path = `/apis/coordination.k8s.io/v1/namespaces/${leaseNamespace}/leases`;
      expect(await watchStatus(controller, path, { fieldSelector: `metadata.name=${leaseId}` })).to.equal(200);
      expect(await watchStatus(controller, path, {})).to.equal(403);
      expect(await watchStatus(controller, path, { fieldSelector: 'metadata.name=someone-else' })).to.equal(403);
      const leases = controller.makeApiClient(CoordinationV1Api);
      expect(await statusOf(leases.listNamespacedLease({ namespace: leaseNamespace }))).to.equal(403);
    });

    it('cannot read or update a Lease with another name (create cannot be restricted by name in RBAC)', async () => {
      const body = { metadata: { name: `other-${instance}` }, spec: { holderIdentity: 'x', renewTime: new V1MicroTime(new Date()) } };
      const other = await admin.makeApiClient(CoordinationV1Api).createNamespacedLease({ namespace: leaseNamespace, body });
      const leases = controller.makeApiClient(CoordinationV1Api);
      expect(await statusOf(leases.readNamespacedLease({ name: `other-${instance}`, namespace: leaseNamespace }))).to.equal(403);
      expect(await statusOf(leases.replaceNamespacedLease({ name: `other-${instance}`, namespace: leaseNamespace, body: other }))).to.equal(403);
      expect(await statusOf(leases.deleteNamespacedLease({ name: leaseId, namespace: leaseNamespace }))).to.equal(403);
      expect(await can(controller, { group: 'coordination.k8s.io', resource: 'leases', verb: 'create', namespace: leaseNamespace })).to.equal(true);
      expect(await can(controller, { group: 'coordination.k8s.io', resource: 'leases', verb: 'get', namespace: otherNamespace, name: leaseId })).to.equal(false);
    });

    it('records core Events in the controller namespace only, as the audit and the ClusterConfig checks do', async () => {
      const core = controller.makeApiClient(CoreV1Api);
      const event = (ns: string) => ({
        metadata: { name: `bg-${randomBytes(4).toString('hex')}`, namespace: ns },
        involvedObject: { apiVersion: `${GROUP}/${VERSION}`, kind: 'BreakglassSession', namespace: ns, name: 'audit' },
        reason: 'SessionRequested',
        message: 'alice@example.com requested admin on prod for alice@example.com',
        type: 'Normal',
      });
      expect(await statusOf(core.createNamespacedEvent({ namespace, body: event(namespace) }))).to.equal(200);
      expect(await statusOf(core.createNamespacedEvent({ namespace: leaseNamespace, body: event(leaseNamespace) })), 'leader election records no Events').to.equal(403);
      expect(await statusOf(core.createNamespacedEvent({ namespace: otherNamespace, body: event(otherNamespace) }))).to.equal(403);
      expect(await can(controller, { group: '', resource: 'events', verb: 'patch', namespace }), 'events are only created').to.equal(false);
      expect(await can(controller, { group: 'events.k8s.io', resource: 'events', verb: 'create', namespace }), 'the controller writes core/v1 Events only').to.equal(false);
    });

    it('lists and watches sessions cluster-wide, writes their status and deletes them, but cannot create other kinds; writes only the status of escalations, ClusterConfigs and IdentityProviders; only reads DenyPolicies', async () => {
      const custom = admin.makeApiClient(CustomObjectsApi);
      const name = `lp-${instance}`;
      const plural = plurals.BreakglassSession;
      await custom.createNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: otherNamespace,
        plural,
        body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'BreakglassSession', metadata: { name }, spec: { cluster: 'prod-1', user: 'alice@example.com', grantedGroup: 'cluster-admin' } },
      });
      const api = controller.makeApiClient(CustomObjectsApi);
      const list = (await api.listCustomObjectForAllNamespaces({ group: GROUP, version: VERSION, plural })) as { items: Array<{ metadata: { name: string } }> };
      expect(list.items.map((i) => i.metadata.name)).to.include(name);
      expect(await watchStatus(controller, `/apis/${GROUP}/${VERSION}/${plural}`, {})).to.equal(200);
      const current = (await api.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: otherNamespace, plural, name })) as Record<string, unknown>;
      const replaced = api.replaceNamespacedCustomObjectStatus({
        group: GROUP, version: VERSION, namespace: otherNamespace, plural, name,
        body: { ...current, status: { observedGeneration: 1 } },
      });
      expect(await statusOf(replaced)).to.equal(200);
      expect(await can(controller, { group: GROUP, resource: plural, verb: 'update', namespace }), 'the spec of a session is never written').to.equal(false);
      expect(await statusOf(api.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: otherNamespace, plural, name }))).to.equal(200);

      for (const kind of ['BreakglassEscalation', 'ClusterConfig', 'IdentityProvider'] as const) {
        const resource = plurals[kind];
        expect(await can(controller, { group: GROUP, resource, verb: 'list' }), `list ${resource}`).to.equal(true);
        expect(await can(controller, { group: GROUP, resource, verb: 'create', namespace }), `create ${resource}`).to.equal(false);
        expect(await can(controller, { group: GROUP, resource, verb: 'update', namespace }), `update ${resource}`).to.equal(false);
        expect(await can(controller, { group: GROUP, resource, verb: 'update', subresource: 'status', namespace }), `update ${resource}/status`).to.equal(true);
      }
      // The authorization webhook watches DenyPolicies and never writes them.
      expect(await can(controller, { group: GROUP, resource: plurals.DenyPolicy, verb: 'list' }), 'list denypolicies').to.equal(true);
      expect(await can(controller, { group: GROUP, resource: plurals.DenyPolicy, verb: 'watch' }), 'watch denypolicies').to.equal(true);
      for (const verb of ['create', 'update', 'delete']) {
        expect(await can(controller, { group: GROUP, resource: plurals.DenyPolicy, verb }), `${verb} denypolicies`).to.equal(false);
      }
    });

    it('learns its own user name, which admission lets write status alone', async () => {
      expect(await selfSubjectUsername(controller)).to.equal(`system:serviceaccount:${namespace}:${serviceAccountName}`);
    });

    it('reads Secrets by name only in its allowed namespace', async () => {
      const adminCore = admin.makeApiClient(CoreV1Api);
      const secret = (ns: string) => ({ metadata: { name: 'spoke-kubeconfig', namespace: ns }, stringData: { value: 'apiVersion: v1\nkind: Config\n' } });
      await adminCore.createNamespacedSecret({ namespace, body: secret(namespace) });
      await adminCore.createNamespacedSecret({ namespace: otherNamespace, body: secret(otherNamespace) });
      const core = controller.makeApiClient(CoreV1Api);
      expect(await statusOf(core.readNamespacedSecret({ name: 'spoke-kubeconfig', namespace }))).to.equal(200);
      expect(await statusOf(core.readNamespacedSecret({ name: 'spoke-kubeconfig', namespace: otherNamespace }))).to.equal(403);
      expect(await statusOf(core.listNamespacedSecret({ namespace }))).to.equal(403);
      expect(await statusOf(core.listSecretForAllNamespaces())).to.equal(403);
    });

    it('cannot delete namespaces, write RBAC or reach other cluster resources', async () => {
      const core = controller.makeApiClient(CoreV1Api);
      expect(await statusOf(core.deleteNamespace({ name: otherNamespace }))).to.equal(403);
      const rbac = controller.makeApiClient(RbacAuthorizationV1Api);
      const clusterRole = { metadata: { name: `lp-escalate-${instance}` }, rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }] };
      expect(await statusOf(rbac.createClusterRole({ body: clusterRole }))).to.equal(403);
      const binding = {
        metadata: { name: `lp-escalate-${instance}` },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
        subjects: [{ kind: 'ServiceAccount', name: instance, namespace }],
      };
      expect(await statusOf(rbac.createNamespacedRoleBinding({ namespace, body: binding }))).to.equal(403);
      expect(await statusOf(rbac.createClusterRoleBinding({ body: binding }))).to.equal(403);
      expect(await statusOf(core.listPodForAllNamespaces())).to.equal(403);
      expect(await statusOf(core.listNamespace())).to.equal(403);
    });
  });
});
