import { expect } from 'chai';
import type { ClusterConfig } from '../../crds/index.ts';
import { RequestTimeoutError } from '../kube/request-options.ts';
import { eventually, startSilentServer, type SilentServer } from '../kube/silent-server.ts';
import { probeVersion } from './cluster-config-check.ts';
import { KubernetesClusterConfigStore } from './cluster-config-store.ts';

const config: ClusterConfig = {
  metadata: { name: 'c', namespace: 'hub', resourceVersion: '3' },
  spec: { kubeconfigSecretRef: { name: 'kc', namespace: 'hub' } },
};

describe('ClusterConfig requests to a server that never answers', () => {
  let silent: SilentServer;
  before(async () => (silent = await startSilentServer()));
  after(() => silent.stop());

  it('every store request ends at the request timeout and closes its connection', async () => {
    const store = new KubernetesClusterConfigStore(silent.kubeConfig, { requestTimeoutMs: 200 });
    const closedBefore = silent.closed();
    const requests: [string, () => Promise<unknown>][] = [
      ['LIST clusterconfigs', () => store.list()],
      ['GET secret hub/kc', () => store.readSecret('hub', 'kc')],
      ['PUT clusterconfig hub/c status', () => store.writeStatus(config, {}, '3')],
      ['POST event about clusterconfig hub/c', () => store.recordEvent(config, { type: 'Normal', reason: 'R', message: 'm' })],
    ];
    for (const [what, request] of requests) {
      let error: unknown;
      await request().catch((err) => (error = err));
      expect(error, what).to.be.instanceOf(RequestTimeoutError);
      expect((error as Error).message).to.equal(`${what} timed out after 200 ms`);
    }
    await eventually(() => silent.closed() >= closedBefore + 4, 'the timed-out connections to close');
  });

  it("a store request ends when the caller's signal aborts", async () => {
    const store = new KubernetesClusterConfigStore(silent.kubeConfig);
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('term ended')), 50);
    let error: unknown;
    await store.list(controller.signal).catch((err) => (error = err));
    expect((error as Error).message).to.equal('term ended');
  });

  it('the /version probe times out and closes its connection instead of leaving it open', async () => {
    const closedBefore = silent.closed();
    let error: unknown;
    await probeVersion(silent.kubeConfig, 200).catch((err) => (error = err));
    expect((error as Error).message).to.equal(`GET ${silent.url}/version timed out after 200 ms`);
    await eventually(() => silent.closed() > closedBefore, 'the probe connection to close');
  });

  it('the /version probe ends when the signal aborts', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('term ended')), 50);
    let error: unknown;
    await probeVersion(silent.kubeConfig, 60_000, controller.signal).catch((err) => (error = err));
    expect((error as Error).message).to.equal('term ended');
  });
});
