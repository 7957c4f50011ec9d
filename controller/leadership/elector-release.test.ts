/**
 * The release at shutdown has a budget of its own (releaseTimeoutMs): it retries within it,
 * gives up at its end with a stable log line, and never outlives it.
 */
import { expect } from 'chai';
import { pino } from 'pino';
import { FakeClock } from '../clock/clock.ts';
import { LeaderElectionConfigError, LeaderElector, type LeaderElectorConfig } from './elector.ts';
import { InMemoryLeaseServer, UnreachableError } from './in-memory-lease-store.ts';

type LogLine = { msg: string; level: number; [key: string]: unknown };

function setup(config: Partial<LeaderElectorConfig> = {}) {
  const clock = new FakeClock();
  const server = new InMemoryLeaseServer('ns/lease');
  const store = server.client('a');
  const logs: LogLine[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => logs.push(JSON.parse(line) as LogLine) });
  const elector = new LeaderElector({
    name: 'lease',
    identity: 'a',
    store,
    clock,
    logger,
    random: () => 0.5,
    leaseDurationMs: 15_000,
    renewDeadlineMs: 10_000,
    retryPeriodMs: 2_000,
    ...config,
  });
  const controller = new AbortController();
  let finishedAt = -1;
  const done = elector.run(controller.signal).then(() => {
    finishedAt = clock.now();
  });
  /** Aborts run() and advances fake time until it returned (or `maxMs` passed). */
  const stop = async (maxMs = 60_000) => {
    const from = clock.now();
    controller.abort();
    await clock.advance(0);
    while (finishedAt < 0 && clock.now() - from < maxMs) await clock.advance(100);
    await done;
    return finishedAt - from;
  };
  const messages = (msg: string) => logs.filter((l) => l.msg === msg);
  return { clock, server, store, elector, stop, messages };
}

describe('LeaderElector release budget', () => {
  it('gives up at the end of its own budget, says so, and returns then (not at the renew deadline)', async () => {
    const t = setup({ releaseTimeoutMs: 3_000, shutdownWaitMs: 500 });
    await t.clock.advance(100);
    expect(t.elector.isLeader()).to.equal(true);
    t.store.hang(); // a black-holed API server: requests end only through their signal
    const tookMs = await t.stop();
    expect(tookMs).to.be.within(3_000, 3_200);
    const gaveUp = t.messages('could not release lease before shutdown deadline');
    expect(gaveUp).to.have.length(1);
    expect(gaveUp[0]).to.include({ releaseTimeoutMs: 3_000, level: 40 });
    expect(t.messages('released leader lease')).to.have.length(0);
    expect(t.server.peek()?.record.holderIdentity).to.equal('a');
  });

  it('retries failed steps within the budget, logging each failure, and releases', async () => {
    const t = setup({ releaseTimeoutMs: 5_000 });
    await t.clock.advance(100);
    t.store.failNext('get', new UnreachableError());
    t.store.failNext('update', new UnreachableError());
    const tookMs = await t.stop();
    const failures = t.messages('lease release failed');
    expect(failures.map((l) => l.step)).to.deep.equal(['get', 'update']);
    const released = t.messages('released leader lease');
    expect(released).to.have.length(1);
    expect(released[0]).to.include({ attempts: 3 });
    expect(t.server.peek()?.record).to.include({ holderIdentity: '', leaseDurationSeconds: 1 });
    expect(tookMs).to.be.below(5_000);
    expect(t.messages('could not release lease before shutdown deadline')).to.have.length(0);
  });

  it('defaults to the renew deadline, as before, and refuses a non-positive budget', async () => {
    const t = setup();
    await t.clock.advance(100);
    t.store.hang();
    expect(await t.stop()).to.be.within(10_000, 11_200);
    expect(() => setup({ releaseTimeoutMs: 0 })).to.throw(LeaderElectionConfigError, /releaseTimeoutMs/);
  });
});
