/**
 * The session cleanup pass against a real API server: real BreakglassSessions (status written
 * through the status subresource), the Kubernetes repository with its watch cache, one pass,
 * then the objects as the API server stores them.
 */
import { expect } from 'chai';
import { CustomObjectsApi, RbacAuthorizationV1Api, type KubeConfig } from '@kubernetes/client-node';
import { installCrds } from '../crds/install.ts';
import {
  API_VERSION,
  GROUP,
  VERSION,
  plurals,
  type BreakglassSession,
  type BreakglassSessionStatus,
} from '../crds/index.ts';
import { silentLogger } from '../controller/observability/logger.ts';
import { ControllerMetrics } from '../controller/observability/metrics.ts';
import { unfencedGuard } from '../controller/runtime/loop.ts';
import { cleanupLoop, runCleanupPass } from '../controller/sessions/cleanup-pass.ts';
import { KubernetesSessionRepository } from '../controller/sessions/kubernetes-session-repository.ts';
import { ConflictError } from '../controller/kube/errors.ts';
import { formatTime } from '../controller/sessions/timestamps.ts';
import { testCluster } from './harness/cluster.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;
const ago = (ms: number) => formatTime(Date.now() - ms);
const later = (ms: number) => formatTime(Date.now() + ms);

async function eventually(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('session cleanup on a real API server', function () {
  let kubeConfig: KubeConfig;
  let api: CustomObjectsApi;
  let namespace: string;
  let owner: { apiVersion: string; kind: string; name: string; uid: string };
  let repository: KubernetesSessionRepository;
  const stop = new AbortController();

  before(async () => {
    kubeConfig = testCluster().admin.kubeConfig;
    await installCrds(kubeConfig);
    api = kubeConfig.makeApiClient(CustomObjectsApi);
    namespace = await testCluster().createNamespace('cleanup');
    // A real escalation owns the sessions, as in production (so they are not orphans, and a
    // garbage collector, where one runs, keeps them).
    const escalation = (await api.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace,
      plural: plurals.BreakglassEscalation,
      body: {
        apiVersion: API_VERSION,
        kind: 'BreakglassEscalation',
        metadata: { name: 'esc' },
        spec: {
          allowed: { clusters: ['prod'], groups: ['developers'] },
          approvers: { users: ['bob@example.com'] },
          escalatedGroup: 'admins',
        },
      },
    })) as { metadata: { uid: string } };
    owner = { apiVersion: API_VERSION, kind: 'BreakglassEscalation', name: 'esc', uid: escalation.metadata.uid };
    repository = new KubernetesSessionRepository(kubeConfig, { logger: silentLogger(), namespace });
    repository.start(stop.signal);
    await repository.whenSynced();
  });

  after(() => stop.abort());

  async function createSession(
    name: string,
    status: BreakglassSessionStatus,
    spec: Partial<BreakglassSession['spec']> = {},
    options: { owned?: boolean } = {},
  ): Promise<BreakglassSession> {
    const created = (await api.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace,
      plural: plurals.BreakglassSession,
      body: {
        apiVersion: API_VERSION,
        kind: 'BreakglassSession',
        metadata: { name, ...((options.owned ?? true) ? { ownerReferences: [owner] } : {}) },
        spec: { cluster: 'prod', user: `${name}@example.com`, grantedGroup: 'admins', ...spec },
      },
    })) as BreakglassSession;
    const written = (await api.replaceNamespacedCustomObjectStatus({
      group: GROUP,
      version: VERSION,
      namespace,
      plural: plurals.BreakglassSession,
      name,
      body: { ...created, status },
    })) as BreakglassSession;
    const version = written.metadata?.resourceVersion;
    await eventually(
      () => repository.listCached().some((s) => s.metadata?.name === name && s.metadata?.resourceVersion === version),
      `session ${name} in the watch cache`,
    );
    return written;
  }

  async function read(name: string): Promise<BreakglassSession | undefined> {
    return repository.getLive(namespace, name);
  }

  it('expires, times out, activates, de-duplicates and deletes real sessions in one pass', async () => {
    await createSession('expired', { state: 'Approved', approvedAt: ago(2 * HOUR), expiresAt: ago(MIN) }, { retainFor: '2h' });
    await createSession('running', { state: 'Approved', approvedAt: ago(MIN), expiresAt: later(HOUR) });
    await createSession('timedout', { state: 'Pending', timeoutAt: ago(MIN) });
    await createSession(
      'due',
      { state: 'WaitingForScheduledTime', approvedAt: ago(HOUR), expiresAt: later(HOUR) },
      { scheduledStartTime: ago(MIN) },
    );
    await createSession('dup-old', { state: 'Approved', approvedAt: ago(MIN), expiresAt: later(HOUR) }, { user: 'dup@example.com' });
    await new Promise((resolve) => setTimeout(resolve, 1100)); // creationTimestamp has second precision
    await createSession('dup-new', { state: 'Approved', approvedAt: ago(MIN), expiresAt: later(HOUR) }, { user: 'dup@example.com' });
    await createSession('retained', { state: 'Expired', reasonEnded: 'timeExpired', retainedUntil: ago(MIN) });
    await createSession('kept', { state: 'Rejected', reasonEnded: 'rejected', retainedUntil: later(HOUR) });
    await createSession('orphan', { state: 'Withdrawn', reasonEnded: 'withdrawn' }, {}, { owned: false });
    await createSession('open-stale', { state: 'Pending', timeoutAt: later(HOUR), retainedUntil: ago(HOUR) });

    const metrics = new ControllerMetrics({ defaultMetrics: false });
    const counts = await runCleanupPass(
      { repository, logger: silentLogger(), metrics },
      { signal: new AbortController().signal, guard: unfencedGuard },
    );
    expect(counts).to.include({
      activated: 1,
      approvalTimedOut: 1,
      expired: 1,
      duplicatesTerminated: 1,
      deleted: 2,
      stoppedEarly: false,
    });

    const expired = await read('expired');
    expect(expired?.status).to.include({ state: 'Expired', reasonEnded: 'timeExpired' });
    expect(Date.parse(expired?.status?.retainedUntil ?? '') - Date.now()).to.be.within(HOUR, 2 * HOUR + MIN);
    expect(expired?.status?.conditions?.find((c) => c.type === 'Expired')).to.include({
      status: 'True',
      reason: 'ExpiredByTime',
    });

    const timedOut = await read('timedout');
    expect(timedOut?.status).to.include({ state: 'ApprovalTimeout', reasonEnded: 'approvalTimeout' });
    expect(timedOut?.status?.conditions?.find((c) => c.type === 'Expired')).to.include({
      reason: 'ApprovalTimeout',
      message: 'Session approval timed out.',
    });

    const due = await read('due');
    expect(due?.status?.state).to.equal('Approved');
    expect(due?.status?.actualStartTime).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(due?.status?.conditions?.find((c) => c.type === 'ScheduledStartTimeReached')).to.include({
      status: 'True',
      reason: 'ActivationTriggered',
    });

    expect((await read('dup-old'))?.status?.state).to.equal('Approved');
    expect((await read('dup-new'))?.status).to.include({ state: 'Expired', reasonEnded: 'duplicateCleanup' });

    expect((await read('running'))?.status?.state).to.equal('Approved');
    expect(await read('retained')).to.equal(undefined);
    expect(await read('orphan')).to.equal(undefined);
    expect((await read('kept'))?.status?.state).to.equal('Rejected');
    expect((await read('open-stale'))?.status?.state).to.equal('Pending');

    const transitions = (await metrics.sessionTransitions.get()).values.map(
      (v) => `${v.labels.from}->${v.labels.to}=${v.value}`,
    );
    expect(transitions).to.have.members([
      'WaitingForScheduledTime->Approved=1',
      'Pending->ApprovalTimeout=1',
      'Approved->Expired=2',
    ]);
  });

  it('on a cold start the first pass waits for the watch cache instead of being skipped', async () => {
    await createSession('cold-start', { state: 'Approved', approvedAt: ago(2 * HOUR), expiresAt: ago(MIN) }, { user: 'cold@example.com' });
    const cold = new KubernetesSessionRepository(kubeConfig, { logger: silentLogger(), namespace });
    const stopCold = new AbortController();
    try {
      const pass = cleanupLoop({ repository: cold, logger: silentLogger() }, 5 * MIN).runPass({
        signal: stopCold.signal,
        guard: unfencedGuard,
      });
      expect(cold.hasSynced()).to.equal(false);
      cold.start(stopCold.signal);
      await pass;
      expect((await read('cold-start'))?.status).to.include({ state: 'Expired', reasonEnded: 'timeExpired' });
    } finally {
      stopCold.abort();
    }
  });

  it('refuses a status write or delete based on a stale resourceVersion with ConflictError', async () => {
    const original = await createSession('contended', { state: 'Pending', timeoutAt: later(HOUR) });
    const staleVersion = original.metadata?.resourceVersion ?? '';
    // Someone else changes the session after we read it.
    await repository.writeStatus(original, { ...original.status, approvalReason: 'changed elsewhere' }, staleVersion);

    let writeError: unknown;
    await repository
      .writeStatus(original, { ...original.status, state: 'Withdrawn' }, staleVersion)
      .catch((err) => (writeError = err));
    expect(writeError).to.be.instanceOf(ConflictError);

    let deleteError: unknown;
    await repository
      .delete(namespace, 'contended', { uid: original.metadata?.uid ?? '', resourceVersion: staleVersion })
      .catch((err) => (deleteError = err));
    expect(deleteError).to.be.instanceOf(ConflictError);

    const live = await read('contended');
    expect(live?.status).to.include({ state: 'Pending', approvalReason: 'changed elsewhere' });
    expect(await repository.delete(namespace, 'never-existed', { uid: 'x', resourceVersion: '1' })).to.equal(false);
  });

  it('keeps retrying a failing list/watch and syncs once it is allowed (informer restart)', async () => {
    const alice = testCluster().alice;
    const otherNamespace = await testCluster().createNamespace('cleanup-rbac');
    const aliceRepository = new KubernetesSessionRepository(alice.kubeConfig, {
      logger: silentLogger(),
      namespace: otherNamespace,
      informer: { initialBackoffMs: 100, maxBackoffMs: 400 },
    });
    const stopAlice = new AbortController();
    aliceRepository.start(stopAlice.signal);
    try {
      // Forbidden (403): client-node's informer would stop for good; ours keeps retrying.
      await new Promise((resolve) => setTimeout(resolve, 800));
      expect(aliceRepository.hasSynced()).to.equal(false);
      const rbac = kubeConfig.makeApiClient(RbacAuthorizationV1Api);
      await rbac.createNamespacedRole({
        namespace: otherNamespace,
        body: {
          metadata: { name: 'session-reader' },
          rules: [{ apiGroups: [GROUP], resources: [plurals.BreakglassSession], verbs: ['get', 'list', 'watch'] }],
        },
      });
      await rbac.createNamespacedRoleBinding({
        namespace: otherNamespace,
        body: {
          metadata: { name: 'session-reader' },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'session-reader' },
          subjects: [alice.subject],
        },
      });
      await eventually(() => aliceRepository.hasSynced(), 'the informer to sync after access was granted');
      await api.createNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: otherNamespace,
        plural: plurals.BreakglassSession,
        body: {
          apiVersion: API_VERSION,
          kind: 'BreakglassSession',
          metadata: { name: 'watched' },
          spec: { cluster: 'prod', user: 'w@example.com', grantedGroup: 'admins' },
        },
      });
      await eventually(
        () => aliceRepository.listCached().some((s) => s.metadata?.name === 'watched'),
        'the watch to deliver a new session',
      );
    } finally {
      stopAlice.abort();
    }
  });

  it('replaces its watch periodically without ever serving an empty cache', async () => {
    const refreshing = new KubernetesSessionRepository(kubeConfig, {
      logger: silentLogger(),
      namespace,
      informer: { refreshIntervalMs: 150 },
    });
    const stopRefreshing = new AbortController();
    refreshing.start(stopRefreshing.signal);
    try {
      await refreshing.whenSynced();
      const before = refreshing.listCached().length;
      expect(before).to.be.greaterThan(0);
      let smallest = before;
      const deadline = Date.now() + 1200; // several replacements
      while (Date.now() < deadline) {
        smallest = Math.min(smallest, refreshing.listCached().length);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      expect(smallest).to.equal(before);
      await createSession('after-refresh', { state: 'Pending', timeoutAt: later(HOUR) });
      await eventually(
        () => refreshing.listCached().some((s) => s.metadata?.name === 'after-refresh'),
        'a session created after several refreshes',
      );
    } finally {
      stopRefreshing.abort();
    }
  });
});
