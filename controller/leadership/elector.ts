/**
 * Leader election: a port of client-go's tools/leaderelection over a LeaseStore and a Clock,
 * with three additions: each term is a scope (LeaderTerm: a signal plus a fencing guard),
 * followers watch the lease so a release is seen at once, and the elector rejoins the election
 * after losing a term instead of exiting.
 *
 * Algorithm (client-go leaderelection.go): expiry is judged on the local monotonic clock from the
 * moment a change of the lease record was observed, with the leaseDurationSeconds stored in the
 * record; the timestamps in the record are never compared with the local clock, so clock skew
 * between nodes cannot produce two leaders. Every write carries the resourceVersion that was read.
 */
import type { Logger } from '../observability/logger.ts';
import type { ControllerMetrics } from '../observability/metrics.ts';
import { clockTimeout, systemClock, type Clock } from '../clock/clock.ts';
import { ConflictError } from '../kube/errors.ts';
import type { LeaderElectionRecord, LeaseSnapshot, LeaseStore } from './lease-store.ts';
import { LeaderTerm, type TermEndReason } from './term.ts';

/** client-go's JitterFactor: acquire retries sleep retryPeriod + rand * 1.2 * retryPeriod. */
export const JITTER_FACTOR = 1.2;

/** client-go's healthz adaptor timeout used by kube-scheduler. */
export const DEFAULT_HEALTHZ_TOLERANCE_MS = 20_000;

export interface StoppedLeadingEvent {
  term: LeaderTerm;
  reason: TermEndReason;
}

export interface LeaderElectorCallbacks {
  /** A term began. Start leader-only work with `term.signal` and write through `term` (the guard). */
  onStartedLeading?(term: LeaderTerm): void;
  /**
   * A term ended; its signal is already aborted. On shutdown the elector waits (bounded by
   * `shutdownWaitMs`) for a returned promise before releasing the lease, so leader-only work
   * can finish stopping before another replica takes over.
   */
  onStoppedLeading?(event: StoppedLeadingEvent): void | Promise<void>;
  /** The observed holder changed to `identity` (possibly this replica). */
  onNewLeader?(identity: string): void;
}

export interface LeaderElectorConfig {
  /** Name of the election, the `name` label of the leader_election_* metrics (the lease name). */
  name: string;
  /** Unique identity of this replica (see makeIdentity). */
  identity: string;
  store: LeaseStore;
  /** How long followers wait after the last observed change before taking over. */
  leaseDurationMs: number;
  /** How long the leader keeps failing to renew before it ends its term. */
  renewDeadlineMs: number;
  /** Interval between renewals, and base of the jittered acquire retries. */
  retryPeriodMs: number;
  /** Release the lease (holder emptied, leaseDurationSeconds 1) when run() is aborted. @default true */
  releaseOnCancel?: boolean;
  /**
   * Writes are refused from lastRenew + leaseDuration - safetyMargin on.
   * @default leaseDurationMs - renewDeadlineMs (the guard closes when the renew deadline passes)
   */
  safetyMarginMs?: number;
  /** Upper bound on waiting for onStoppedLeading at shutdown. @default min(retryPeriodMs, 1000) */
  shutdownWaitMs?: number;
  /**
   * Upper bound on the release at shutdown, retries included; the process shutdown timeout
   * must leave room for it (controller/shutdown-budget.ts). @default renewDeadlineMs
   */
  releaseTimeoutMs?: number;
  logger: Logger;
  /** @default systemClock */
  clock?: Clock;
  metrics?: Pick<ControllerMetrics, 'leaderStatus' | 'leaderSlowpath'>;
  /** Random numbers in [0, 1) for the jitter. @default Math.random */
  random?: () => number;
  callbacks?: LeaderElectorCallbacks;
}

export class LeaderElectionConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LeaderElectionConfigError';
  }
}

/** Validates the timings and identity like client-go's NewLeaderElector; throws on the first problem. */
export function validateElectorConfig(config: LeaderElectorConfig): void {
  const fail = (message: string): never => {
    throw new LeaderElectionConfigError(message);
  };
  if (typeof config.identity !== 'string' || config.identity.trim() === '') fail('identity: must not be empty');
  if (typeof config.name !== 'string' || config.name.trim() === '') fail('name: must not be empty');
  for (const key of ['leaseDurationMs', 'renewDeadlineMs', 'retryPeriodMs'] as const) {
    const value = config[key];
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) fail(`${key}: must be a positive number of milliseconds, got ${String(value)}`);
  }
  if (config.leaseDurationMs < 1000) fail(`leaseDurationMs: must be at least 1000 (the Lease stores whole seconds), got ${config.leaseDurationMs}`);
  if (config.leaseDurationMs <= config.renewDeadlineMs) {
    fail(`leaseDurationMs (${config.leaseDurationMs}) must be greater than renewDeadlineMs (${config.renewDeadlineMs})`);
  }
  if (config.renewDeadlineMs <= JITTER_FACTOR * config.retryPeriodMs) {
    fail(`renewDeadlineMs (${config.renewDeadlineMs}) must be greater than retryPeriodMs (${config.retryPeriodMs}) * ${JITTER_FACTOR}`);
  }
  if (config.safetyMarginMs !== undefined) {
    const m = config.safetyMarginMs;
    if (!Number.isFinite(m) || m < 0 || m >= config.leaseDurationMs) {
      fail(`safetyMarginMs: must be at least 0 and less than leaseDurationMs (${config.leaseDurationMs}), got ${m}`);
    }
  }
  if (config.shutdownWaitMs !== undefined && (!Number.isFinite(config.shutdownWaitMs) || config.shutdownWaitMs < 0)) {
    fail(`shutdownWaitMs: must be at least 0, got ${config.shutdownWaitMs}`);
  }
  if (config.releaseTimeoutMs !== undefined && (!Number.isFinite(config.releaseTimeoutMs) || config.releaseTimeoutMs <= 0)) {
    fail(`releaseTimeoutMs: must be a positive number of milliseconds, got ${config.releaseTimeoutMs}`);
  }
}

/** The acquire retry interval: retryPeriod + rand * 1.2 * retryPeriod (client-go wait.Jitter). */
export function jitteredRetry(retryPeriodMs: number, random: () => number): number {
  return retryPeriodMs + random() * JITTER_FACTOR * retryPeriodMs;
}

type Attempt = 'acquired' | 'heldByOther' | 'failed';

export class LeaderElector {
  readonly identity: string;
  private readonly store: LeaseStore;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly metrics: LeaderElectorConfig['metrics'];
  private readonly random: () => number;
  private readonly callbacks: LeaderElectorCallbacks;
  private readonly name: string;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly releaseOnCancel: boolean;
  private readonly safetyMarginMs: number;
  private readonly shutdownWaitMs: number;
  private readonly releaseTimeoutMs: number;
  /** How long after its last renew a term ends: the renew deadline, or earlier if the guard closes first. */
  private readonly termWindowMs: number;

  private observed: LeaseSnapshot | null = null;
  private observedTime = 0;
  private reportedLeader = '';
  private term: LeaderTerm | null = null;
  private terms = 0;
  private stopping: Promise<void> | undefined;
  private started = false;
  private wakePending = false;
  private wakeController: AbortController | null = null;

  constructor(config: LeaderElectorConfig) {
    validateElectorConfig(config);
    this.identity = config.identity;
    this.name = config.name;
    this.store = config.store;
    this.clock = config.clock ?? systemClock;
    this.metrics = config.metrics;
    this.random = config.random ?? Math.random;
    this.callbacks = config.callbacks ?? {};
    this.leaseDurationMs = config.leaseDurationMs;
    this.renewDeadlineMs = config.renewDeadlineMs;
    this.retryPeriodMs = config.retryPeriodMs;
    this.releaseOnCancel = config.releaseOnCancel ?? true;
    this.safetyMarginMs = config.safetyMarginMs ?? config.leaseDurationMs - config.renewDeadlineMs;
    this.shutdownWaitMs = config.shutdownWaitMs ?? Math.min(config.retryPeriodMs, 1000);
    this.releaseTimeoutMs = config.releaseTimeoutMs ?? config.renewDeadlineMs;
    this.termWindowMs = Math.min(this.renewDeadlineMs, this.leaseDurationMs - this.safetyMarginMs);
    this.log = config.logger.child({ lease: this.store.description, identity: this.identity });
    this.metrics?.leaderStatus.set({ name: this.name }, 0);
  }

  /** True while a term is running (this replica believes it leads). */
  isLeader(): boolean {
    return this.term !== null && !this.term.ended;
  }

  /** The running term, if any. */
  currentTerm(): LeaderTerm | null {
    return this.isLeader() ? this.term : null;
  }

  /** The holder of the lease as last observed (null: none or unknown). */
  currentHolder(): string | null {
    const holder = this.observed?.record.holderIdentity ?? '';
    return holder === '' ? null : holder;
  }

  /**
   * Healthz watchdog (client-go healthzadaptor): false when this replica believes it leads but
   * has not renewed for longer than leaseDuration + tolerance. Ending the term at the renew
   * deadline makes this impossible, so a false means the process is wedged and should be
   * restarted. Followers are always healthy here (hot standby is not this check's concern).
   */
  healthy(now = this.clock.now(), toleranceMs = DEFAULT_HEALTHZ_TOLERANCE_MS): boolean {
    const term = this.term;
    if (!term || term.ended) return true;
    return now - term.lastRenew <= this.leaseDurationMs + toleranceMs;
  }

  /**
   * Takes part in the election until `signal` aborts: acquire, lead for a term, and after losing
   * it go back to acquiring. On abort the running term ends at once, then (releaseOnCancel) the
   * lease is released if this replica still holds it. Resolves when all of that is done.
   */
  async run(signal: AbortSignal): Promise<void> {
    if (this.started) throw new Error('LeaderElector.run() may be called only once');
    this.started = true;
    const onAbort = (): void => this.endTerm('shutdown');
    signal.addEventListener('abort', onAbort, { once: true });
    this.store.watch((snapshot) => this.onWatchEvent(snapshot), signal);
    this.log.info('attempting to acquire leader lease');
    try {
      while (!signal.aborted) {
        const acquiredAt = await this.acquire(signal);
        if (acquiredAt === null) break;
        await this.lead(this.beginTerm(acquiredAt));
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      this.endTerm('shutdown');
      this.wakeController = null;
    }
    if (this.stopping) await this.within(this.stopping, this.shutdownWaitMs);
    if (this.releaseOnCancel) await this.release();
    this.metrics?.leaderStatus.set({ name: this.name }, 0);
  }

  /** Retries (jittered, woken early by the watch) until acquired; null when `signal` aborted first. */
  private async acquire(signal: AbortSignal): Promise<number | null> {
    for (;;) {
      if (signal.aborted) return null;
      const startedAt = this.clock.now();
      const attempt = await this.tryAcquireOrRenew(signal);
      this.maybeReportTransition();
      if (signal.aborted) return null;
      if (attempt === 'acquired') return startedAt;
      await this.sleepUnlessWoken(this.acquireDelay(), signal);
    }
  }

  private beginTerm(acquiredAt: number): LeaderTerm {
    this.terms += 1;
    this.wakePending = false;
    this.stopping = undefined;
    const term: LeaderTerm = new LeaderTerm({
      number: this.terms,
      identity: this.identity,
      clock: this.clock,
      leaseDurationMs: this.leaseDurationMs,
      safetyMarginMs: this.safetyMarginMs,
      acquiredAt,
      onExpired: () => {
        if (this.term === term) this.endTerm('renewDeadline');
      },
    });
    this.term = term;
    this.metrics?.leaderStatus.set({ name: this.name }, 1);
    this.log.info({ term: term.number, leaseTransitions: this.observed?.record.leaseTransitions }, 'is now the leader');
    this.invoke('onStartedLeading', () => this.callbacks.onStartedLeading?.(term));
    return term;
  }

  /** Renews every retryPeriod until the term ends (deadline passed, lease taken or shutdown). */
  private async lead(term: LeaderTerm): Promise<void> {
    void this.enforceDeadline(term);
    for (;;) {
      await this.sleepUnlessWoken(this.retryPeriodMs, term.signal);
      if (term.ended) return;
      // After a pause (SIGSTOP, frozen VM) this runs before any renew request: the term is over.
      if (this.clock.now() >= term.lastRenew + this.termWindowMs) {
        this.endTerm('renewDeadline');
        return;
      }
      const startedAt = this.clock.now();
      const attempt = await this.tryAcquireOrRenew(term.signal);
      this.maybeReportTransition();
      if (term.ended) return;
      if (attempt === 'acquired') term.renewed(startedAt);
      else if (attempt === 'heldByOther') {
        this.endTerm('leaseTaken');
        return;
      } else this.log.warn({ term: term.number }, 'failed to renew lease; retrying until the renew deadline');
    }
  }

  /** Ends the term when its renew deadline passes, even while a renew request hangs. */
  private async enforceDeadline(term: LeaderTerm): Promise<void> {
    while (!term.ended) {
      const remaining = term.lastRenew + this.termWindowMs - this.clock.now();
      if (remaining <= 0) {
        if (this.term === term) this.endTerm('renewDeadline');
        return;
      }
      await this.clock.sleep(remaining, term.signal);
    }
  }

  private endTerm(reason: TermEndReason): void {
    const term = this.term;
    if (!term || !term.end(reason)) return;
    this.metrics?.leaderStatus.set({ name: this.name }, 0);
    this.log.info({ term: term.number, reason }, 'lost leader status');
    this.invoke('onStoppedLeading', () => {
      const result = this.callbacks.onStoppedLeading?.({ term, reason });
      if (result && typeof result.then === 'function') {
        this.stopping = result.catch((err: unknown) => this.log.error({ err }, 'leader election callback failed'));
      }
    });
  }

  /** One step of client-go's tryAcquireOrRenew: fast path, then GET + create/update. */
  private async tryAcquireOrRenew(signal: AbortSignal): Promise<Attempt> {
    const wallNow = this.clock.wallNow();
    const desired: LeaderElectionRecord = {
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000),
      acquireTime: wallNow,
      renewTime: wallNow,
      leaseTransitions: 0,
    };
    const options = { signal };

    // Fast path: renew from the cached snapshot; its resourceVersion makes it safe without a GET.
    const cached = this.observed;
    if (cached && this.holdsObservedRecord() && this.isLeaseValid(this.clock.now())) {
      const record = { ...desired, acquireTime: cached.record.acquireTime, leaseTransitions: cached.record.leaseTransitions };
      try {
        this.observe(await this.store.update(record, cached.resourceVersion, options), true);
        return 'acquired';
      } catch (err) {
        if (signal.aborted) return 'failed';
        this.log.debug({ err }, 'optimistic lease renew failed; trying the slow path');
      }
    }

    let current: LeaseSnapshot | null;
    try {
      current = await this.store.get(options);
    } catch (err) {
      if (!signal.aborted) this.log.warn({ err }, 'error retrieving lease');
      return 'failed';
    }
    if (!current) {
      try {
        this.observe(await this.store.create(desired, options), true);
        return 'acquired';
      } catch (err) {
        if (!signal.aborted) this.logWriteError(err, 'error initially creating lease');
        return 'failed';
      }
    }

    this.observe(current, false);
    if (current.record.holderIdentity !== '' && this.isLeaseValid(this.clock.now()) && !this.holdsObservedRecord()) {
      return 'heldByOther';
    }
    let record: LeaderElectionRecord;
    if (this.holdsObservedRecord()) {
      record = { ...desired, acquireTime: current.record.acquireTime, leaseTransitions: current.record.leaseTransitions };
      this.metrics?.leaderSlowpath.inc({ name: this.name });
    } else {
      record = { ...desired, leaseTransitions: current.record.leaseTransitions + 1 };
    }
    try {
      this.observe(await this.store.update(record, current.resourceVersion, options), true);
      return 'acquired';
    } catch (err) {
      if (!signal.aborted) this.logWriteError(err, 'failed to update lease');
      return 'failed';
    }
  }

  /**
   * Records what was read or written. observedTime moves only when the record changed: a holder
   * that keeps renewing keeps changing renewTime, a dead one does not (client-go setObservedRecord).
   */
  private observe(snapshot: LeaseSnapshot, ownWrite: boolean): void {
    if (ownWrite || snapshot.raw !== this.observed?.raw) this.observedTime = this.clock.now();
    this.observed = snapshot;
  }

  private holdsObservedRecord(): boolean {
    return this.observed?.record.holderIdentity === this.identity;
  }

  private isLeaseValid(now: number): boolean {
    if (!this.observed) return false;
    return this.observedTime + this.observed.record.leaseDurationSeconds * 1000 > now;
  }

  private maybeReportTransition(): void {
    const holder = this.observed?.record.holderIdentity ?? '';
    if (holder === this.reportedLeader) return;
    this.reportedLeader = holder;
    if (holder === '') return;
    this.log.info({ holder }, 'new leader observed');
    this.invoke('onNewLeader', () => this.callbacks.onNewLeader?.(holder));
  }

  /**
   * The watch is a hint, never trusted more than a GET. Followers record the changes it shows (a
   * renewal seen at once starts the expiry countdown at once, so a crashed leader is replaced
   * about leaseDuration after its last renewal rather than up to a poll interval later) and look
   * now when the lease was released, deleted or changed hands. A stale event can only restart the
   * countdown, which delays a takeover and never hastens it. The leader renews at once when the
   * lease shows another holder (a stale event costs one extra renew; a real takeover ends the term).
   */
  private onWatchEvent(snapshot: LeaseSnapshot | null): void {
    const holder = snapshot?.record.holderIdentity ?? '';
    if (this.isLeader()) {
      if (holder !== this.identity) this.wake();
      return;
    }
    const previousHolder = this.observed?.record.holderIdentity ?? '';
    if (snapshot) this.observe(snapshot, false);
    if (snapshot === null || holder === '' || holder !== previousHolder) this.wake();
  }

  /** Jittered retry, but no later than just after the observed lease expires. */
  private acquireDelay(): number {
    const jittered = jitteredRetry(this.retryPeriodMs, this.random);
    const observed = this.observed;
    if (!observed || observed.record.holderIdentity === '') return jittered;
    const untilExpiry = this.observedTime + observed.record.leaseDurationSeconds * 1000 - this.clock.now();
    return untilExpiry > 0 ? Math.min(jittered, untilExpiry + 1) : jittered;
  }

  private wake(): void {
    if (this.wakeController) this.wakeController.abort();
    else this.wakePending = true;
  }

  private async sleepUnlessWoken(ms: number, signal: AbortSignal): Promise<void> {
    if (this.wakePending) {
      this.wakePending = false;
      return;
    }
    const wake = new AbortController();
    const onAbort = (): void => wake.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    this.wakeController = wake;
    try {
      await this.clock.sleep(ms, wake.signal);
    } finally {
      signal.removeEventListener('abort', onAbort);
      if (this.wakeController === wake) this.wakeController = null;
      this.wakePending = false;
    }
  }

  /**
   * Gives the lease up so a follower can take over at once: holder emptied, leaseDurationSeconds 1,
   * leaseTransitions kept. Only if the fresh lease still names this replica; retried on conflict
   * and errors; bounded by releaseTimeoutMs. Logs `could not release lease before shutdown
   * deadline` when the budget runs out, so an operator knows why the next takeover is slow.
   */
  private async release(): Promise<void> {
    if (!this.holdsObservedRecord()) return;
    const timeout = clockTimeout(this.clock, this.releaseTimeoutMs);
    const { signal } = timeout;
    const startedAt = this.clock.now();
    let attempts = 0;
    try {
      while (!signal.aborted) {
        attempts++;
        let current: LeaseSnapshot | null;
        try {
          current = await this.store.get({ signal });
        } catch (err) {
          if (!signal.aborted) this.log.warn({ err, attempt: attempts, step: 'get' }, 'lease release failed');
          await this.clock.sleep(Math.min(this.retryPeriodMs, 1000), signal);
          continue;
        }
        if (!current || current.record.holderIdentity !== this.identity) {
          if (current) this.observe(current, false);
          this.log.info('lease is no longer held by this replica; nothing to release');
          return;
        }
        const wallNow = this.clock.wallNow();
        const record: LeaderElectionRecord = {
          holderIdentity: '',
          leaseDurationSeconds: 1,
          acquireTime: wallNow,
          renewTime: wallNow,
          leaseTransitions: current.record.leaseTransitions,
        };
        try {
          this.observe(await this.store.update(record, current.resourceVersion, { signal }), true);
          this.maybeReportTransition();
          this.log.info({ ms: Math.round(this.clock.now() - startedAt), attempts }, 'released leader lease');
          return;
        } catch (err) {
          if (err instanceof ConflictError) continue;
          if (!signal.aborted) this.log.warn({ err, attempt: attempts, step: 'update' }, 'lease release failed');
          await this.clock.sleep(Math.min(this.retryPeriodMs, 1000), signal);
        }
      }
      this.log.warn(
        { releaseTimeoutMs: this.releaseTimeoutMs, attempts, leaseDurationMs: this.leaseDurationMs },
        'could not release lease before shutdown deadline',
      );
    } finally {
      timeout.cancel();
    }
  }

  private logWriteError(err: unknown, message: string): void {
    if (err instanceof ConflictError) this.log.debug({ err }, message);
    else this.log.warn({ err }, message);
  }

  private invoke(callback: keyof LeaderElectorCallbacks, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.error({ err, callback }, 'leader election callback failed');
    }
  }

  private async within(promise: Promise<void>, ms: number): Promise<void> {
    const timeout = clockTimeout(this.clock, ms);
    try {
      await Promise.race([promise, new Promise<void>((resolve) => timeout.signal.addEventListener('abort', () => resolve(), { once: true }))]);
    } finally {
      timeout.cancel();
    }
  }
}
