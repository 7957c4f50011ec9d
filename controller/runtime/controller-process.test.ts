/**
 * The process-level side of the shutdown budget: whatever a component does, shutdown() returns
 * within the total, closes the servers in the reserve at its end, and says what did not stop,
 * including a lease release that could not be made.
 */
import { expect } from 'chai';
import { pino } from 'pino';
import { LeaderElector } from '../leadership/elector.ts';
import { InMemoryLeaseServer } from '../leadership/in-memory-lease-store.ts';
import { ControllerMetrics } from '../observability/metrics.ts';
import { shutdownBudget } from '../shutdown-budget.ts';
import { ControllerProcess } from './controller-process.ts';

type LogLine = { msg: string; [key: string]: unknown };

function processWith(releaseTimeoutMs: number, shutdown: ReturnType<typeof shutdownBudget>) {
  const logs: LogLine[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => logs.push(JSON.parse(line) as LogLine) });
  const server = new InMemoryLeaseServer('ns/lease');
  const store = server.client('a');
  const metrics = new ControllerMetrics({ defaultMetrics: false });
  const controller = new ControllerProcess({
    logger,
    metrics,
    electorFactory: (callbacks) =>
      new LeaderElector({
        name: 'lease',
        identity: 'a',
        store,
        logger,
        leaseDurationMs: 3_000,
        renewDeadlineMs: 2_000,
        retryPeriodMs: 500,
        releaseTimeoutMs,
        shutdownWaitMs: shutdown.loopStopMs,
        callbacks,
      }),
    loops: [],
    components: [],
    servers: [],
    probeAddress: '127.0.0.1:0',
    shutdown,
  });
  return { controller, store, server, logs, messages: (msg: string) => logs.filter((l) => l.msg === msg) };
}

async function until(predicate: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('ControllerProcess shutdown budget', function () {
  this.timeout(20_000);

  it('releases the lease within the budget and reports no timeout', async () => {
    const budget = shutdownBudget({ shutdownTimeoutMs: 2_000, releaseTimeoutMs: 500, retryPeriodMs: 500, leaderElection: true });
    const p = processWith(budget.releaseMs, budget);
    await p.controller.start();
    await until(() => p.controller.elector?.isLeader() === true, 5_000);
    await p.controller.shutdown();
    expect(p.messages('released leader lease')).to.have.length(1);
    expect(p.messages('shutdown complete')[0]).to.include({ timedOut: false });
    expect(p.server.peek()?.record.holderIdentity).to.equal('');
  });

  it('stops waiting at the end of the stop phase, says the release could not be made, and still closes the servers in time', async () => {
    // An elector whose release budget (5 s) is longer than the stop phase (1.5 s): the process
    // deadline, not the elector, ends the wait.
    const budget = shutdownBudget({ shutdownTimeoutMs: 2_500, releaseTimeoutMs: 1_000, retryPeriodMs: 500, leaderElection: true });
    const p = processWith(5_000, budget);
    await p.controller.start();
    await until(() => p.controller.elector?.isLeader() === true, 5_000);
    p.store.hang();
    const started = performance.now();
    await p.controller.shutdown();
    const tookMs = performance.now() - started;
    expect(tookMs).to.be.within(budget.stopPhaseMs - 50, budget.totalMs + 200);
    expect(p.messages('shutdown deadline passed before components stopped')[0]).to.deep.include({ pending: ['leader-election'] });
    expect(p.messages('could not release lease before shutdown deadline')).to.have.length(1);
    expect(p.messages('shutdown complete')[0]).to.include({ timedOut: true });
    p.store.heal();
  });
});
