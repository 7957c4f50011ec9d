/**
 * Mocha root hooks: one cluster for the whole e2e run.
 * E2E_KUBECONFIG set: use that cluster and start nothing. Otherwise start etcd +
 * kube-apiserver locally (built and cached by e2e/controlplane/build.sh).
 */
import { startControlPlane, type ControlPlane } from '../controlplane/controlplane.ts';
import { externalCluster, localCluster, setTestCluster } from './cluster.ts';
import { stopKeycloak } from './keycloak.ts';

let controlPlane: ControlPlane | undefined;

export const mochaHooks = {
  async beforeAll(this: Mocha.Context): Promise<void> {
    this.timeout(30 * 60_000); // the very first run builds the binaries
    const external = process.env.E2E_KUBECONFIG;
    if (external) {
      const cluster = await externalCluster(external);
      console.log(`[e2e] using cluster ${cluster.server} (${cluster.version}) from E2E_KUBECONFIG`);
      setTestCluster(cluster);
      return;
    }
    controlPlane = await startControlPlane();
    console.log(
      `[e2e] local control plane: kube-apiserver ${controlPlane.version}, start-to-ready ${(controlPlane.startToReadyMs / 1000).toFixed(2)} s`,
    );
    setTestCluster(localCluster(controlPlane));
  },
  async afterAll(this: Mocha.Context): Promise<void> {
    this.timeout(180_000); // Keycloak may save its database template first
    setTestCluster(undefined);
    // Keycloak runs only if a suite asked for it (useKeycloak()).
    await Promise.all([controlPlane?.stop(), stopKeycloak()]);
  },
};
