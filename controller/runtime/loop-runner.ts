/**
 * Runs background loops: one pass at once, then one per interval, until the signal aborts.
 * Leader-only loops get the signal and fencing guard of one leadership term; when the term
 * ends they stop, and a new term starts them again from scratch.
 */
import type { Logger } from '../observability/logger.ts';
import type { ControllerMetrics } from '../observability/metrics.ts';
import { pause } from '../clock/clock.ts';
import { FencedError } from '../leadership/fencing.ts';
import type { LoopContext, LoopDefinition, PassReport } from './loop.ts';

export interface LoopRunnerDeps {
  logger: Logger;
  metrics?: ControllerMetrics;
}

/** The `result` label of `breakglass_loop_runs_total`. */
type PassResult = PassReport | 'error' | 'cancelled' | 'fenced';

async function runOnePass(loop: LoopDefinition, ctx: LoopContext, deps: LoopRunnerDeps): Promise<PassResult> {
  const stopTimer = deps.metrics?.loopDuration.startTimer({ loop: loop.name });
  let result: PassResult;
  try {
    const report = await loop.runPass(ctx);
    // A pass cut short by the end of its term is `cancelled`, whatever it reports.
    result = ctx.signal.aborted ? 'cancelled' : (report ?? 'success');
    if (result === 'timeout') {
      deps.logger.warn({ loop: loop.name }, 'background loop pass timed out; unfinished work is left for the next pass');
    }
  } catch (err) {
    if (err instanceof FencedError) {
      result = 'fenced';
      deps.metrics?.fencedWrites.inc({ loop: loop.name });
      deps.logger.warn({ loop: loop.name, err: err.message }, 'leader-only write fenced; pass stopped');
    } else if (ctx.signal.aborted) {
      result = 'cancelled';
    } else {
      result = 'error';
      deps.logger.error({ loop: loop.name, err }, 'background loop pass failed');
    }
  }
  stopTimer?.();
  deps.metrics?.loopRuns.inc({ loop: loop.name, result });
  return result;
}

/** Runs one loop until `ctx.signal` aborts; resolves when its last pass has returned. */
export async function runLoop(loop: LoopDefinition, ctx: LoopContext, deps: LoopRunnerDeps): Promise<void> {
  deps.logger.info({ loop: loop.name, intervalMs: loop.intervalMs, leaderOnly: loop.leaderOnly }, 'background loop started');
  while (!ctx.signal.aborted) {
    await runOnePass(loop, ctx, deps);
    await pause(loop.intervalMs, ctx.signal);
  }
  deps.logger.info({ loop: loop.name }, 'background loop stopped');
}

/** Starts every loop of the list under one context; resolves when all have stopped. */
export function runLoops(loops: readonly LoopDefinition[], ctx: LoopContext, deps: LoopRunnerDeps): Promise<void> {
  return Promise.all(loops.map((loop) => runLoop(loop, ctx, deps))).then(() => undefined);
}
