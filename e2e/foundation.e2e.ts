/**
 * Proves the harness gives a real API server: optimistic concurrency on Leases, RBAC for
 * non-admin users, CRDs that become Established, and a real kubectl.
 */
import { expect } from 'chai';
import {
  ApiextensionsV1Api,
  CoordinationV1Api,
  CustomObjectsApi,
  RbacAuthorizationV1Api,
  V1MicroTime,
  type V1CustomResourceDefinition,
  type V1Lease,
} from '@kubernetes/client-node';
import { testCluster } from './harness/cluster.ts';

function statusOf(err: unknown): number | undefined {
  return (err as { code?: number }).code;
}

async function expectStatus(promise: Promise<unknown>, status: number): Promise<void> {
  try {
    await promise;
  } catch (err) {
    expect(statusOf(err), String(err)).to.equal(status);
    return;
  }
  expect.fail(`expected HTTP ${status}, but the request succeeded`);
}

describe('foundation: a real Kubernetes API server', () => {
  it('reports the version of the API server under test', () => {
    const cluster = testCluster();
    expect(cluster.version).to.match(/^v1\.\d+\.\d+/);
    console.log(`      API server ${cluster.server} ${cluster.version} (${cluster.local ? 'local control plane' : 'E2E_KUBECONFIG'})`);
  });

  describe('Leases', () => {
    it('creates and updates a Lease, and refuses an update with a stale resourceVersion (409)', async () => {
      const cluster = testCluster();
      const ns = await cluster.createNamespace('lease');
      const api = cluster.admin.kubeConfig.makeApiClient(CoordinationV1Api);
      const created = await api.createNamespacedLease({
        namespace: ns,
        body: {
          metadata: { name: 'foundation' },
          spec: { holderIdentity: 'replica-a', leaseDurationSeconds: 15, renewTime: new V1MicroTime(), leaseTransitions: 0 },
        },
      });
      const staleVersion = created.metadata?.resourceVersion;
      expect(staleVersion).to.be.a('string');

      const renewed: V1Lease = {
        ...created,
        spec: { ...created.spec, renewTime: new V1MicroTime(Date.now() + 1000) },
      };
      const updated = await api.replaceNamespacedLease({ name: 'foundation', namespace: ns, body: renewed });
      expect(updated.metadata?.resourceVersion).to.not.equal(staleVersion);
      expect(updated.spec?.holderIdentity).to.equal('replica-a');

      const takeover: V1Lease = {
        ...created,
        metadata: { ...created.metadata, resourceVersion: staleVersion },
        spec: { ...created.spec, holderIdentity: 'replica-b', renewTime: new V1MicroTime() },
      };
      await expectStatus(api.replaceNamespacedLease({ name: 'foundation', namespace: ns, body: takeover }), 409);
      const current = await api.readNamespacedLease({ name: 'foundation', namespace: ns });
      expect(current.spec?.holderIdentity).to.equal('replica-a');
    });

    it('real kubectl reads the Lease as JSON', async () => {
      const cluster = testCluster();
      const ns = await cluster.createNamespace('kubectl');
      const api = cluster.admin.kubeConfig.makeApiClient(CoordinationV1Api);
      await api.createNamespacedLease({
        namespace: ns,
        body: { metadata: { name: 'seen-by-kubectl' }, spec: { holderIdentity: 'replica-k', leaseDurationSeconds: 15 } },
      });
      const result = await cluster.kubectl(['get', 'lease', 'seen-by-kubectl', '-n', ns, '-o', 'json']);
      expect(result.code, result.stderr).to.equal(0);
      const lease = JSON.parse(result.stdout) as V1Lease;
      expect(lease.kind).to.equal('Lease');
      expect(lease.spec?.holderIdentity).to.equal('replica-k');
    });
  });

  describe('RBAC', () => {
    it('forbids a non-admin user until a RoleBinding grants access', async () => {
      const cluster = testCluster();
      const ns = await cluster.createNamespace('rbac');
      const asAlice = cluster.alice.kubeConfig.makeApiClient(CoordinationV1Api);
      await expectStatus(asAlice.listNamespacedLease({ namespace: ns }), 403);

      const rbac = cluster.admin.kubeConfig.makeApiClient(RbacAuthorizationV1Api);
      await rbac.createNamespacedRole({
        namespace: ns,
        body: {
          metadata: { name: 'lease-reader' },
          rules: [{ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'list'] }],
        },
      });
      await rbac.createNamespacedRoleBinding({
        namespace: ns,
        body: {
          metadata: { name: 'alice-reads-leases' },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'lease-reader' },
          subjects: [cluster.alice.subject],
        },
      });
      // RBAC is served from an informer inside the API server: allow a moment to propagate.
      let listed: unknown;
      for (let attempt = 0; attempt < 50 && !listed; attempt++) {
        listed = await asAlice.listNamespacedLease({ namespace: ns }).catch(() => undefined);
        if (!listed) await new Promise((r) => setTimeout(r, 100));
      }
      expect(listed, 'alice can list leases after the RoleBinding').to.not.equal(undefined);
      // Bob has no binding and stays forbidden; the grant did not leak to other users.
      await expectStatus(cluster.bob.kubeConfig.makeApiClient(CoordinationV1Api).listNamespacedLease({ namespace: ns }), 403);
      // Alice still may not write.
      await expectStatus(
        asAlice.createNamespacedLease({ namespace: ns, body: { metadata: { name: 'x' }, spec: {} } }),
        403,
      );
    });
  });

  describe('CustomResourceDefinitions', () => {
    it('a CRD becomes Established and a custom object round-trips', async () => {
      const cluster = testCluster();
      const ext = cluster.admin.kubeConfig.makeApiClient(ApiextensionsV1Api);
      const group = 'foundation.breakglass.e2e';
      const crd: V1CustomResourceDefinition = {
        metadata: { name: `widgets.${group}` },
        spec: {
          group,
          scope: 'Namespaced',
          names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
          versions: [
            {
              name: 'v1',
              served: true,
              storage: true,
              schema: {
                openAPIV3Schema: {
                  type: 'object',
                  properties: {
                    spec: { type: 'object', properties: { size: { type: 'integer', minimum: 1 } }, required: ['size'] },
                  },
                },
              },
            },
          ],
        },
      };
      await ext.createCustomResourceDefinition({ body: crd }).catch((err: unknown) => {
        if (statusOf(err) !== 409) throw err;
      });
      let established = false;
      for (let attempt = 0; attempt < 100 && !established; attempt++) {
        const current = await ext.readCustomResourceDefinition({ name: `widgets.${group}` });
        established = (current.status?.conditions ?? []).some((c) => c.type === 'Established' && c.status === 'True');
        if (!established) await new Promise((r) => setTimeout(r, 100));
      }
      expect(established, 'CRD Established').to.equal(true);

      const ns = await cluster.createNamespace('crd');
      const objects = cluster.admin.kubeConfig.makeApiClient(CustomObjectsApi);
      const body = { apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name: 'w1' }, spec: { size: 3 } };
      // Discovery of a new group can lag Established by a moment.
      let created: unknown;
      for (let attempt = 0; attempt < 50 && !created; attempt++) {
        created = await objects
          .createNamespacedCustomObject({ group, version: 'v1', namespace: ns, plural: 'widgets', body })
          .catch((err: unknown) => (statusOf(err) === 404 ? undefined : Promise.reject(err)));
        if (!created) await new Promise((r) => setTimeout(r, 100));
      }
      const read = (await objects.getNamespacedCustomObject({ group, version: 'v1', namespace: ns, plural: 'widgets', name: 'w1' })) as typeof body;
      expect(read.spec.size).to.equal(3);
      // The schema is enforced by the server.
      await expectStatus(
        objects.createNamespacedCustomObject({
          group, version: 'v1', namespace: ns, plural: 'widgets',
          body: { ...body, metadata: { name: 'w2' }, spec: { size: 0 } },
        }),
        422,
      );
    });
  });
});
