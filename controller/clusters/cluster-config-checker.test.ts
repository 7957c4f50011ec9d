import { expect } from 'chai';
import type { KubeConfig } from '@kubernetes/client-node';
import type { ClusterConfig, ClusterConfigStatus } from '../../crds/index.ts';
import { silentLogger } from '../observability/logger.ts';
import { ControllerMetrics } from '../observability/metrics.ts';
import { FencedError, type WriteGuard } from '../leadership/fencing.ts';
import { unfencedGuard, type LoopContext } from '../runtime/loop.ts';
import { checkClusterConfig } from './cluster-config-check.ts';
import { clusterConfigCheckerLoop, runClusterConfigCheck, type ClusterConfigCheckerDeps } from './cluster-config-checker.ts';
import { ConflictError } from '../kube/errors.ts';
import type { ClusterConfigEvent, ClusterConfigStore } from './cluster-config-store.ts';

const KUBECONFIG = `apiVersion: v1
kind: Config
clusters:
- name: spoke
  cluster: {server: 'https://spoke.example:6443'}
contexts:
- name: spoke
  context: {cluster: spoke, user: admin}
current-context: spoke
users:
- name: admin
  user: {token: abc}
`;

/** ClusterConfigs and secrets in memory, with resourceVersion checks on status writes. */
class InMemoryClusterConfigStore implements ClusterConfigStore {
  configs = new Map<string, ClusterConfig>();
  secrets = new Map<string, Record<string, string>>();
  events: { config: string; event: ClusterConfigEvent }[] = [];
  writes = 0;
  private version = 1;

  add(name: string, spec: ClusterConfig['spec'], status?: ClusterConfigStatus): void {
    this.configs.set(name, {
      metadata: { name, namespace: 'hub', generation: 1, resourceVersion: String(this.version++) },
      spec,
      ...(status ? { status } : {}),
    });
  }
  get(name: string): ClusterConfig | undefined {
    return this.configs.get(name);
  }
  async list(_signal?: AbortSignal): Promise<ClusterConfig[]> {
    return [...this.configs.values()].map((c) => structuredClone(c));
  }
  async readSecret(namespace: string, name: string, _signal?: AbortSignal): Promise<Record<string, string> | undefined> {
    return this.secrets.get(`${namespace}/${name}`);
  }
  async writeStatus(
    config: ClusterConfig,
    status: ClusterConfigStatus,
    resourceVersion: string,
    _signal?: AbortSignal,
  ): Promise<ClusterConfig> {
    const name = config.metadata?.name ?? '';
    const current = this.configs.get(name);
    if (current?.metadata?.resourceVersion !== resourceVersion) {
      throw new ConflictError('hub', name, { kind: 'ClusterConfig' });
    }
    current.status = structuredClone(status);
    current.metadata = { ...current.metadata, resourceVersion: String(this.version++) };
    this.writes++;
    return structuredClone(current);
  }
  async recordEvent(config: ClusterConfig, event: ClusterConfigEvent, _signal?: AbortSignal): Promise<void> {
    this.events.push({ config: config.metadata?.name ?? '', event });
  }
}

const ref = (key?: string) => ({ kubeconfigSecretRef: { name: 'kc', namespace: 'hub', ...(key ? { key } : {}) } });

function setup(probe: ClusterConfigCheckerDeps['probe'] = async () => {}) {
  const store = new InMemoryClusterConfigStore();
  const metrics = new ControllerMetrics({ defaultMetrics: false });
  let now = Date.parse('2026-05-01T10:00:00Z');
  const deps: ClusterConfigCheckerDeps = { store, logger: silentLogger(), metrics, probe, now: () => new Date(now) };
  return { store, metrics, deps, advance: (ms: number) => (now += ms) };
}

const ctx = (guard: WriteGuard = unfencedGuard, signal = new AbortController().signal): LoopContext => ({ guard, signal });

function ready(store: InMemoryClusterConfigStore, name: string) {
  return store.get(name)?.status?.conditions?.find((c) => c.type === 'Ready');
}

describe('ClusterConfig check', () => {
  const deps = (
    secrets: Record<string, Record<string, string>>,
    probe: (kc: KubeConfig) => Promise<void> = async () => {},
  ) => ({
    readSecret: async (ns: string, name: string) => secrets[`${ns}/${name}`],
    probe,
  });
  const config = (spec: ClusterConfig['spec']): ClusterConfig => ({ metadata: { name: 'c' }, spec });

  it('reports each kubeconfig failure with its reason', async () => {
    expect(await checkClusterConfig(config(ref()), deps({}))).to.deep.equal({
      status: 'False',
      reason: 'SecretMissing',
      message: 'secret hub/kc (spec.kubeconfigSecretRef) not found',
    });
    expect(await checkClusterConfig(config(ref()), deps({ 'hub/kc': { other: KUBECONFIG } }))).to.deep.include({
      reason: 'SecretKeyMissing',
      message: 'secret hub/kc has no key "value" (spec.kubeconfigSecretRef.key)',
    });
    const garbage = await checkClusterConfig(config(ref()), deps({ 'hub/kc': { value: 'clusters: [' } }));
    expect(garbage).to.include({ status: 'False', reason: 'KubeconfigParseFailed' });
    const noServer = await checkClusterConfig(config(ref()), deps({ 'hub/kc': { value: 'just text' } }));
    expect(noServer.reason).to.equal('KubeconfigParseFailed');
    expect(noServer.message).to.contain('expected a YAML mapping');
    const noContext = await checkClusterConfig(config(ref()), deps({ 'hub/kc': { value: 'kind: Config\nclusters: []' } }));
    expect(noContext).to.include({ reason: 'KubeconfigParseFailed' });
    expect(noContext.message).to.contain('no current-context');
    const down = await checkClusterConfig(
      config(ref('cfg')),
      deps({ 'hub/kc': { cfg: KUBECONFIG } }, async () => {
        throw new Error('connect ECONNREFUSED');
      }),
    );
    expect(down).to.deep.equal({ status: 'False', reason: 'ClusterUnreachable', message: 'cluster unreachable: connect ECONNREFUSED' });
  });

  it('tells a secret the controller may not read (403) apart from a missing one', async () => {
    const forbidden = {
      readSecret: async () => {
        throw Object.assign(new Error('HTTP-Code: 403 secrets "kc" is forbidden'), { code: 403 });
      },
      probe: async () => {},
    };
    const outcome = await checkClusterConfig(config(ref()), forbidden);
    expect(outcome).to.include({ status: 'False', reason: 'SecretAccessDenied' });
    expect(outcome.message).to.contain('grant it access to namespace hub');
  });

  it('is Ready when the kubeconfig works, probing the server it names', async () => {
    let probed = '';
    const outcome = await checkClusterConfig(
      config(ref()),
      deps({ 'hub/kc': { value: KUBECONFIG } }, async (kc) => {
        probed = kc.getCurrentCluster()?.server ?? '';
      }),
    );
    expect(outcome).to.deep.equal({ status: 'True', reason: 'KubeconfigValidated', message: 'Kubeconfig validated and cluster reachable' });
    expect(probed).to.equal('https://spoke.example:6443');
  });

  it('says honestly that OIDC configs are not checked', async () => {
    const outcome = await checkClusterConfig(
      config({ authType: 'OIDC', oidcAuth: { issuerURL: 'https://idp', clientID: 'x', server: 'https://spoke' } }),
      deps({}),
    );
    expect(outcome).to.include({ status: 'Unknown', reason: 'AuthMethodNotSupported' });
    expect(outcome.message).to.contain('not checked');
  });
});

describe('ClusterConfig checker loop', () => {
  it('writes Ready and an event when the condition changes, and nothing when it does not', async () => {
    const { store, deps, metrics, advance } = setup();
    store.secrets.set('hub/kc', { value: KUBECONFIG });
    store.add('good', ref());
    store.add('broken', { kubeconfigSecretRef: { name: 'missing', namespace: 'hub' } });

    const first = await runClusterConfigCheck(deps, ctx());
    expect(first).to.include({ checked: 2, ready: 1, notReady: 1, updated: 2 });
    expect(ready(store, 'good')).to.deep.include({
      status: 'True',
      reason: 'KubeconfigValidated',
      lastTransitionTime: '2026-05-01T10:00:00Z',
      observedGeneration: 1,
    });
    expect(ready(store, 'broken')).to.include({ status: 'False', reason: 'SecretMissing' });
    expect(store.get('good')?.status?.observedGeneration).to.equal(1);
    expect(store.events.map((e) => `${e.config}:${e.event.type}:${e.event.reason}`)).to.have.members([
      'good:Normal:ClusterConfigValidationSucceeded',
      'broken:Warning:ClusterConfigValidationFailed',
    ]);

    advance(60_000);
    const second = await runClusterConfigCheck(deps, ctx());
    expect(second.updated).to.equal(0);
    expect(store.writes).to.equal(2);
    expect(store.events).to.have.length(2);

    // The secret appears: broken becomes ready, with a new transition time and one more event.
    store.secrets.set('hub/missing', { value: KUBECONFIG });
    advance(60_000);
    await runClusterConfigCheck(deps, ctx());
    expect(ready(store, 'broken')).to.include({ status: 'True', lastTransitionTime: '2026-05-01T10:02:00Z' });
    expect(store.events).to.have.length(3);

    const checked = (await metrics.clusterConfigsChecked.get()).values.find((v) => v.labels.cluster === 'good');
    const failed = (await metrics.clusterConfigsFailed.get()).values.find((v) => v.labels.cluster === 'broken');
    expect(checked?.value).to.equal(3);
    expect(failed?.value).to.equal(2);
  });

  it('keeps lastTransitionTime when only the message changes', async () => {
    const { store, deps, advance } = setup(async () => {
      throw new Error(`timeout ${calls++}`);
    });
    let calls = 0;
    store.secrets.set('hub/kc', { value: KUBECONFIG });
    store.add('flaky', ref());
    await runClusterConfigCheck(deps, ctx());
    advance(60_000);
    await runClusterConfigCheck(deps, ctx());
    expect(ready(store, 'flaky')).to.include({
      status: 'False',
      message: 'cluster unreachable: timeout 1',
      lastTransitionTime: '2026-05-01T10:00:00Z',
    });
  });

  it('a conflicting write is skipped and retried on the next pass', async () => {
    const { store, deps } = setup();
    store.secrets.set('hub/kc', { value: KUBECONFIG });
    store.add('raced', ref());
    const original = store.list.bind(store);
    // The pass sees an older resourceVersion than the store holds.
    store.list = async () => (await original()).map((c) => ({ ...c, metadata: { ...c.metadata, resourceVersion: '0' } }));
    const first = await runClusterConfigCheck(deps, ctx());
    expect(first).to.include({ conflicts: 1, updated: 0 });
    expect(store.events).to.have.length(0);
    store.list = original;
    expect((await runClusterConfigCheck(deps, ctx())).updated).to.equal(1);
  });

  it('a fenced guard prevents every write and ends the pass', async () => {
    const { store, deps } = setup();
    store.add('a', ref());
    store.add('b', ref());
    const fenced: WriteGuard = {
      assertCanWrite() {
        throw new FencedError();
      },
    };
    let error: unknown;
    await runClusterConfigCheck(deps, ctx(fenced)).catch((err) => (error = err));
    expect(error).to.be.instanceOf(FencedError);
    expect(store.writes).to.equal(0);
    expect(store.events).to.have.length(0);
  });

  it('stops between configs when the signal aborts', async () => {
    const controller = new AbortController();
    const { store, deps } = setup(async () => controller.abort());
    store.secrets.set('hub/kc', { value: KUBECONFIG });
    store.add('a', ref());
    store.add('b', ref());
    const counts = await runClusterConfigCheck(deps, ctx(unfencedGuard, controller.signal));
    expect(counts.checked).to.equal(1);
  });

  it("hands the loop's signal to every store request and the probe", async () => {
    const signals: (AbortSignal | undefined)[] = [];
    const { store, deps } = setup(async (_kc, signal) => void signals.push(signal));
    store.secrets.set('hub/kc', { value: KUBECONFIG });
    store.add('a', ref());
    const list = store.list.bind(store);
    const readSecret = store.readSecret.bind(store);
    const writeStatus = store.writeStatus.bind(store);
    const recordEvent = store.recordEvent.bind(store);
    store.list = (signal) => (signals.push(signal), list());
    store.readSecret = (ns, name, signal) => (signals.push(signal), readSecret(ns, name));
    store.writeStatus = (c, s, rv, signal) => (signals.push(signal), writeStatus(c, s, rv));
    store.recordEvent = (c, e, signal) => (signals.push(signal), recordEvent(c, e));
    const controller = new AbortController();
    await runClusterConfigCheck(deps, ctx(unfencedGuard, controller.signal));
    expect(signals).to.have.length(5);
    for (const signal of signals) expect(signal).to.equal(controller.signal);
  });

  it('records nothing for a config whose check the end of the term cut short', async () => {
    const controller = new AbortController();
    const { store, deps } = setup(async () => {
      controller.abort();
      throw new Error('term ended');
    });
    store.secrets.set('hub/kc', { value: KUBECONFIG });
    store.add('a', ref());
    const counts = await runClusterConfigCheck(deps, ctx(unfencedGuard, controller.signal));
    expect(counts).to.include({ updated: 0, errors: 0 });
    expect(store.writes).to.equal(0);
  });

  it('reports a pass in which a config failed as partial, a clean one as success', async () => {
    const { store, deps } = setup();
    store.secrets.set('hub/kc', { value: KUBECONFIG });
    store.add('a', ref());
    store.add('b', ref());
    const loop = clusterConfigCheckerLoop(deps, 600_000);
    const writeStatus = store.writeStatus.bind(store);
    store.writeStatus = async (c, s, rv, signal) => {
      if (c.metadata?.name === 'a') throw new Error('HTTP 500');
      return writeStatus(c, s, rv, signal);
    };
    expect(await loop.runPass(ctx())).to.equal('partial');
    store.writeStatus = writeStatus;
    expect(await loop.runPass(ctx())).to.equal('success');
  });

  it('is a leader-only loop named cluster-config-checker', () => {
    const { deps } = setup();
    expect(clusterConfigCheckerLoop(deps, 600_000)).to.include({
      name: 'cluster-config-checker',
      leaderOnly: true,
      intervalMs: 600_000,
    });
  });
});
