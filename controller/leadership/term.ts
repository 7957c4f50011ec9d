/**
 * One leadership term: the scope of leader-only work. It has a signal that aborts the moment
 * the term ends, and it is the fencing guard for leader-only writes.
 *
 * Validity is judged on the monotonic clock from the start of the last successful renew request:
 * the API server committed that renew no earlier than the request started, and other replicas
 * observed it no earlier than that, so nobody else can take the lease over before
 * `lastRenew + leaseDuration`. The term stops allowing writes `safetyMargin` earlier. The margin
 * covers a write that passed the guard but is still in flight, and clocks of nodes that run at
 * slightly different rates. The elector's default margin is leaseDuration - renewDeadline
 * (5 s with 15 s / 10 s), so the guard closes exactly when the renew deadline passes.
 *
 * Because the check reads the clock at the moment of the write, a process that was paused
 * (SIGSTOP, a long GC, a frozen VM) refuses its first write after resuming, before any timer or
 * renew request of its own has had a chance to run.
 */
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { FencedError, type WriteGuard } from './fencing.ts';
import type { Clock } from '../clock/clock.ts';

export type TermEndReason = 'renewDeadline' | 'leaseTaken' | 'shutdown';

export interface LeaderTermOptions {
  /** Sequence number of the term within this process (1, 2, ...), for logs. */
  number: number;
  identity: string;
  clock: Clock;
  leaseDurationMs: number;
  safetyMarginMs: number;
  /** Monotonic start time of the request that acquired the lease. */
  acquiredAt: number;
  /** Called once when the guard finds the term expired, so the owner can end it. */
  onExpired?: () => void;
}

export class LeaderTerm implements WriteGuard {
  readonly number: number;
  readonly identity: string;
  /** Aborted (with a TermEndedError as reason) the moment the term ends. */
  readonly signal: AbortSignal;
  private readonly controller = new AbortController();
  private readonly clock: Clock;
  private readonly leaseDurationMs: number;
  private readonly safetyMarginMs: number;
  private readonly onExpired: (() => void) | undefined;
  private renewedAt: number;
  private reason: TermEndReason | undefined;

  constructor(options: LeaderTermOptions) {
    this.number = options.number;
    this.identity = options.identity;
    this.clock = options.clock;
    this.leaseDurationMs = options.leaseDurationMs;
    this.safetyMarginMs = options.safetyMarginMs;
    this.onExpired = options.onExpired;
    this.renewedAt = options.acquiredAt;
    this.signal = this.controller.signal;
  }

  /** Monotonic start time of the last successful renew (or of the acquisition). */
  get lastRenew(): number {
    return this.renewedAt;
  }

  /** Monotonic time from which writes are refused, unless renewed before. */
  get validUntil(): number {
    return this.renewedAt + this.leaseDurationMs - this.safetyMarginMs;
  }

  get ended(): boolean {
    return this.reason !== undefined;
  }

  get endReason(): TermEndReason | undefined {
    return this.reason;
  }

  isValid(now = this.clock.now()): boolean {
    return !this.ended && now < this.validUntil;
  }

  assertCanWrite(): void {
    if (this.reason) throw new FencedError(`leadership term ${this.number} has ended (${this.reason}); write refused`);
    if (this.clock.now() >= this.validUntil) {
      this.onExpired?.();
      throw new FencedError(`leadership term ${this.number} is no longer safely valid (lease not renewed in time); write refused`);
    }
  }

  /** @internal Called by the elector after a successful renew that started at `startedAt`. */
  renewed(startedAt: number): void {
    if (!this.ended && startedAt > this.renewedAt) this.renewedAt = startedAt;
  }

  /** @internal Ends the term; idempotent. Returns false if it had already ended. */
  end(reason: TermEndReason): boolean {
    if (this.reason) return false;
    this.reason = reason;
    this.controller.abort(new TermEndedError(this.number, reason));
    return true;
  }
}

/** The abort reason of a term's signal. */
export class TermEndedError extends Error {
  constructor(
    readonly term: number,
    readonly reason: TermEndReason,
  ) {
    super(`leadership term ${term} ended: ${reason}`);
    this.name = 'TermEndedError';
  }
}

/**
 * A unique holder identity: the pod name (or hostname) plus a random suffix, so a restarted pod
 * with the same name is never mistaken for the previous holder (client-go: hostname_uuid).
 */
export function makeIdentity(podName?: string): string {
  const base = podName && podName.trim() !== '' ? podName.trim() : hostname();
  return `${base}_${randomUUID()}`;
}
