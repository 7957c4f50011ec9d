/**
 * What a background loop is, and what it gets from the runtime.
 *
 * Modelled on controller-runtime's runnables: whether a loop needs the leader is a property it
 * declares, and the runtime starts leader-only loops per leadership term with that term's
 * signal. Nothing leader-only may hold on to a signal from process start.
 */
import type { WriteGuard } from '../leadership/fencing.ts';

/**
 * @deprecated Import FencedError and WriteGuard from `controller/leadership/fencing.ts`;
 * re-exported only so code written against the old location keeps compiling.
 */
export { FencedError, type WriteGuard } from '../leadership/fencing.ts';

/** Handed to a loop when it starts; valid for one leadership term (or process lifetime). */
export interface LoopContext {
  /** Aborted the moment the term ends (lease lost, renew deadline passed, shutdown). */
  readonly signal: AbortSignal;
  /** Fencing for writes made by this loop. */
  readonly guard: WriteGuard;
}

export interface LoopDefinition {
  /** Stable name, used in logs and metrics (`breakglass_loop_runs_total{loop}`). */
  readonly name: string;
  /** True: runs only on the leader, per term. False: runs on every replica for the process lifetime. */
  readonly leaderOnly: boolean;
  /** Time between the end of one pass and the start of the next. */
  readonly intervalMs: number;
  /**
   * One pass. Must stop promptly when `ctx.signal` aborts. May report how it ended (nothing
   * reported counts as `success`), so operators can alert on passes that leave work undone.
   */
  runPass(ctx: LoopContext): Promise<PassReport | void>;
}

/**
 * How a pass that returned normally ended, as recorded in `breakglass_loop_runs_total{result}`:
 * `success` did all its work; `partial` finished but some items failed (retried next pass);
 * `timeout` was stopped by its own time bound before it finished.
 */
export type PassReport = 'success' | 'partial' | 'timeout';

/** A guard for work that is not leader-gated (single-instance mode): never fences. */
export const unfencedGuard: WriteGuard = { assertCanWrite() {} };
