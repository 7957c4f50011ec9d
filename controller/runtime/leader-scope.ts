/**
 * Leadership as a scope: each term runs every leader-only loop under the term's signal and
 * fencing guard. When the term ends the loops stop; the elector waits for them (bounded) before
 * it releases the lease. A loop still running after that cannot start a new write: the guard
 * refuses every write once the term has ended.
 */
import type { LeaderElectorCallbacks, StoppedLeadingEvent } from '../leadership/elector.ts';
import type { LeaderTerm } from '../leadership/term.ts';
import type { Logger } from '../observability/logger.ts';
import type { LoopDefinition } from './loop.ts';
import { runLoops, type LoopRunnerDeps } from './loop-runner.ts';

export class LeaderScope {
  private running: Promise<void> | null = null;
  private terms = 0;

  constructor(
    private readonly loops: readonly LoopDefinition[],
    private readonly deps: LoopRunnerDeps & { logger: Logger },
  ) {}

  /** Number of terms this replica has led (for logs and tests). */
  get termCount(): number {
    return this.terms;
  }

  /** True while leader-only loops of a term are running. */
  get active(): boolean {
    return this.running !== null;
  }

  callbacks(): LeaderElectorCallbacks {
    return {
      onStartedLeading: (term) => this.start(term),
      onStoppedLeading: (event) => this.stopped(event),
    };
  }

  private start(term: LeaderTerm): void {
    this.terms++;
    this.deps.logger.info({ loops: this.loops.map((l) => l.name), term: this.terms }, 'starting leader-only loops');
    const done: Promise<void> = runLoops(this.loops, { signal: term.signal, guard: term }, this.deps).finally(() => {
      if (this.running === done) this.running = null;
    });
    this.running = done;
  }

  private async stopped(event: StoppedLeadingEvent): Promise<void> {
    const running = this.running;
    this.deps.logger.info({ reason: event.reason }, 'stopping leader-only loops');
    if (running) await running;
  }
}
