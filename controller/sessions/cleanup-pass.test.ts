import { expect } from 'chai';
import type { BreakglassSession, BreakglassSessionStatus } from '../../crds/index.ts';
import { silentLogger } from '../observability/logger.ts';
import { ControllerMetrics } from '../observability/metrics.ts';
import { FencedError, type WriteGuard } from '../leadership/fencing.ts';
import { unfencedGuard, type LoopContext } from '../runtime/loop.ts';
import { capturingLogger } from '../kube/capturing-logger.ts';
import { cleanupLoop, runCleanupPass, type CleanupDeps } from './cleanup-pass.ts';
import { InMemorySessionRepository } from './in-memory-session-repository.ts';
import { transition } from './state-machine.ts';
import { runLoop } from '../runtime/loop-runner.ts';

const T0 = Date.parse('2026-03-01T12:00:00Z');
const MIN = 60_000;
const HOUR = 60 * MIN;
const iso = (offsetMs: number) => new Date(T0 + offsetMs).toISOString().replace('.000Z', 'Z');
const owner = [{ apiVersion: 'breakglass.t-caas.telekom.com/v1alpha1', kind: 'BreakglassEscalation', name: 'esc', uid: 'e1' }];

interface Fixture {
  repo: InMemorySessionRepository;
  deps: CleanupDeps;
  metrics: ControllerMetrics;
  /** Moves the fake clock. */
  clock: { now: number };
}

function fixture(): Fixture {
  const repo = new InMemorySessionRepository();
  const metrics = new ControllerMetrics({ defaultMetrics: false });
  const clock = { now: T0 };
  return { repo, metrics, clock, deps: { repository: repo, logger: silentLogger(), metrics, now: () => new Date(clock.now) } };
}

function ctx(guard: WriteGuard = unfencedGuard, signal: AbortSignal = new AbortController().signal): LoopContext {
  return { signal, guard };
}

function add(
  repo: InMemorySessionRepository,
  name: string,
  status: BreakglassSessionStatus,
  spec: Partial<BreakglassSession['spec']> = {},
  meta: Partial<NonNullable<BreakglassSession['metadata']>> = {},
): BreakglassSession {
  return repo.put({
    metadata: { name, namespace: 'ns', ownerReferences: owner, creationTimestamp: iso(-HOUR), ...meta },
    spec: { cluster: 'prod', user: `${name}@example.com`, grantedGroup: 'admins', ...spec },
    status,
  });
}

const stateOf = (repo: InMemorySessionRepository, name: string) => repo.get('ns', name)?.status?.state;

async function transitionsMetric(metrics: ControllerMetrics): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const value of (await metrics.sessionTransitions.get()).values) {
    out[`${value.labels.from}->${value.labels.to}`] = value.value;
  }
  return out;
}

describe('cleanup pass', () => {
  describe('step 1: scheduled activation', () => {
    it('activates a waiting session whose start has come (T4) and leaves a future one alone', async () => {
      const { repo, deps } = fixture();
      add(repo, 'due', { state: 'WaitingForScheduledTime', approvedAt: iso(-HOUR), expiresAt: iso(HOUR) }, { scheduledStartTime: iso(-MIN) });
      add(repo, 'later', { state: 'WaitingForScheduledTime', approvedAt: iso(-HOUR), expiresAt: iso(3 * HOUR) }, { scheduledStartTime: iso(HOUR) });
      const counts = await runCleanupPass(deps, ctx());
      expect(counts.activated).to.equal(1);
      const due = repo.get('ns', 'due');
      expect(due?.status).to.include({ state: 'Approved', actualStartTime: iso(0) });
      expect(due?.status?.conditions?.[0]).to.include({ type: 'ScheduledStartTimeReached', reason: 'ActivationTriggered' });
      expect(stateOf(repo, 'later')).to.equal('WaitingForScheduledTime');
    });

    it('expires a waiting session without a start (T5) and one whose validity passed before activation (T6)', async () => {
      const { repo, deps } = fixture();
      add(repo, 'nostart', { state: 'WaitingForScheduledTime', approvedAt: iso(-HOUR), expiresAt: iso(HOUR) });
      add(repo, 'toolate', { state: 'WaitingForScheduledTime', approvedAt: iso(-3 * HOUR), expiresAt: iso(-MIN) }, { scheduledStartTime: iso(-2 * HOUR) });
      const counts = await runCleanupPass(deps, ctx());
      expect(counts.expiredBeforeActivation).to.equal(2);
      expect(repo.get('ns', 'nostart')?.status).to.include({ state: 'Expired', reasonEnded: 'missingScheduledStartTime', expiresAt: iso(0) });
      expect(repo.get('ns', 'toolate')?.status).to.include({
        state: 'Expired',
        reasonEnded: 'scheduledSessionExpiredBeforeActivation',
        expiresAt: iso(-MIN),
        retainedUntil: iso(720 * HOUR),
      });
    });
  });

  describe('steps 2 and 3: approval timeout and expiry', () => {
    it('times out pending sessions past timeoutAt (T12) and expires approved ones past expiresAt (T13)', async () => {
      const { repo, deps, metrics } = fixture();
      add(repo, 'late', { state: 'Pending', timeoutAt: iso(-1000) });
      add(repo, 'fresh', { state: 'Pending', timeoutAt: iso(HOUR) }, { user: 'other' });
      add(repo, 'over', { state: 'Approved', approvedAt: iso(-2 * HOUR), expiresAt: iso(-1000) }, { retainFor: '1h' });
      add(repo, 'running', { state: 'Approved', approvedAt: iso(-MIN), expiresAt: iso(HOUR) });
      const counts = await runCleanupPass(deps, ctx());
      expect(counts).to.include({ approvalTimedOut: 1, expired: 1 });
      expect(repo.get('ns', 'late')?.status).to.include({ state: 'ApprovalTimeout', reasonEnded: 'approvalTimeout' });
      expect(repo.get('ns', 'over')?.status).to.include({ state: 'Expired', reasonEnded: 'timeExpired', retainedUntil: iso(HOUR) });
      expect(stateOf(repo, 'fresh')).to.equal('Pending');
      expect(stateOf(repo, 'running')).to.equal('Approved');
      expect(await transitionsMetric(metrics)).to.deep.equal({ 'Pending->ApprovalTimeout': 1, 'Approved->Expired': 1 });
    });

    it('re-reads live state: a session approved after the cache saw it pending is not timed out', async () => {
      const { repo, deps } = fixture();
      add(repo, 'raced', { state: 'Pending', timeoutAt: iso(-1000) });
      repo.autoSync = false;
      repo.modify('ns', 'raced', (s) => {
        s.status = { state: 'Approved', approvedAt: iso(-10), expiresAt: iso(HOUR) };
      });
      const counts = await runCleanupPass(deps, ctx());
      expect(counts.approvalTimedOut).to.equal(0);
      expect(counts.skipped).to.be.greaterThan(0);
      expect(stateOf(repo, 'raced')).to.equal('Approved');
      expect(repo.writes).to.have.length(0);
    });

    it('skips a candidate deleted since the cache saw it', async () => {
      const { repo, deps } = fixture();
      add(repo, 'gone', { state: 'Approved', expiresAt: iso(-1000) });
      repo.autoSync = false;
      repo.remove('ns', 'gone');
      const counts = await runCleanupPass(deps, ctx());
      expect(counts).to.include({ expired: 0, skipped: 1 });
    });
  });

  describe('step 4: duplicates', () => {
    it('keeps Approved over Waiting over Pending and ends the others (T15/T16)', async () => {
      const { repo, deps } = fixture();
      const same = { user: 'dup@example.com' };
      add(repo, 'p', { state: 'Pending', timeoutAt: iso(HOUR) }, same, { creationTimestamp: iso(-3 * HOUR) });
      add(repo, 'w', { state: 'WaitingForScheduledTime', approvedAt: iso(-MIN), expiresAt: iso(3 * HOUR) }, { ...same, scheduledStartTime: iso(HOUR) });
      add(repo, 'a', { state: 'Approved', approvedAt: iso(-MIN), expiresAt: iso(HOUR) }, same, { creationTimestamp: iso(-MIN) });
      add(repo, 'unrelated', { state: 'Pending', timeoutAt: iso(HOUR) }, { ...same, grantedGroup: 'viewers' });
      const counts = await runCleanupPass(deps, ctx());
      expect(counts.duplicatesTerminated).to.equal(2);
      expect(stateOf(repo, 'a')).to.equal('Approved');
      expect(repo.get('ns', 'p')?.status).to.include({ state: 'Withdrawn', reasonEnded: 'withdrawn', withdrawnAt: iso(0) });
      expect(repo.get('ns', 'p')?.status?.conditions?.at(-1)).to.include({
        type: 'Canceled',
        reason: 'DuplicateSessionWithdrawn',
        message: 'Withdrawn as a duplicate of session a.',
      });
      expect(repo.get('ns', 'w')?.status).to.include({ state: 'Withdrawn' });
      expect(stateOf(repo, 'unrelated')).to.equal('Pending');
    });

    it('among equal states keeps the oldest, then the first by name', async () => {
      const { repo, deps } = fixture();
      const same = { user: 'dup@example.com' };
      const approved: BreakglassSessionStatus = { state: 'Approved', approvedAt: iso(-MIN), expiresAt: iso(HOUR) };
      add(repo, 'young', approved, same, { creationTimestamp: iso(-MIN) });
      add(repo, 'old-b', approved, same, { creationTimestamp: iso(-HOUR) });
      add(repo, 'old-a', approved, same, { creationTimestamp: iso(-HOUR) });
      await runCleanupPass(deps, ctx());
      expect(stateOf(repo, 'old-a')).to.equal('Approved');
      expect(repo.get('ns', 'old-b')?.status).to.include({ state: 'Expired', reasonEnded: 'duplicateCleanup', expiresAt: iso(0) });
      expect(repo.get('ns', 'young')?.status).to.include({ state: 'Expired', reasonEnded: 'duplicateCleanup' });
    });

    it('does not count a session that no longer occupies a slot as a duplicate', async () => {
      const { repo, deps } = fixture();
      const same = { user: 'dup@example.com' };
      add(repo, 'a', { state: 'Approved', approvedAt: iso(-MIN), expiresAt: iso(HOUR) }, same);
      add(repo, 'old', { state: 'Pending', timeoutAt: iso(-1000) }, same);
      await runCleanupPass(deps, ctx());
      // The timed-out one ends by timeout (step 2), not as a duplicate.
      expect(repo.get('ns', 'old')?.status).to.include({ state: 'ApprovalTimeout' });
      expect(stateOf(repo, 'a')).to.equal('Approved');
    });

    /**
     * Runs `change` once, right after every member of the group has been read live once: the
     * moment between choosing the survivor and ending the duplicates.
     */
    function afterGroupRead(repo: InMemorySessionRepository, members: string[], change: () => void): void {
      const read = new Set<string>();
      let done = false;
      const getLive = repo.getLive.bind(repo);
      repo.getLive = async (namespace, name, signal) => {
        const live = await getLive(namespace, name, signal);
        read.add(name);
        if (!done && members.every((m) => read.has(m))) {
          done = true;
          change();
        }
        return live;
      };
    }

    it('does not end a duplicate when the survivor was dropped after it was chosen', async () => {
      const { repo, deps, clock } = fixture();
      const { logger, records } = capturingLogger();
      const same = { user: 'dup@example.com' };
      const approved: BreakglassSessionStatus = { state: 'Approved', approvedAt: iso(-MIN), expiresAt: iso(HOUR) };
      add(repo, 'survivor', approved, same, { creationTimestamp: iso(-HOUR) });
      add(repo, 'duplicate', approved, same, { creationTimestamp: iso(-MIN) });
      // The user drops the survivor (T10) through the API while the pass is between its steps.
      afterGroupRead(repo, ['survivor', 'duplicate'], () =>
        repo.modify('ns', 'survivor', (s) => {
          s.status = transition(s, { type: 'drop' }, new Date(clock.now)).status;
        }),
      );
      const counts = await runCleanupPass({ ...deps, logger }, ctx());
      expect(repo.get('ns', 'survivor')?.status).to.include({ state: 'Expired', reasonEnded: 'dropped' });
      // The user keeps the session they did not drop.
      expect(stateOf(repo, 'duplicate')).to.equal('Approved');
      expect(counts).to.include({ duplicatesTerminated: 0, failed: 0 });
      expect(counts.skipped).to.equal(1);
      expect(records.find((r) => r.msg === 'duplicate survivor changed; group left for the next pass')).to.include({
        survivor: 'ns/survivor',
      });
    });

    it('does not end a duplicate when the survivor was deleted after it was chosen', async () => {
      const { repo, deps } = fixture();
      const same = { user: 'dup@example.com' };
      add(repo, 'survivor', { state: 'Approved', approvedAt: iso(-MIN), expiresAt: iso(HOUR) }, same);
      add(repo, 'duplicate', { state: 'Pending', timeoutAt: iso(HOUR) }, same);
      afterGroupRead(repo, ['survivor', 'duplicate'], () => repo.remove('ns', 'survivor'));
      const counts = await runCleanupPass(deps, ctx());
      expect(stateOf(repo, 'duplicate')).to.equal('Pending');
      expect(counts.duplicatesTerminated).to.equal(0);
    });

    it('still ends duplicates when the survivor only recorded activity (same state, new resourceVersion)', async () => {
      const { repo, deps } = fixture();
      const same = { user: 'dup@example.com' };
      const approved: BreakglassSessionStatus = { state: 'Approved', approvedAt: iso(-MIN), expiresAt: iso(HOUR) };
      add(repo, 'survivor', approved, same, { creationTimestamp: iso(-HOUR) });
      add(repo, 'duplicate', approved, same, { creationTimestamp: iso(-MIN) });
      afterGroupRead(repo, ['survivor', 'duplicate'], () =>
        repo.modify('ns', 'survivor', (s) => {
          s.status = { ...s.status, lastActivity: iso(0), activityCount: 1 };
        }),
      );
      const counts = await runCleanupPass(deps, ctx());
      expect(counts.duplicatesTerminated).to.equal(1);
      expect(stateOf(repo, 'survivor')).to.equal('Approved');
      expect(repo.get('ns', 'duplicate')?.status).to.include({ state: 'Expired', reasonEnded: 'duplicateCleanup' });
    });
  });

  describe('step 5: idle expiry', () => {
    it('idle-expires an approved session without activity for idleTimeout (T14); no activity recorded = never', async () => {
      const { repo, deps } = fixture();
      add(repo, 'idle', { state: 'Approved', expiresAt: iso(HOUR), lastActivity: iso(-20 * MIN) }, { idleTimeout: '15m' });
      add(repo, 'busy', { state: 'Approved', expiresAt: iso(HOUR), lastActivity: iso(-MIN) }, { idleTimeout: '15m', user: 'b' });
      add(repo, 'untracked', { state: 'Approved', expiresAt: iso(HOUR) }, { idleTimeout: '15m', user: 'c' });
      const counts = await runCleanupPass(deps, ctx());
      expect(counts.idleExpired).to.equal(1);
      expect(repo.get('ns', 'idle')?.status).to.include({ state: 'IdleExpired', reasonEnded: 'idleTimeout' });
      expect(stateOf(repo, 'busy')).to.equal('Approved');
      expect(stateOf(repo, 'untracked')).to.equal('Approved');
    });
  });

  describe('step 6: retention', () => {
    it('deletes ended sessions past retainedUntil and ended orphans, never open ones', async () => {
      const { repo, deps } = fixture();
      add(repo, 'old', { state: 'Expired', retainedUntil: iso(-1000) });
      add(repo, 'kept', { state: 'Rejected', retainedUntil: iso(HOUR) });
      add(repo, 'orphan', { state: 'Withdrawn' }, {}, { ownerReferences: [] });
      add(repo, 'owned-no-retention', { state: 'Withdrawn' });
      add(repo, 'open-stale', { state: 'Approved', expiresAt: iso(HOUR), retainedUntil: iso(-HOUR) });
      add(repo, 'open-orphan', { state: 'Pending', timeoutAt: iso(HOUR) }, { user: 'z' }, { ownerReferences: [] });
      const counts = await runCleanupPass(deps, ctx());
      expect(counts.deleted).to.equal(2);
      expect(repo.deletes.map((d) => d.name).sort()).to.deep.equal(['old', 'orphan']);
      for (const name of ['kept', 'owned-no-retention', 'open-stale', 'open-orphan']) {
        expect(repo.get('ns', name), name).to.not.equal(undefined);
      }
    });

    it('does not delete a session that changed since it was read', async () => {
      const { repo, deps } = fixture();
      add(repo, 'old', { state: 'Expired', retainedUntil: iso(-1000) });
      repo.beforeWrite = (ns, name) => repo.modify(ns, name, (s) => (s.metadata = { ...s.metadata, labels: { touched: 'yes' } }));
      const counts = await runCleanupPass(deps, ctx());
      expect(counts).to.include({ deleted: 0, skipped: 1 });
      expect(repo.get('ns', 'old')).to.not.equal(undefined);
    });
  });

  describe('step 7: stateless sessions', () => {
    it('deletes a session without state older than 5 minutes, never a young one or one with a state', async () => {
      const { repo, deps } = fixture();
      repo.put({
        metadata: { name: 'half', namespace: 'ns', ownerReferences: owner, creationTimestamp: iso(-6 * MIN) },
        spec: { cluster: 'prod', user: 'half@example.com', grantedGroup: 'admins' },
      });
      repo.put({
        metadata: { name: 'young', namespace: 'ns', ownerReferences: owner, creationTimestamp: iso(-MIN) },
        spec: { cluster: 'prod', user: 'young@example.com', grantedGroup: 'admins' },
      });
      add(repo, 'pending', { state: 'Pending', timeoutAt: iso(HOUR) }, {}, { creationTimestamp: iso(-HOUR) });
      const { logger, records } = capturingLogger();
      const counts = await runCleanupPass({ ...deps, logger }, ctx());
      expect(counts).to.include({ statelessDeleted: 1, deleted: 0 });
      expect(repo.deletes.map((d) => d.name)).to.deep.equal(['half']);
      expect(repo.get('ns', 'young')).to.not.equal(undefined);
      expect(repo.get('ns', 'pending')).to.not.equal(undefined);
      expect(records.some((r) => r.msg === 'Deleted stateless breakglass session' && r.session === 'ns/half')).to.equal(true);
    });

    it('keeps a stateless session that got its state before the delete (precondition)', async () => {
      const { repo, deps } = fixture();
      repo.put({
        metadata: { name: 'half', namespace: 'ns', ownerReferences: owner, creationTimestamp: iso(-6 * MIN) },
        spec: { cluster: 'prod', user: 'half@example.com', grantedGroup: 'admins' },
      });
      repo.beforeWrite = (ns, name) => repo.modify(ns, name, (s) => (s.metadata = { ...s.metadata, labels: { touched: 'yes' } }));
      const counts = await runCleanupPass(deps, ctx());
      expect(counts).to.include({ statelessDeleted: 0, skipped: 1 });
      expect(repo.get('ns', 'half')).to.not.equal(undefined);
    });
  });

  it('runs the steps in the reference order: activate, timeout, expire, duplicates, idle, delete', async () => {
    const { repo, deps } = fixture();
    // Inserted in reverse order so that the store's order cannot produce the expected one.
    add(repo, 'f-retained', { state: 'Expired', retainedUntil: iso(-1000) });
    add(repo, 'e-idle', { state: 'Approved', expiresAt: iso(HOUR), lastActivity: iso(-HOUR) }, { idleTimeout: '10m' });
    add(repo, 'd-dup-1', { state: 'Pending', timeoutAt: iso(HOUR) }, { user: 'dup' }, { creationTimestamp: iso(-2 * HOUR) });
    add(repo, 'd-dup-2', { state: 'Pending', timeoutAt: iso(HOUR) }, { user: 'dup' });
    add(repo, 'c-expired', { state: 'Approved', expiresAt: iso(-1000) });
    add(repo, 'b-timeout', { state: 'Pending', timeoutAt: iso(-1000) });
    add(repo, 'a-due', { state: 'WaitingForScheduledTime', expiresAt: iso(HOUR) }, { scheduledStartTime: iso(-MIN) });
    const order: string[] = [];
    repo.beforeWrite = (_ns, name) => order.push(name);
    await runCleanupPass(deps, ctx());
    expect(order).to.deep.equal(['a-due', 'b-timeout', 'c-expired', 'd-dup-2', 'e-idle', 'f-retained']);
  });

  describe('concurrency and fencing', () => {
    it('a conflicting write skips the item; the next pass retries it', async () => {
      const { repo, deps } = fixture();
      add(repo, 'over', { state: 'Approved', expiresAt: iso(-1000) });
      let raced = false;
      repo.beforeWrite = (ns, name) => {
        if (raced) return;
        raced = true;
        repo.modify(ns, name, (s) => (s.status = { ...s.status, activityCount: 5 }));
      };
      const first = await runCleanupPass(deps, ctx());
      expect(first).to.include({ expired: 0, skipped: 1 });
      expect(stateOf(repo, 'over')).to.equal('Approved');
      const second = await runCleanupPass(deps, ctx());
      expect(second.expired).to.equal(1);
      // The concurrent change is kept, not overwritten.
      expect(repo.get('ns', 'over')?.status).to.include({ state: 'Expired', activityCount: 5 });
    });

    it('a guard that fences stops the pass before any write', async () => {
      const { repo, deps } = fixture();
      add(repo, 'due', { state: 'WaitingForScheduledTime', expiresAt: iso(HOUR) }, { scheduledStartTime: iso(-MIN) });
      add(repo, 'late', { state: 'Pending', timeoutAt: iso(-1000) }, { user: 'b' });
      add(repo, 'old', { state: 'Expired', retainedUntil: iso(-1000) });
      let checks = 0;
      const fenced: WriteGuard = {
        assertCanWrite() {
          checks++;
          throw new FencedError();
        },
      };
      let error: unknown;
      await runCleanupPass(deps, ctx(fenced)).catch((err) => (error = err));
      expect(error).to.be.instanceOf(FencedError);
      expect(checks).to.equal(1);
      expect(repo.writes).to.have.length(0);
      expect(repo.deletes).to.have.length(0);
    });

    it('an aborted signal stops the pass between items', async () => {
      const { repo, deps } = fixture();
      for (let i = 0; i < 5; i++) add(repo, `over-${i}`, { state: 'Approved', expiresAt: iso(-1000) }, { user: `u${i}` });
      const controller = new AbortController();
      repo.beforeWrite = () => {
        if (repo.writes.length === 1) controller.abort();
      };
      const counts = await runCleanupPass(deps, ctx(unfencedGuard, controller.signal));
      expect(counts.stoppedEarly).to.equal(true);
      expect(repo.writes).to.have.length(2);
      expect(counts.expired).to.equal(2);
    });

    it('an already aborted signal writes nothing', async () => {
      const { repo, deps } = fixture();
      add(repo, 'over', { state: 'Approved', expiresAt: iso(-1000) });
      const controller = new AbortController();
      controller.abort();
      await runCleanupPass(deps, ctx(unfencedGuard, controller.signal));
      expect(repo.writes).to.have.length(0);
    });
  });

  describe('failure isolation', () => {
    it('a session with an absurd retainFor does not stop the pass (poison pill)', async () => {
      const { repo, deps } = fixture();
      add(repo, 'poison', { state: 'Approved', expiresAt: iso(-1000) }, { retainFor: '99999999999h' });
      add(repo, 'next', { state: 'Approved', expiresAt: iso(-1000) }, { user: 'n' });
      const counts = await runCleanupPass(deps, ctx());
      expect(counts).to.include({ expired: 2, failed: 0 });
      // Out of range: the documented default retention (720h) applies.
      expect(repo.get('ns', 'poison')?.status).to.include({ state: 'Expired', retainedUntil: iso(720 * HOUR) });
    });

    it('an unexpected error for one session is logged and counted, and the pass goes on', async () => {
      const { repo, deps } = fixture();
      const { logger, records } = capturingLogger();
      add(repo, 'broken', { state: 'Approved', expiresAt: iso(-1000) });
      add(repo, 'fine', { state: 'Approved', expiresAt: iso(-1000) }, { user: 'f' });
      add(repo, 'old', { state: 'Expired', retainedUntil: iso(-1000) }, { user: 'o' });
      const getLive = repo.getLive.bind(repo);
      repo.getLive = async (namespace, name, signal) => {
        if (name === 'broken') throw new Error('connection reset');
        return getLive(namespace, name, signal);
      };
      const counts = await runCleanupPass({ ...deps, logger }, ctx());
      expect(counts).to.include({ expired: 1, deleted: 1, failed: 1, stoppedEarly: false });
      expect(stateOf(repo, 'fine')).to.equal('Expired');
      const warning = records.find((r) => r.level === 'warn');
      expect(warning).to.include({ session: 'ns/broken', msg: 'session cleanup failed; continuing with the next session' });
      expect((warning?.err as { message?: string }).message).to.equal('connection reset');
    });

    it('a failing write or delete is isolated too', async () => {
      const { repo, deps } = fixture();
      add(repo, 'a', { state: 'Approved', expiresAt: iso(-1000) });
      add(repo, 'b', { state: 'Approved', expiresAt: iso(-1000) }, { user: 'b' });
      add(repo, 'gone-a', { state: 'Expired', retainedUntil: iso(-1000) }, { user: 'c' });
      add(repo, 'gone-b', { state: 'Expired', retainedUntil: iso(-1000) }, { user: 'd' });
      repo.beforeWrite = (_ns, name) => {
        if (name === 'a' || name === 'gone-a') throw new Error('HTTP 500');
      };
      const counts = await runCleanupPass(deps, ctx());
      expect(counts).to.include({ expired: 1, deleted: 1, failed: 2 });
      expect(stateOf(repo, 'b')).to.equal('Expired');
      expect(repo.get('ns', 'gone-b')).to.equal(undefined);
    });

    it('hands its signal to every request, so aborting the term aborts requests in flight', async () => {
      const { repo, deps } = fixture();
      add(repo, 'over', { state: 'Approved', expiresAt: iso(-1000) });
      add(repo, 'later', { state: 'Approved', expiresAt: iso(-1000) }, { user: 'l' });
      const controller = new AbortController();
      const seen: (AbortSignal | undefined)[] = [];
      repo.getLive = (_namespace, _name, signal) => {
        seen.push(signal);
        // A hung request that only its signal ends.
        return new Promise((_, reject) => signal?.addEventListener('abort', () => reject(signal.reason), { once: true }));
      };
      setTimeout(() => controller.abort(new Error('term ended')), 20);
      const counts = await runCleanupPass(deps, ctx(unfencedGuard, controller.signal));
      expect(counts).to.include({ stoppedEarly: true, failed: 0, expired: 0 });
      expect(seen).to.have.length(1);
    });
  });

  describe('cleanupLoop', () => {
    /** Runs the loop under the real runner until its first pass was counted; returns the results. */
    async function firstPassResults(deps: CleanupDeps): Promise<Record<string, number>> {
      const metrics = new ControllerMetrics({ defaultMetrics: false });
      const controller = new AbortController();
      const counted = async () => (await metrics.loopRuns.get()).values.reduce((sum, v) => sum + v.value, 0);
      const running = runLoop(cleanupLoop(deps, HOUR), ctx(unfencedGuard, controller.signal), { logger: silentLogger(), metrics });
      const deadline = Date.now() + 10_000;
      while ((await counted()) === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
      controller.abort();
      await running;
      const out: Record<string, number> = {};
      for (const v of (await metrics.loopRuns.get()).values) out[String(v.labels.result)] = v.value;
      return out;
    }

    it('a pass stopped by its timeout is counted as timeout in breakglass_loop_runs_total, not success', async () => {
      const { repo, deps } = fixture();
      add(repo, 'over', { state: 'Approved', expiresAt: iso(-1000) });
      // The API server stops answering: the request only ends when the pass timeout aborts it.
      repo.getLive = (_namespace, _name, signal) =>
        new Promise((_, reject) => signal?.addEventListener('abort', () => reject(signal.reason), { once: true }));
      expect(await firstPassResults({ ...deps, passTimeoutMs: 50 })).to.deep.equal({ timeout: 1 });
    });

    it('a pass that finished with failed sessions is counted as partial; a clean one as success', async () => {
      const failing = fixture();
      add(failing.repo, 'a', { state: 'Approved', expiresAt: iso(-1000) });
      add(failing.repo, 'b', { state: 'Approved', expiresAt: iso(-1000) }, { user: 'b' });
      failing.repo.beforeWrite = (_ns, name) => {
        if (name === 'a') throw new Error('HTTP 500');
      };
      expect(await firstPassResults(failing.deps)).to.deep.equal({ partial: 1 });
      expect(stateOf(failing.repo, 'b')).to.equal('Expired');

      const clean = fixture();
      add(clean.repo, 'a', { state: 'Approved', expiresAt: iso(-1000) });
      expect(await firstPassResults(clean.deps)).to.deep.equal({ success: 1 });
    });

    it('is a leader-only loop named cleanup', () => {
      const { deps } = fixture();
      expect(cleanupLoop(deps, 5 * MIN)).to.include({ name: 'cleanup', leaderOnly: true, intervalMs: 5 * MIN });
    });

    it('on a cold start, waits for the cache to sync and then runs the pass', async () => {
      const { repo, deps } = fixture();
      const loop = cleanupLoop(deps, 5 * MIN);
      add(repo, 'over', { state: 'Approved', expiresAt: iso(-1000) });
      repo.synced = false;
      let finished = false;
      const pass = loop.runPass(ctx()).then(() => (finished = true));
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(finished, 'pass finished before the cache synced').to.equal(false);
      expect(stateOf(repo, 'over')).to.equal('Approved');
      repo.synced = true;
      await pass;
      expect(stateOf(repo, 'over')).to.equal('Expired');
    });

    it('returns promptly without a pass when the term ends while it waits for the sync', async () => {
      const { repo, deps } = fixture();
      const loop = cleanupLoop(deps, 5 * MIN);
      add(repo, 'over', { state: 'Approved', expiresAt: iso(-1000) });
      repo.synced = false;
      const controller = new AbortController();
      const pass = loop.runPass(ctx(unfencedGuard, controller.signal));
      controller.abort();
      await pass;
      repo.synced = true;
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(stateOf(repo, 'over')).to.equal('Approved');
      expect(repo.writes).to.have.length(0);
    });
  });
});
