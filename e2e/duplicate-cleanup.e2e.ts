/**
 * Duplicate cleanup on a real API server, with the race that could leave a user without access:
 * the pass picks a survivor, the user drops exactly that survivor, and only then would the pass
 * end the duplicate. The drop is injected at that exact point (after the pass has read every
 * member of the group live) by a repository wrapper, in process, so the test is deterministic.
 */
import { expect } from 'chai';
import type { KubeConfig } from '@kubernetes/client-node';
import { installCrds } from '../crds/install.ts';
import type { BreakglassSession } from '../crds/index.ts';
import { capturingLogger } from '../controller/kube/capturing-logger.ts';
import { silentLogger } from '../controller/observability/logger.ts';
import { unfencedGuard } from '../controller/runtime/loop.ts';
import { runCleanupPass } from '../controller/sessions/cleanup-pass.ts';
import { KubernetesSessionRepository } from '../controller/sessions/kubernetes-session-repository.ts';
import { transition } from '../controller/sessions/state-machine.ts';
import { formatTime } from '../controller/sessions/timestamps.ts';
import { testCluster } from './harness/cluster.ts';
import { HookedSessionRepository, onceAllRead } from './harness/hooked-repository.ts';
import { createSession } from './harness/sessions.ts';
import { eventually } from './harness/wait.ts';

const HOUR = 3_600_000;

describe('duplicate cleanup on a real API server', function () {
  let kubeConfig: KubeConfig;
  let namespace: string;
  let repository: KubernetesSessionRepository;
  const stop = new AbortController();

  before(async () => {
    kubeConfig = testCluster().admin.kubeConfig;
    await installCrds(kubeConfig);
    namespace = await testCluster().createNamespace('dup');
    repository = new KubernetesSessionRepository(kubeConfig, { logger: silentLogger(), namespace });
    repository.start(stop.signal);
    await repository.whenSynced();
  });

  after(() => stop.abort());

  async function seedInCache(seeds: Parameters<typeof createSession>[2][]): Promise<void> {
    const written: BreakglassSession[] = [];
    // In order: the first is never younger than the second, so (same state aside) it survives.
    for (const seed of seeds) written.push(await createSession(kubeConfig, namespace, seed));
    const cached = (w: BreakglassSession) =>
      repository.listCached().some((c) => c.metadata?.uid === w.metadata?.uid && c.metadata?.resourceVersion === w.metadata?.resourceVersion);
    await eventually('the seeded sessions in the watch cache', 15_000, () => (written.every(cached) ? true : undefined));
  }

  it("keeps the duplicate when the user drops the survivor just before the duplicate would be ended", async () => {
    const user = { user: 'carol@example.com' };
    await seedInCache([
      {
        name: 'a-survivor',
        state: 'Approved',
        status: { approvedAt: formatTime(Date.now() - 60_000), expiresAt: formatTime(Date.now() + HOUR) },
        spec: user,
      },
      { name: 'b-duplicate', state: 'Pending', status: { timeoutAt: formatTime(Date.now() + HOUR) }, spec: user },
    ]);

    const hooked = new HookedSessionRepository(repository);
    let dropped: BreakglassSession | undefined;
    // The user's drop (T10), written as the REST API writes it: the state machine's status with
    // the resourceVersion just read. It lands after the pass chose a-survivor as the survivor.
    hooked.afterGetLive = onceAllRead(['a-survivor', 'b-duplicate'], async () => {
      const live = await repository.getLive(namespace, 'a-survivor');
      if (live === undefined) expect.fail('a-survivor vanished');
      const { status } = transition(live, { type: 'drop' }, new Date());
      dropped = await repository.writeStatus(live, status, live.metadata?.resourceVersion ?? '');
    });

    const { logger, records } = capturingLogger();
    const counts = await runCleanupPass({ repository: hooked, logger }, { signal: new AbortController().signal, guard: unfencedGuard });

    expect(dropped, 'the injected drop ran').to.not.equal(undefined);
    const survivor = await repository.getLive(namespace, 'a-survivor');
    const duplicate = await repository.getLive(namespace, 'b-duplicate');
    expect(survivor?.status).to.include({ state: 'Expired', reasonEnded: 'dropped' });
    // Without the re-read of the survivor the pass withdrew this one too: no access left at all.
    expect(duplicate?.status?.state, 'the user keeps the session they did not drop').to.equal('Pending');
    expect(duplicate?.status?.reasonEnded).to.equal(undefined);
    expect(counts).to.include({ duplicatesTerminated: 0, failed: 0 });
    expect(records.some((r) => r.msg === 'duplicate survivor changed; group left for the next pass')).to.equal(true);

    // With the survivor gone, the next pass has no duplicate group any more and ends nothing.
    await eventually('the drop in the watch cache', 15_000, () =>
      repository.listCached().some((s) => s.metadata?.name === 'a-survivor' && s.status?.state === 'Expired') ? true : undefined,
    );
    const next = await runCleanupPass({ repository, logger: silentLogger() }, { signal: new AbortController().signal, guard: unfencedGuard });
    expect(next.duplicatesTerminated).to.equal(0);
    expect((await repository.getLive(namespace, 'b-duplicate'))?.status?.state).to.equal('Pending');
  });

  it('still ends the duplicate when the survivor stays as it was chosen', async () => {
    const user = { user: 'dave@example.com' };
    await seedInCache([
      {
        name: 'c-survivor',
        state: 'Approved',
        status: { approvedAt: formatTime(Date.now() - 60_000), expiresAt: formatTime(Date.now() + HOUR) },
        spec: user,
      },
      { name: 'd-duplicate', state: 'Pending', status: { timeoutAt: formatTime(Date.now() + HOUR) }, spec: user },
    ]);
    const counts = await runCleanupPass({ repository, logger: silentLogger() }, { signal: new AbortController().signal, guard: unfencedGuard });
    expect(counts.duplicatesTerminated).to.equal(1);
    expect((await repository.getLive(namespace, 'c-survivor'))?.status?.state).to.equal('Approved');
    expect((await repository.getLive(namespace, 'd-duplicate'))?.status).to.include({
      state: 'Withdrawn',
      reasonEnded: 'withdrawn',
    });
  });
});
