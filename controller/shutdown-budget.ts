/**
 * How a replica spends its shutdown timeout. The lease release gets a budget of its own inside
 * it, so a slow API server cannot make the process exit half way through a release (followers
 * would then wait the whole lease duration):
 *
 *   SIGTERM ── leader-only loops stop ── lease release ──────────── servers close ── exit
 *              (≤ loopStopMs)            (≤ releaseMs, retried)       (closeMs)
 *   |<──────────────────────────── shutdownTimeoutMs ────────────────────────────────>|
 *
 * Pure arithmetic on the options, shared by option validation, the elector configuration and
 * the process shutdown; no imports, so options and leadership may both use it.
 */

/** Kept at the end of the shutdown for closing the servers (keep-alive connections, in-flight requests). */
export const SERVER_CLOSE_RESERVE_MS = 1000;
/** Upper bound on waiting for leader-only loops to stop before the release (the elector's default). */
export const MAX_LOOP_STOP_MS = 1000;
/** Servers keep answering at least this long after readiness fails, for requests already routed here. */
export const MAX_DRAIN_MS = 1000;

export interface ShutdownBudgetInput {
  shutdownTimeoutMs: number;
  /** The release's own budget; ignored without leader election. */
  releaseTimeoutMs: number;
  retryPeriodMs: number;
  leaderElection: boolean;
}

export interface ShutdownBudget {
  totalMs: number;
  /** How long the elector waits for leader-only loops before it releases. */
  loopStopMs: number;
  /** How long the release may take, retries included (0 without leader election). */
  releaseMs: number;
  /** How long the process waits for its components (elector included) before closing servers anyway. */
  stopPhaseMs: number;
  /** Reserved at the end for closing the servers. */
  closeMs: number;
  /** Minimum time the servers stay up after readiness fails. */
  drainMs: number;
}

export function loopStopWaitMs(retryPeriodMs: number): number {
  return Math.min(retryPeriodMs, MAX_LOOP_STOP_MS);
}

/** The shortest shutdown timeout that fits the loop stop, the whole release budget and the server close. */
export function minimumShutdownTimeoutMs(input: Omit<ShutdownBudgetInput, 'shutdownTimeoutMs'>): number {
  if (!input.leaderElection) return 0;
  return loopStopWaitMs(input.retryPeriodMs) + input.releaseTimeoutMs + SERVER_CLOSE_RESERVE_MS;
}

export class ShutdownBudgetError extends Error {}

/** Splits the shutdown timeout; throws ShutdownBudgetError when the release would not fit in it. */
export function shutdownBudget(input: ShutdownBudgetInput): ShutdownBudget {
  const totalMs = input.shutdownTimeoutMs;
  const minimum = minimumShutdownTimeoutMs(input);
  if (totalMs < minimum) {
    throw new ShutdownBudgetError(
      `shutdown timeout ${totalMs} ms is shorter than loop stop + release timeout + server close = ${minimum} ms`,
    );
  }
  // Without leader election nothing needs the reserve as badly; keep most of a short timeout for stopping.
  const closeMs = input.leaderElection ? SERVER_CLOSE_RESERVE_MS : Math.min(SERVER_CLOSE_RESERVE_MS, totalMs / 4);
  return {
    totalMs,
    loopStopMs: input.leaderElection ? loopStopWaitMs(input.retryPeriodMs) : 0,
    releaseMs: input.leaderElection ? input.releaseTimeoutMs : 0,
    stopPhaseMs: totalMs - closeMs,
    closeMs,
    drainMs: Math.min(MAX_DRAIN_MS, totalMs / 4),
  };
}
