/**
 * The ClusterConfig checker against a real API server: real ClusterConfigs and Secrets, the
 * real /version probe (against this very API server, a closed port and a server that never
 * answers, whose connection must be closed by the timeout), the Ready condition as stored, and
 * the Events recorded. A kubeconfig that would run a process is refused before anything runs.
 */
import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { installCrds } from '../crds/install.ts';
import { API_VERSION, GROUP, VERSION, plurals, type ClusterConfig } from '../crds/index.ts';
import { silentLogger } from '../controller/observability/logger.ts';
import { ControllerMetrics } from '../controller/observability/metrics.ts';
import { unfencedGuard } from '../controller/runtime/loop.ts';
import { runClusterConfigCheck } from '../controller/clusters/cluster-config-checker.ts';
import { KubernetesClusterConfigStore } from '../controller/clusters/cluster-config-store.ts';
import { freePort } from './controlplane/controlplane.ts';
import { testCluster } from './harness/cluster.ts';

function kubeconfigFor(server: string): string {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'spoke', server, skipTLSVerify: true }],
    users: [{ name: 'u', token: 'nothing' }],
    contexts: [{ name: 'spoke', cluster: 'spoke', user: 'u' }],
    currentContext: 'spoke',
  });
  return kc.exportConfig();
}


describe('ClusterConfig checker on a real API server', function () {
  let core: CoreV1Api;
  let custom: CustomObjectsApi;
  let namespace: string;
  let silent: Server;
  let silentClosed = 0;

  before(async () => {
    const kubeConfig = testCluster().admin.kubeConfig;
    await installCrds(kubeConfig);
    core = kubeConfig.makeApiClient(CoreV1Api);
    custom = kubeConfig.makeApiClient(CustomObjectsApi);
    namespace = await testCluster().createNamespace('ccfg-check');
    // Accepts connections and never answers: only the probe timeout ends the request.
    silent = createServer((socket) => {
      socket.resume(); // read (and ignore) the TLS ClientHello, so the client's close is noticed
      socket.on('error', () => {});
      socket.on('close', () => silentClosed++);
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  });

  after(() => silent.close());

  async function secret(name: string, data: Record<string, string>): Promise<void> {
    await core.createNamespacedSecret({ namespace, body: { metadata: { name }, stringData: data } });
  }

  async function clusterConfig(name: string, secretName: string, key?: string): Promise<void> {
    await custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace,
      plural: plurals.ClusterConfig,
      body: {
        apiVersion: API_VERSION,
        kind: 'ClusterConfig',
        metadata: { name },
        spec: { kubeconfigSecretRef: { name: secretName, namespace, ...(key ? { key } : {}) } },
      },
    });
  }

  async function readyOf(name: string) {
    const config = (await custom.getNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace,
      plural: plurals.ClusterConfig,
      name,
    })) as ClusterConfig;
    return config.status?.conditions?.find((c) => c.type === 'Ready');
  }

  async function eventsOf(name: string) {
    const list = await core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${name}` });
    return list.items;
  }

  it('writes the Ready condition for every kind of kubeconfig problem, and Ready=True for a working one', async () => {
    const self = testCluster().admin.kubeConfig.exportConfig();
    await secret('no-key', { other: self });
    await secret('garbage', { value: 'clusters: [' });
    await secret('self', { kubeconfig: self });
    await secret('closed', { value: kubeconfigFor(`https://127.0.0.1:${await freePort()}`) });
    const silentPort = (silent.address() as { port: number }).port;
    await secret('silent', { value: kubeconfigFor(`https://127.0.0.1:${silentPort}`) });
    const marker = join(await mkdtemp(join(tmpdir(), 'breakglass-exec-')), 'ran');
    const execKubeconfig = JSON.parse(kubeconfigFor(testCluster().server)) as { users: { user: Record<string, unknown> }[] };
    execKubeconfig.users[0]!.user = {
      exec: { apiVersion: 'client.authentication.k8s.io/v1beta1', command: '/bin/sh', args: ['-c', `touch ${marker}`] },
    };
    await secret('exec', { value: JSON.stringify(execKubeconfig) });

    await clusterConfig('missing-secret', 'does-not-exist');
    await clusterConfig('missing-key', 'no-key');
    await clusterConfig('bad-kubeconfig', 'garbage');
    await clusterConfig('reachable', 'self', 'kubeconfig');
    await clusterConfig('unreachable', 'closed');
    await clusterConfig('hanging', 'silent');
    await clusterConfig('runs-a-process', 'exec');

    const metrics = new ControllerMetrics({ defaultMetrics: false });
    const store = new KubernetesClusterConfigStore(testCluster().admin.kubeConfig, { namespace });
    const deps = { store, logger: silentLogger(), metrics, probeTimeoutMs: 1500 };
    const counts = await runClusterConfigCheck(deps, { signal: new AbortController().signal, guard: unfencedGuard });
    expect(counts).to.include({ checked: 7, ready: 1, notReady: 6, updated: 7, conflicts: 0, errors: 0 });

    expect(await readyOf('missing-secret')).to.include({
      status: 'False',
      reason: 'SecretMissing',
      message: `secret ${namespace}/does-not-exist (spec.kubeconfigSecretRef) not found`,
    });
    expect(await readyOf('missing-key')).to.include({ status: 'False', reason: 'SecretKeyMissing' });
    expect(await readyOf('bad-kubeconfig')).to.include({ status: 'False', reason: 'KubeconfigParseFailed' });
    const reachable = await readyOf('reachable');
    expect(reachable).to.include({
      status: 'True',
      reason: 'KubeconfigValidated',
      message: 'Kubeconfig validated and cluster reachable',
      observedGeneration: 1,
    });
    const unreachable = await readyOf('unreachable');
    expect(unreachable).to.include({ status: 'False', reason: 'ClusterUnreachable' });
    expect(unreachable?.message).to.match(/^cluster unreachable: .*ECONNREFUSED/);
    const hanging = await readyOf('hanging');
    expect(hanging).to.include({ status: 'False', reason: 'ClusterUnreachable' });
    expect(hanging?.message).to.contain('timed out after 1500 ms');
    // The timeout aborts the request: its connection is closed, not left hanging.
    const deadline = Date.now() + 10_000;
    while (silentClosed < 1 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(silentClosed, 'connections to the silent server closed').to.be.at.least(1);

    const refused = await readyOf('runs-a-process');
    expect(refused).to.include({ status: 'False', reason: 'KubeconfigParseFailed' });
    expect(refused?.message).to.contain('users[0].user.exec is not allowed: kubeconfigs in Secrets must carry inline credentials');
    expect(existsSync(marker), 'the exec command ran').to.equal(false);

    const succeeded = await eventsOf('reachable');
    expect(succeeded.map((e) => `${e.type}:${e.reason}`)).to.deep.equal(['Normal:ClusterConfigValidationSucceeded']);
    expect(succeeded[0]?.involvedObject).to.include({ kind: 'ClusterConfig', apiVersion: API_VERSION, namespace });
    const failed = await eventsOf('missing-key');
    expect(failed.map((e) => `${e.type}:${e.reason}`)).to.deep.equal(['Warning:ClusterConfigValidationFailed']);

    // A second pass with nothing changed writes nothing and records no new events.
    const second = await runClusterConfigCheck(deps, { signal: new AbortController().signal, guard: unfencedGuard });
    expect(second).to.include({ checked: 7, updated: 0 });
    expect(await eventsOf('reachable')).to.have.length(1);
    expect((await readyOf('reachable'))?.lastTransitionTime).to.equal(reachable?.lastTransitionTime);
  });

  it('a config that becomes usable flips to Ready=True with a new transition and event', async () => {
    await clusterConfig('late-secret', 'arrives-later');
    const store = new KubernetesClusterConfigStore(testCluster().admin.kubeConfig, { namespace });
    const deps = { store, logger: silentLogger(), probeTimeoutMs: 1500 };
    const ctx = { signal: new AbortController().signal, guard: unfencedGuard };
    await runClusterConfigCheck(deps, ctx);
    expect(await readyOf('late-secret')).to.include({ status: 'False', reason: 'SecretMissing' });
    await secret('arrives-later', { value: testCluster().admin.kubeConfig.exportConfig() });
    await runClusterConfigCheck(deps, ctx);
    expect(await readyOf('late-secret')).to.include({ status: 'True', reason: 'KubeconfigValidated' });
    const events = (await eventsOf('late-secret')).map((e) => e.reason).sort();
    expect(events).to.deep.equal(['ClusterConfigValidationFailed', 'ClusterConfigValidationSucceeded']);
  });
});
