/**
 * Caches hold every object, not only the first list page, on the real API server. Custom object
 * lists arrive as raw JSON, whose continue token is `metadata.continue` (client-node's typed
 * lists call it `_continue`); reading only the typed name cached the first page alone, 500 of
 * 10,000 sessions in npm run bench:api. Here pages of 3 over 7 sessions and 7 escalations.
 */
import { expect } from 'chai';
import { API_VERSION, GROUP, VERSION, plurals } from '../crds/index.ts';
import { installCrds } from '../crds/install.ts';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { CustomObjectCache } from '../controller/kube/custom-object-cache.ts';
import { silentLogger } from '../controller/observability/logger.ts';
import { KubernetesSessionRepository } from '../controller/sessions/kubernetes-session-repository.ts';
import { testCluster } from './harness/cluster.ts';
import { createSession } from './harness/sessions.ts';

describe('informer caches read every list page (real API server)', function () {
  this.timeout(120_000);
  const stop = new AbortController();
  after(() => stop.abort());

  it('holds all 7 sessions and all 7 escalations when the API server answers in pages of 3', async () => {
    const tc = testCluster();
    const kc = tc.admin.kubeConfig;
    await installCrds(kc);
    const namespace = await tc.createNamespace('informer-paging');
    const names = Array.from({ length: 7 }, (_, i) => `paged-${i}`);
    for (const name of names) {
      await createSession(kc, namespace, { name, state: 'Pending', spec: { cluster: 'paging', user: `${name}@example.com`, grantedGroup: 'paging-admin' } });
      await kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        plural: plurals.BreakglassEscalation,
        namespace,
        body: { apiVersion: API_VERSION, kind: 'BreakglassEscalation', metadata: { name }, spec: { escalatedGroup: `${name}-admin`, allowed: { clusters: ['paging'], groups: ['x'] }, approvers: { users: ['a@example.com'] } } },
      });
    }
    const sessions = new KubernetesSessionRepository(kc, { logger: silentLogger(), namespace, informer: { pageSize: 3 } });
    sessions.start(stop.signal);
    await sessions.whenSynced();
    expect(sessions.listCached().map((s) => s.metadata?.name).sort()).to.deep.equal(names);

    // The all-namespaces cache the API reads escalations from; the shared cluster may hold more.
    const escalations = new CustomObjectCache<{ metadata?: { name?: string; namespace?: string } }>(kc, 'BreakglassEscalation', {
      logger: silentLogger(),
      informer: { name: 'paging-escalations', pageSize: 3 },
    });
    escalations.start(stop.signal);
    await escalations.whenSynced();
    const ours = escalations.list().filter((e) => e.metadata?.namespace === namespace);
    expect(ours.map((e) => e.metadata?.name).sort()).to.deep.equal(names);
  });
});
