/**
 * The session cleanup loop (reference §5.1): activates scheduled sessions, times out pending
 * ones, expires approved ones, ends duplicates, idle-expires, and deletes ended sessions after
 * their retention, in exactly that order.
 *
 * Candidates come from the watch cache; every candidate is re-read live and re-checked before
 * anything is written, and every write carries the resourceVersion of that live read, so a
 * concurrent change (an approver, another replica, an older leader) makes the write fail with a
 * conflict instead of being overwritten. The item is then left for the next pass. Each write is
 * preceded by the leadership term's fencing check.
 *
 * Failures are isolated per session: an unexpected error for one session (a request that failed
 * or timed out, a bug triggered by an odd object) is logged with the session's key, counted as
 * `failed`, and the pass goes on with the next one, so one poison object cannot stop cleanup for
 * the whole cluster. Only a FencedError (the term is over) or the pass's signal ends a pass early.
 * Every request carries the pass's signal (the term's signal plus the pass timeout).
 */
import type { BreakglassSession, SessionState } from '../../crds/index.ts';
import type { Logger } from '../observability/logger.ts';
import type { ControllerMetrics } from '../observability/metrics.ts';
import { FencedError } from '../leadership/fencing.ts';
import type { LoopContext, LoopDefinition, PassReport } from '../runtime/loop.ts';
import {
  isApprovalTimedOut,
  isExpired,
  isIdle,
  isOrphan,
  isPastRetention,
  occupiesSlot,
  stateOf,
} from './predicates.ts';
import { ConflictError } from '../kube/errors.ts';
import { duplicateGroups } from './duplicate-groups.ts';
import { SessionNotFoundError, type SessionRepository } from './session-repository.ts';
import { TransitionRefusedError, transition, type SessionEvent, type TransitionId } from './state-machine.ts';
import { parseTime } from './timestamps.ts';

/** The reference bounds one pass to 2 minutes (DefaultCleanupOperationTimeout). */
export const DEFAULT_PASS_TIMEOUT_MS = 2 * 60 * 1000;

export interface CleanupDeps {
  repository: SessionRepository;
  logger: Logger;
  metrics?: ControllerMetrics;
  /** Wall clock; tests pass a fake. */
  now?: () => Date;
  passTimeoutMs?: number;
}

export interface CleanupCounts {
  /** T4 */
  activated: number;
  /** T5, T6 */
  expiredBeforeActivation: number;
  /** T12 */
  approvalTimedOut: number;
  /** T13 */
  expired: number;
  /** T15, T16 */
  duplicatesTerminated: number;
  /** T14 */
  idleExpired: number;
  /** T18, T19 */
  deleted: number;
  /** Sessions that never got a state (half-created) and are older than STATELESS_GRACE_MS. */
  statelessDeleted: number;
  /** Candidates left alone because they changed, vanished or conflicted; retried next pass. */
  skipped: number;
  /** Candidates whose handling failed unexpectedly (logged at warn); retried next pass. */
  failed: number;
  /** The pass stopped early (signal aborted or pass timeout). */
  stoppedEarly: boolean;
  /** The pass timeout (not the end of the term) stopped it; the rest waits for the next pass. */
  timedOut: boolean;
}

/** How old a session without status.state must be before step 7 deletes it as half-created. */
export const STATELESS_GRACE_MS = 5 * 60_000;

/** One pass over the cache; shared state of the steps. */
class CleanupPass {
  readonly counts: CleanupCounts = {
    activated: 0,
    expiredBeforeActivation: 0,
    approvalTimedOut: 0,
    expired: 0,
    duplicatesTerminated: 0,
    idleExpired: 0,
    deleted: 0,
    statelessDeleted: 0,
    skipped: 0,
    failed: 0,
    stoppedEarly: false,
    timedOut: false,
  };

  constructor(
    private readonly deps: CleanupDeps,
    private readonly ctx: LoopContext,
    private readonly signal: AbortSignal,
  ) {}

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  private get repo(): SessionRepository {
    return this.deps.repository;
  }

  /** True when the pass must stop; checked between items. */
  private stopped(): boolean {
    if (this.signal.aborted) this.counts.stoppedEarly = true;
    return this.signal.aborted;
  }

  /**
   * Runs the handling of one item (`sessions` names it in the log). A FencedError ends the pass;
   * an error caused by the pass's own signal (an aborted request) just stops it; any other error
   * is logged and counted, and the pass continues.
   */
  private async isolate(sessions: string | string[], handle: () => Promise<void>): Promise<void> {
    try {
      await handle();
    } catch (err) {
      if (err instanceof FencedError) throw err;
      if (this.stopped()) return;
      this.counts.failed++;
      this.deps.logger.warn({ session: sessions, err }, 'session cleanup failed; continuing with the next session');
    }
  }

  async run(): Promise<CleanupCounts> {
    const steps = [
      () => this.activateScheduled(),
      () => this.expirePending(),
      () => this.expireApproved(),
      () => this.terminateDuplicates(),
      () => this.expireIdle(),
      () => this.deleteRetained(),
      () => this.deleteStateless(),
    ];
    for (const step of steps) {
      if (this.stopped()) break;
      await step();
    }
    return this.counts;
  }

  /** Step 1: WaitingForScheduledTime whose start is due (or missing) -> T4, T5 or T6. */
  private async activateScheduled(): Promise<void> {
    for (const cached of this.repo.listCachedByState('WaitingForScheduledTime')) {
      if (this.stopped()) return;
      const start = parseTime(cached.spec.scheduledStartTime);
      if (start !== undefined && start > this.now().getTime()) continue;
      await this.isolate(key(cached), async () => {
        this.deps.logger.info({ session: key(cached) }, 'Activating scheduled session');
        const written = await this.transitionLive(cached, 'WaitingForScheduledTime', { type: 'activateScheduled' });
        if (written === 'T4') {
          this.counts.activated++;
          this.deps.logger.info({ session: key(cached) }, 'Successfully activated scheduled session');
        } else if (written !== undefined) {
          this.counts.expiredBeforeActivation++;
        }
      });
    }
  }

  /** Step 2: Pending past timeoutAt -> T12. */
  private async expirePending(): Promise<void> {
    for (const cached of this.repo.listCachedByState('Pending')) {
      if (this.stopped()) return;
      if (!isApprovalTimedOut(cached, this.now())) continue;
      await this.isolate(key(cached), async () => {
        this.deps.logger.info({ session: key(cached) }, 'Expiring pending session due to approval timeout');
        if (await this.transitionLive(cached, 'Pending', { type: 'approvalTimeout' })) this.counts.approvalTimedOut++;
      });
    }
  }

  /** Step 3: Approved past expiresAt -> T13. */
  private async expireApproved(): Promise<void> {
    for (const cached of this.repo.listCachedByState('Approved')) {
      if (this.stopped()) return;
      if (!isExpired(cached, this.now())) continue;
      await this.isolate(key(cached), async () => {
        this.deps.logger.info({ session: key(cached) }, 'Expiring approved session due to reached ExpiresAt');
        if (await this.transitionLive(cached, 'Approved', { type: 'expire' })) this.counts.expired++;
      });
    }
  }

  /** Step 4: several active sessions for one (cluster, user, group): keep one, end the rest (T15/T16). */
  private async terminateDuplicates(): Promise<void> {
    for (const members of duplicateGroups(this.repo.listCachedByState('Pending', 'Approved', 'WaitingForScheduledTime'))) {
      if (this.stopped()) return;
      // One group is one unit: without all live members the survivor cannot be chosen.
      await this.isolate(members.map(key), () => this.terminateDuplicatesOf(members));
    }
  }

  private async terminateDuplicatesOf(members: BreakglassSession[]): Promise<void> {
    const live: BreakglassSession[] = [];
    for (const cached of members) {
      if (this.stopped()) return;
      const fresh = await this.repo.getLive(namespaceOf(cached), nameOf(cached), this.signal);
      if (fresh !== undefined && fresh.metadata?.uid === cached.metadata?.uid && occupiesSlot(fresh, this.now())) {
        live.push(fresh);
      }
    }
    if (live.length < 2) return;
    live.sort(survivorOrder);
    const [survivor, ...duplicates] = live as [BreakglassSession, ...BreakglassSession[]];
    this.deps.logger.info(
      { survivor: key(survivor), duplicates: duplicates.map(key) },
      'Duplicate active sessions detected — terminating duplicates',
    );
    for (const [index, duplicate] of duplicates.entries()) {
      if (this.stopped()) return;
      // Ending a duplicate is only right while the survivor still gives its user access: if the
      // user dropped it (or it ended or vanished) since it was chosen, the duplicate may now be
      // the user's only session. So the survivor is re-read live before every duplicate's write.
      if (!(await this.survivorStillActive(survivor))) {
        this.counts.skipped += duplicates.length - index;
        this.deps.logger.info(
          { survivor: key(survivor), duplicates: duplicates.slice(index).map(key) },
          'duplicate survivor changed; group left for the next pass',
        );
        return;
      }
      const event: SessionEvent = { type: 'terminateDuplicate', survivor: nameOf(survivor) };
      await this.isolate(key(duplicate), async () => {
        if (await this.writeTransition(duplicate, event)) this.counts.duplicatesTerminated++;
      });
    }
  }

  /**
   * True when a fresh read shows `survivor` (as read when it was chosen) still the same object in
   * the same state and still occupying its slot. A new resourceVersion alone (recorded activity)
   * does not count as a change: it leaves the survivor's access, and so the choice, as it was.
   */
  private async survivorStillActive(survivor: BreakglassSession): Promise<boolean> {
    const fresh = await this.repo.getLive(namespaceOf(survivor), nameOf(survivor), this.signal);
    return (
      fresh !== undefined &&
      fresh.metadata?.uid === survivor.metadata?.uid &&
      stateOf(fresh) === stateOf(survivor) &&
      occupiesSlot(fresh, this.now())
    );
  }

  /** Step 5: Approved with activity older than idleTimeout plus the recording lag (isIdle) -> T14. */
  private async expireIdle(): Promise<void> {
    for (const cached of this.repo.listCachedByState('Approved')) {
      if (this.stopped()) return;
      if (!isIdle(cached, this.now())) continue;
      await this.isolate(key(cached), async () => {
        this.deps.logger.info({ session: key(cached) }, 'Expiring idle session');
        if (await this.transitionLive(cached, 'Approved', { type: 'idleExpire' })) this.counts.idleExpired++;
      });
    }
  }

  /** Step 6: delete ended sessions past retainedUntil (T18) and ended orphans (T19). */
  private async deleteRetained(): Promise<void> {
    const before = this.counts.deleted;
    const deletable = (session: BreakglassSession) => isPastRetention(session, this.now()) || isOrphan(session);
    for (const cached of this.repo.listCached()) {
      if (this.stopped()) break;
      if (!deletable(cached)) continue;
      await this.isolate(key(cached), () => this.deleteOne(cached, deletable));
    }
    this.deps.logger.info({ count: this.counts.deleted - before }, 'Expired breakglass sessions deletion completed');
  }

  /**
   * Step 7: delete sessions that never got a state. A request whose first status write and
   * compensating delete both failed leaves one behind; it grants nothing (and counts towards a
   * session limit only in its first minute, as a request maybe under way), but nothing else
   * would ever remove it. The grace period leaves a request whose status
   * write is still under way alone. Deleted with uid + resourceVersion preconditions, so a
   * session that got its state in the meantime is kept.
   */
  private async deleteStateless(): Promise<void> {
    const before = this.counts.statelessDeleted;
    const now = this.now().getTime();
    const deletable = (session: BreakglassSession) => {
      const created = Date.parse(session.metadata?.creationTimestamp ?? '');
      return stateOf(session) === '' && Number.isFinite(created) && now - created > STATELESS_GRACE_MS;
    };
    for (const cached of this.repo.listCached()) {
      if (this.stopped()) break;
      if (!deletable(cached)) continue;
      await this.isolate(key(cached), async () => {
        const live = await this.readUnchanged(cached);
        if (live === undefined || !deletable(live)) {
          this.counts.skipped++;
          return;
        }
        this.ctx.guard.assertCanWrite();
        try {
          const deleted = await this.repo.delete(
            namespaceOf(live),
            nameOf(live),
            { uid: live.metadata?.uid ?? '', resourceVersion: live.metadata?.resourceVersion ?? '' },
            this.signal,
          );
          if (!deleted) {
            this.counts.skipped++;
            return;
          }
          this.counts.statelessDeleted++;
          this.deps.logger.info({ session: key(live), createdAt: live.metadata?.creationTimestamp }, 'Deleted stateless breakglass session');
        } catch (err) {
          if (!(err instanceof ConflictError)) throw err;
          this.counts.skipped++;
          this.deps.logger.info({ session: key(live) }, 'session changed before deletion; retrying next pass');
        }
      });
    }
    this.deps.logger.info({ count: this.counts.statelessDeleted - before }, 'Stateless breakglass sessions deletion completed');
  }

  private async deleteOne(cached: BreakglassSession, deletable: (session: BreakglassSession) => boolean): Promise<void> {
    const live = await this.readUnchanged(cached);
    // Re-checked on the live object: non-terminal sessions are never deleted.
    if (live === undefined || !deletable(live)) {
      this.counts.skipped++;
      return;
    }
    this.ctx.guard.assertCanWrite();
    try {
      const deleted = await this.repo.delete(
        namespaceOf(live),
        nameOf(live),
        { uid: live.metadata?.uid ?? '', resourceVersion: live.metadata?.resourceVersion ?? '' },
        this.signal,
      );
      if (deleted) {
        this.counts.deleted++;
        this.deps.logger.info(
          { session: key(live), state: stateOf(live), orphan: isOrphan(live) },
          'Deleted ended breakglass session',
        );
      } else {
        this.counts.skipped++;
      }
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
      this.counts.skipped++;
      this.deps.logger.info({ session: key(live) }, 'session changed before deletion; retrying next pass');
    }
  }

  /** The live object if it still exists with the same uid and state as the cached one. */
  private async readUnchanged(cached: BreakglassSession): Promise<BreakglassSession | undefined> {
    const live = await this.repo.getLive(namespaceOf(cached), nameOf(cached), this.signal);
    if (live === undefined || live.metadata?.uid !== cached.metadata?.uid) return undefined;
    if (stateOf(live) !== stateOf(cached)) return undefined;
    return live;
  }

  /** Re-reads `cached` and, if still in `expected`, applies `event`; returns the transition written. */
  private async transitionLive(
    cached: BreakglassSession,
    expected: SessionState,
    event: SessionEvent,
  ): Promise<TransitionId | undefined> {
    const live = await this.readUnchanged(cached);
    if (live === undefined || stateOf(live) !== expected) {
      this.counts.skipped++;
      this.deps.logger.debug({ session: key(cached) }, 'session changed or vanished since cached; skipped');
      return undefined;
    }
    return this.writeTransition(live, event);
  }

  /** Computes the transition on a live object and writes it with the live resourceVersion. */
  private async writeTransition(live: BreakglassSession, event: SessionEvent): Promise<TransitionId | undefined> {
    let result;
    try {
      result = transition(live, event, this.now());
    } catch (err) {
      if (!(err instanceof TransitionRefusedError)) throw err;
      // The live object no longer satisfies the precondition the cache suggested.
      this.counts.skipped++;
      this.deps.logger.debug({ session: key(live), reason: err.message }, 'transition no longer applies; skipped');
      return undefined;
    }
    this.ctx.guard.assertCanWrite();
    try {
      await this.repo.writeStatus(live, result.status, live.metadata?.resourceVersion ?? '', this.signal);
    } catch (err) {
      if (!(err instanceof ConflictError) && !(err instanceof SessionNotFoundError)) throw err;
      this.counts.skipped++;
      this.deps.logger.info(
        { session: key(live), from: result.from, to: result.to, err: err.message },
        'session changed concurrently; transition retried next pass',
      );
      return undefined;
    }
    this.deps.metrics?.sessionTransitions.inc({ from: result.from, to: result.to });
    this.deps.logger.info(
      {
        session: key(live),
        from: result.from,
        to: result.to,
        transition: result.id,
        reason: result.condition.reason,
        reasonEnded: result.status.reasonEnded,
      },
      'Session state transition',
    );
    return result.id;
  }
}

const STATE_PRIORITY: Partial<Record<SessionState, number>> = {
  Approved: 3,
  WaitingForScheduledTime: 2,
  Pending: 1,
};

/** Which duplicate survives: Approved > Waiting > Pending, then the oldest, then by name. */
export function survivorOrder(a: BreakglassSession, b: BreakglassSession): number {
  const priority = (s: BreakglassSession) => {
    const state = stateOf(s);
    return state === '' ? 0 : (STATE_PRIORITY[state] ?? 0);
  };
  const byState = priority(b) - priority(a);
  if (byState !== 0) return byState;
  const created = (s: BreakglassSession) => parseTime(s.metadata?.creationTimestamp) ?? Number.MAX_SAFE_INTEGER;
  const byAge = created(a) - created(b);
  if (byAge !== 0) return byAge;
  return compareText(nameOf(a), nameOf(b)) || compareText(namespaceOf(a), namespaceOf(b));
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function nameOf(session: BreakglassSession): string {
  return session.metadata?.name ?? '';
}

function namespaceOf(session: BreakglassSession): string {
  return session.metadata?.namespace ?? '';
}

function key(session: BreakglassSession): string {
  return `${namespaceOf(session)}/${nameOf(session)}`;
}

/**
 * Runs one cleanup pass. Stops when `ctx.signal` aborts or the pass timeout passes (requests in
 * flight are aborted too); a FencedError from the guard propagates and ends the pass at once;
 * any other error is confined to its session (counted in `failed`).
 */
export async function runCleanupPass(deps: CleanupDeps, ctx: LoopContext): Promise<CleanupCounts> {
  const timeout = AbortSignal.timeout(deps.passTimeoutMs ?? DEFAULT_PASS_TIMEOUT_MS);
  const signal = AbortSignal.any([ctx.signal, timeout]);
  deps.logger.info('Running breakglass session cleanup task');
  const counts = await new CleanupPass(deps, ctx, signal).run();
  counts.timedOut = counts.stoppedEarly && timeout.aborted && !ctx.signal.aborted;
  deps.logger.info({ ...counts }, 'Finished breakglass session cleanup task');
  return counts;
}

/** The cleanup loop for the runtime: leader only, one pass per interval. */
export function cleanupLoop(deps: CleanupDeps, intervalMs: number): LoopDefinition {
  return {
    name: 'cleanup',
    leaderOnly: true,
    intervalMs,
    async runPass(ctx: LoopContext): Promise<PassReport | void> {
      // A pass over an incomplete cache would miss sessions; skipping it instead would lose the
      // first pass after a cold start for a whole interval. So the pass waits for the sync.
      if (!deps.repository.hasSynced()) {
        deps.logger.info('session cache not synced yet; cleanup pass waits for it');
        if (!(await syncedOrAborted(deps.repository, ctx.signal))) return;
      }
      return passReport(await runCleanupPass(deps, ctx));
    },
  };
}

/** What a pass's counts mean for `breakglass_loop_runs_total{result}`. */
export function passReport(counts: CleanupCounts): PassReport {
  if (counts.timedOut) return 'timeout';
  return counts.failed > 0 ? 'partial' : 'success';
}

/** Resolves true once the repository's cache has synced, false as soon as `signal` aborts. */
function syncedOrAborted(repository: SessionRepository, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = (): void => resolve(false);
    signal.addEventListener('abort', onAbort, { once: true });
    repository.whenSynced().then(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve(!signal.aborted);
      },
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve(false);
      },
    );
  });
}
