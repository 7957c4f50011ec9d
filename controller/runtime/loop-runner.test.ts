import { expect } from 'chai';
import { silentLogger } from '../observability/logger.ts';
import { ControllerMetrics } from '../observability/metrics.ts';
import { FencedError } from '../leadership/fencing.ts';
import { unfencedGuard, type LoopDefinition } from './loop.ts';
import { runLoop } from './loop-runner.ts';
import { capturingLogger } from '../kube/capturing-logger.ts';

function loop(runPass: LoopDefinition['runPass'], intervalMs = 1): LoopDefinition {
  return { name: 'test', leaderOnly: true, intervalMs, runPass };
}

async function metricValue(metrics: ControllerMetrics, result: string): Promise<number> {
  const runs = await metrics.loopRuns.get();
  return runs.values.find((v) => v.labels.result === result)?.value ?? 0;
}

describe('loop runner', () => {
  it('runs passes until the signal aborts, then stops and counts results', async () => {
    const controller = new AbortController();
    const metrics = new ControllerMetrics({ defaultMetrics: false });
    let passes = 0;
    await runLoop(
      loop(async () => {
        passes++;
        if (passes === 2) throw new Error('boom');
        if (passes === 3) controller.abort();
      }),
      { signal: controller.signal, guard: unfencedGuard },
      { logger: silentLogger(), metrics },
    );
    expect(passes).to.equal(3);
    expect(await metricValue(metrics, 'success')).to.equal(1);
    expect(await metricValue(metrics, 'error')).to.equal(1);
    expect(await metricValue(metrics, 'cancelled')).to.equal(1);
  });

  it('a fenced pass is counted as fenced, and the loop waits for the next term instead of crashing', async () => {
    const controller = new AbortController();
    const metrics = new ControllerMetrics({ defaultMetrics: false });
    let passes = 0;
    await runLoop(
      loop(async (ctx) => {
        passes++;
        if (passes === 2) controller.abort();
        ctx.guard.assertCanWrite();
      }),
      {
        signal: controller.signal,
        guard: {
          assertCanWrite() {
            throw new FencedError();
          },
        },
      },
      { logger: silentLogger(), metrics },
    );
    expect(passes).to.equal(2);
    expect(await metricValue(metrics, 'fenced')).to.equal(2);
    expect(await metricValue(metrics, 'error')).to.equal(0);
    expect((await metrics.fencedWrites.get()).values[0]?.value).to.equal(2);
  });

  it('counts what a pass reports: timeout and partial, and logs a timed-out pass at warn', async () => {
    const controller = new AbortController();
    const metrics = new ControllerMetrics({ defaultMetrics: false });
    const { logger, records } = capturingLogger();
    const reports = ['timeout', 'partial', 'success', undefined] as const;
    let passes = 0;
    await runLoop(
      loop(async () => {
        const report = reports[passes++];
        if (passes === reports.length) controller.abort();
        return report;
      }),
      { signal: controller.signal, guard: unfencedGuard },
      { logger, metrics },
    );
    expect(await metricValue(metrics, 'timeout')).to.equal(1);
    expect(await metricValue(metrics, 'partial')).to.equal(1);
    expect(await metricValue(metrics, 'success')).to.equal(1);
    // The last pass reported nothing, but its term ended meanwhile.
    expect(await metricValue(metrics, 'cancelled')).to.equal(1);
    expect(records.find((r) => r.msg === 'background loop pass timed out; unfinished work is left for the next pass')).to.include({
      level: 'warn',
      loop: 'test',
    });
  });
});
