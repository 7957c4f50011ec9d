/**
 * The elector as replicas see it, on fake time over one in-memory lease. Every scenario checks
 * the safety property on each step: at most one replica holds a term whose guard lets it write.
 */
import { expect } from 'chai';
import { pino } from 'pino';
import { FencedError } from './fencing.ts';
import { ControllerMetrics } from '../observability/metrics.ts';
import { FakeClock, type FakeClockView } from '../clock/clock.ts';
import {
  LeaderElectionConfigError,
  LeaderElector,
  jitteredRetry,
  validateElectorConfig,
  type LeaderElectorConfig,
  type StoppedLeadingEvent,
} from './elector.ts';
import { InMemoryLeaseServer, type InMemoryLeaseStore } from './in-memory-lease-store.ts';
import type { LeaderElectionRecord } from './lease-store.ts';
import type { LeaderTerm } from './term.ts';

const TIMINGS = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

type LogLine = { msg: string; [key: string]: unknown };

interface Replica {
  name: string;
  clock: FakeClockView;
  store: InMemoryLeaseStore;
  elector: LeaderElector;
  metrics: ControllerMetrics;
  logs: LogLine[];
  started: Array<{ term: LeaderTerm; at: number }>;
  stopped: Array<StoppedLeadingEvent & { at: number; holderAtEnd: string | undefined }>;
  newLeaders: string[];
  controller: AbortController;
  done: Promise<void>;
  finished: boolean;
}

interface StartOptions {
  wallSkewMs?: number;
  random?: () => number;
  config?: Partial<LeaderElectorConfig>;
}

class World {
  readonly clock = new FakeClock();
  readonly server = new InMemoryLeaseServer('ns/lease');
  readonly replicas: Replica[] = [];
  /** Also require that no two replicas even believe they lead (false where a replica is frozen). */
  strict = true;

  start(name: string, options: StartOptions = {}): Replica {
    const clock = this.clock.view({ wallSkewMs: options.wallSkewMs ?? 0 });
    const store = this.server.client(name);
    const logs: LogLine[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => logs.push(JSON.parse(line) as LogLine) });
    const metrics = new ControllerMetrics({ defaultMetrics: false });
    const replica = { name, clock, store, metrics, logs, started: [], stopped: [], newLeaders: [], finished: false } as unknown as Replica;
    replica.elector = new LeaderElector({
      name: 'lease',
      identity: name,
      store,
      clock,
      logger,
      metrics,
      random: options.random ?? (() => 0.5),
      ...TIMINGS,
      ...options.config,
      callbacks: {
        onStartedLeading: (term) => replica.started.push({ term, at: this.clock.now() }),
        onStoppedLeading: (event) => {
          replica.stopped.push({ ...event, at: this.clock.now(), holderAtEnd: this.server.peek()?.record.holderIdentity });
          return options.config?.callbacks?.onStoppedLeading?.(event);
        },
        onNewLeader: (identity) => replica.newLeaders.push(identity),
      },
    });
    replica.controller = new AbortController();
    replica.done = replica.elector.run(replica.controller.signal).then(() => {
      replica.finished = true;
    });
    this.replicas.push(replica);
    return replica;
  }

  /** Advances fake time in small steps, checking the safety property after each one. */
  async advance(ms: number, step = 100): Promise<void> {
    await this.clock.advance(0);
    this.check();
    for (let passed = 0; passed < ms; passed += step) {
      await this.clock.advance(Math.min(step, ms - passed));
      this.check();
    }
  }

  check(): void {
    const writers = this.replicas.filter((r) => r.elector.currentTerm()?.isValid());
    expect(writers.map((r) => r.name), 'replicas allowed to write at the same time').to.have.length.at.most(1);
    if (this.strict) {
      const leaders = this.replicas.filter((r) => r.elector.isLeader());
      expect(leaders.map((r) => r.name), 'replicas that believe they lead').to.have.length.at.most(1);
    }
  }

  leaders(): string[] {
    return this.replicas.filter((r) => r.elector.isLeader()).map((r) => r.name);
  }

  /** Aborts a replica's run() and lets fake time pass until it has returned. */
  async stop(replica: Replica): Promise<void> {
    replica.controller.abort();
    for (let i = 0; i < 200 && !replica.finished; i++) await this.clock.advance(i === 0 ? 0 : 100);
    expect(replica.finished, `${replica.name} finished run()`).to.equal(true);
  }

  /** The process dies silently: no timers, no network. */
  crash(replica: Replica): void {
    replica.clock.freeze();
    replica.store.partition();
  }

  async stopAll(): Promise<void> {
    for (const r of this.replicas) {
      r.clock.thaw();
      r.store.heal();
    }
    for (const r of this.replicas) if (!r.finished) await this.stop(r);
  }
}

function foreignRecord(holder: string, overrides: Partial<LeaderElectionRecord> = {}): LeaderElectionRecord {
  const t = new Date('2031-06-01T00:00:00Z');
  return { holderIdentity: holder, leaseDurationSeconds: 15, acquireTime: t, renewTime: t, leaseTransitions: 0, ...overrides };
}

function messages(replica: Replica, msg: string): LogLine[] {
  return replica.logs.filter((l) => l.msg === msg);
}

async function gauge(replica: Replica): Promise<number | undefined> {
  return (await replica.metrics.leaderStatus.get()).values.find((v) => v.labels.name === 'lease')?.value;
}

async function slowpath(replica: Replica): Promise<number> {
  return (await replica.metrics.leaderSlowpath.get()).values.find((v) => v.labels.name === 'lease')?.value ?? 0;
}

describe('LeaderElector', () => {
  let world: World;
  beforeEach(() => {
    world = new World();
  });
  afterEach(async () => {
    await world.stopAll();
  });

  describe('acquiring', () => {
    it('creates a missing lease and leads at once (leaseTransitions 0)', async () => {
      const a = world.start('a');
      await world.advance(0);
      expect(world.leaders()).to.deep.equal(['a']);
      const record = world.server.peek()?.record;
      expect(record?.holderIdentity).to.equal('a');
      expect(record?.leaseDurationSeconds).to.equal(15);
      expect(record?.leaseTransitions).to.equal(0);
      expect(record?.acquireTime?.getTime()).to.equal(a.clock.wallNow().getTime());
      expect(a.started).to.have.length(1);
      expect(a.started[0]?.term.isValid()).to.equal(true);
      expect(a.newLeaders).to.deep.equal(['a']);
      const line = messages(a, 'is now the leader')[0];
      expect(line).to.include({ identity: 'a', lease: 'ns/lease' });
      expect(await gauge(a)).to.equal(1);
    });

    it('takes over an expired lease only leaseDuration after it observed the record, and counts the transition', async () => {
      // The renewTime is a year old, but only a locally observed lack of change counts.
      world.server.forceWrite(foreignRecord('old', { leaseTransitions: 3, renewTime: new Date('2030-06-01T00:00:00Z') }));
      const b = world.start('b');
      await world.advance(14_900);
      expect(world.leaders()).to.deep.equal([]);
      expect(b.elector.currentHolder()).to.equal('old');
      await world.advance(5_000);
      expect(world.leaders()).to.deep.equal(['b']);
      const acquiredAt = b.started[0]?.at ?? -1;
      expect(acquiredAt).to.be.within(15_000, 15_000 + 4_400);
      const record = world.server.peek()?.record;
      expect(record?.holderIdentity).to.equal('b');
      expect(record?.leaseTransitions).to.equal(4);
      expect(record?.acquireTime?.getTime()).to.equal(b.clock.wallNow().getTime() - (world.clock.now() - acquiredAt));
      expect(b.newLeaders).to.deep.equal(['old', 'b']);
    });

    it('respects a lease whose holder keeps renewing, whatever its timestamps say', async () => {
      const b = world.start('b');
      const hourAgo = world.clock.wallNow().getTime() - 3_600_000;
      world.server.forceWrite(foreignRecord('other', { leaseTransitions: 1 }));
      for (let i = 0; i < 30; i++) {
        world.server.forceWrite(foreignRecord('other', { leaseTransitions: 1, renewTime: new Date(hourAgo + i * 2_000) }));
        await world.advance(2_000);
      }
      expect(world.leaders()).to.deep.equal([]);
      expect(b.elector.currentHolder()).to.equal('other');
      expect(b.newLeaders).to.deep.equal(['other']);
      expect(world.server.writes.filter((w) => w.client === 'b')).to.have.length(0);
    });

    it('a follower that saw the last renewal through the watch takes over when the lease expires, not a poll later', async () => {
      const a = world.start('a');
      await world.advance(0);
      const b = world.start('b', { random: () => 0.999 }); // the longest jitter: 4.4 s between polls
      await world.advance(7_000);
      const lastRenew = a.elector.currentTerm()?.lastRenew ?? 0;
      world.strict = false;
      world.crash(a);
      await world.advance(20_000);
      expect(b.elector.isLeader()).to.equal(true);
      expect(b.started[0]?.at).to.be.within(lastRenew + 15_000, lastRenew + 15_002);
    });

    it('retries with jitter between retryPeriod and 2.2 x retryPeriod', async () => {
      expect(jitteredRetry(2_000, () => 0)).to.equal(2_000);
      expect(jitteredRetry(2_000, () => 0.999_999)).to.be.lessThan(4_400).and.greaterThan(4_399);
      world.server.forceWrite(foreignRecord('other'));
      let seed = 42;
      const random = (): number => {
        seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
        return seed / 2 ** 31;
      };
      const b = world.start('b', { random });
      const getTimes: number[] = [];
      const originalGet = b.store.get.bind(b.store);
      b.store.get = (options) => {
        getTimes.push(world.clock.now());
        return originalGet(options);
      };
      for (let i = 0; i < 40; i++) {
        world.server.forceWrite(foreignRecord('other', { renewTime: new Date(Date.UTC(2031, 0, 1) + i * 2_000) }));
        await world.advance(2_000, 50);
      }
      const gaps = getTimes.slice(1).map((t, i) => t - (getTimes[i] ?? 0));
      expect(gaps.length).to.be.greaterThan(15);
      for (const gap of gaps) expect(gap).to.be.within(2_000, 4_400);
      expect(new Set(gaps).size, 'gaps vary').to.be.greaterThan(3);
    });
  });

  describe('renewing', () => {
    it('renews about every retryPeriod, keeping holder, acquireTime and leaseTransitions', async () => {
      const a = world.start('a');
      await world.advance(60_000);
      const writes = world.server.writes.filter((w) => w.client === 'a');
      expect(writes.length).to.be.within(28, 32);
      const first = writes[0]?.record;
      for (const w of writes) {
        expect(w.record.holderIdentity).to.equal('a');
        expect(w.record.acquireTime?.getTime()).to.equal(first?.acquireTime?.getTime());
        expect(w.record.leaseTransitions).to.equal(0);
      }
      const renewTimes = writes.map((w) => w.record.renewTime?.getTime() ?? 0);
      expect(renewTimes).to.deep.equal([...renewTimes].sort((x, y) => x - y));
      expect(a.started).to.have.length(1);
      const term = a.elector.currentTerm();
      expect(term?.isValid()).to.equal(true);
      expect(world.clock.now() - (term?.lastRenew ?? 0)).to.be.at.most(2_000);
      expect(await slowpath(a)).to.equal(0);
    });

    it('falls back to GET + update when the optimistic renew fails, and counts the slow path', async () => {
      const a = world.start('a');
      await world.advance(1_000);
      a.store.failNext('update', new Error('transient'));
      await world.advance(2_000);
      expect(world.leaders()).to.deep.equal(['a']);
      expect(a.started).to.have.length(1);
      expect(await slowpath(a)).to.equal(1);
      expect(world.server.peek()?.record.leaseTransitions).to.equal(0);
    });

    for (const fault of ['partition', 'hang'] as const) {
      it(`ends the term at the renew deadline when the API ${fault === 'partition' ? 'refuses connections' : 'does not answer'}, before others may take over`, async () => {
        const a = world.start('a');
        await world.advance(0);
        const b = world.start('b');
        await world.advance(5_000);
        const term = a.elector.currentTerm();
        expect(term).to.not.equal(null);
        const lastRenew = term?.lastRenew ?? 0;
        a.store[fault]();
        await world.advance(lastRenew + 9_500 - world.clock.now());
        expect(term?.signal.aborted).to.equal(false);
        await world.advance(1_000);
        expect(a.stopped).to.have.length(1);
        const stop = a.stopped[0];
        expect(stop?.reason).to.equal('renewDeadline');
        expect(stop?.at).to.be.at.most(lastRenew + 10_000);
        expect(term?.signal.aborted).to.equal(true);
        expect(() => term?.assertCanWrite()).to.throw(FencedError);
        expect(messages(a, 'lost leader status')[0]).to.include({ reason: 'renewDeadline' });
        expect(await gauge(a)).to.equal(0);
        await world.advance(10_000);
        expect(world.leaders()).to.deep.equal(['b']);
        expect(b.started[0]?.at).to.be.at.least(lastRenew + 15_000);
      });
    }
  });

  describe('conflicts', () => {
    it('a leader whose lease was taken sees it through the watch, steps down and never overwrites it', async () => {
      const a = world.start('a');
      await world.advance(1_000);
      const term = a.elector.currentTerm();
      world.server.forceWrite(foreignRecord('intruder', { leaseTransitions: 1 }));
      const intruderWrite = world.server.writes.length;
      await world.advance(0);
      expect(a.stopped.map((s) => s.reason)).to.deep.equal(['leaseTaken']);
      expect(term?.signal.aborted).to.equal(true);
      await world.advance(14_000); // the intruder's lease is still valid (it would expire after 15 s without renewals)
      expect(world.server.writes.slice(intruderWrite).filter((w) => w.client === 'a')).to.have.length(0);
      expect(world.server.peek()?.record.holderIdentity).to.equal('intruder');
      expect(a.newLeaders).to.deep.equal(['a', 'intruder']);
    });

    it('replicas racing for the same lease produce exactly one leader; the losers get 409 and follow', async () => {
      world.server.forceWrite(foreignRecord('dead'));
      const replicas = ['a', 'b', 'c'].map((name) => world.start(name, { random: () => 0 }));
      await world.advance(60_000);
      const leaders = world.leaders();
      expect(leaders).to.have.length(1);
      for (const r of replicas) expect(r.elector.currentHolder()).to.equal(leaders[0]);
      expect(world.server.peek()?.record.leaseTransitions).to.equal(1);
    });
  });

  describe('shutdown', () => {
    it('ends the term, then releases: holder emptied, leaseDurationSeconds 1, leaseTransitions kept', async () => {
      world.server.forceWrite(foreignRecord('old', { leaseTransitions: 2 }));
      const a = world.start('a');
      await world.advance(20_000);
      expect(world.leaders()).to.deep.equal(['a']);
      const term = a.elector.currentTerm();
      await world.stop(a);
      expect(term?.signal.aborted).to.equal(true);
      expect(a.stopped[0]).to.include({ reason: 'shutdown', holderAtEnd: 'a' });
      const record = world.server.peek()?.record;
      expect(record).to.include({ holderIdentity: '', leaseDurationSeconds: 1, leaseTransitions: 3 });
      expect(messages(a, 'released leader lease')).to.have.length(1);
      expect(await gauge(a)).to.equal(0);
    });

    it('does not release a lease that another replica holds by now', async () => {
      const a = world.start('a');
      await world.advance(1_000);
      world.server.forceWrite(foreignRecord('intruder', { leaseTransitions: 1 }));
      await world.stop(a); // before the watch event reaches it
      expect(world.server.peek()?.record).to.include({ holderIdentity: 'intruder', leaseDurationSeconds: 15 });
      expect(messages(a, 'released leader lease')).to.have.length(0);
    });

    it('does not release with releaseOnCancel: false', async () => {
      const a = world.start('a', { config: { releaseOnCancel: false } });
      await world.advance(1_000);
      await world.stop(a);
      expect(world.server.peek()?.record.holderIdentity).to.equal('a');
    });

    it('waits (bounded) for onStoppedLeading work before releasing', async () => {
      let finishedStopping = -1;
      const a = world.start('a', {
        config: {
          callbacks: {
            onStoppedLeading: async () => {
              await world.clock.sleep(500);
              finishedStopping = world.clock.now();
            },
          },
        },
      });
      await world.advance(1_000);
      const releasedBefore = world.server.writes.length;
      await world.stop(a);
      const release = world.server.writes.slice(releasedBefore).find((w) => w.record.holderIdentity === '');
      expect(finishedStopping).to.equal(1_500);
      expect(release).to.not.equal(undefined);
      expect(world.server.peek()?.record.holderIdentity).to.equal('');
    });

    it('a follower takes over at once after a release, thanks to the watch', async () => {
      const a = world.start('a');
      await world.advance(0);
      const b = world.start('b');
      await world.advance(5_300); // b is in the middle of its retry sleep
      const stoppedAt = world.clock.now();
      a.controller.abort();
      await world.clock.advance(0); // no time passes
      expect(world.leaders()).to.deep.equal(['b']);
      expect(b.started[0]?.at).to.equal(stoppedAt);
      expect(world.server.peek()?.record).to.include({ holderIdentity: 'b', leaseTransitions: 1, leaseDurationSeconds: 15 });
      await world.stop(a);
    });
  });

  describe('time', () => {
    for (const [skewA, skewB] of [
      [3_600_000, -7_200_000],
      [-7_200_000, 3_600_000],
    ] as const) {
      it(`clock skew between replicas (a ${skewA / 3_600_000} h, b ${skewB / 3_600_000} h) cannot make two leaders`, async () => {
        const a = world.start('a', { wallSkewMs: skewA });
        await world.advance(0);
        const b = world.start('b', { wallSkewMs: skewB });
        await world.advance(60_000);
        expect(world.leaders()).to.deep.equal(['a']);
        const lastRenew = a.elector.currentTerm()?.lastRenew ?? 0;
        world.strict = false; // the crashed replica still "believes" it leads; its guard must be closed
        world.crash(a);
        await world.advance(25_000);
        expect(b.elector.isLeader()).to.equal(true);
        expect(b.started[0]?.at).to.be.within(lastRenew + 15_000, lastRenew + 15_000 + 4_400);
      });
    }

    it('a paused leader refuses writes the moment it resumes, before any renew, and steps down', async () => {
      const a = world.start('a');
      await world.advance(0);
      const b = world.start('b');
      await world.advance(3_000);
      const term = a.elector.currentTerm();
      world.strict = false;
      a.clock.freeze(); // SIGSTOP: its timers stop, its monotonic clock keeps running
      const writesBefore = world.server.writes.length;
      await world.advance(25_000);
      expect(b.elector.isLeader()).to.equal(true);
      a.clock.thaw(); // SIGCONT: nothing of a has run yet
      expect(term?.isValid()).to.equal(false);
      expect(() => term?.assertCanWrite()).to.throw(FencedError);
      expect(term?.signal.aborted).to.equal(true);
      expect(a.elector.isLeader()).to.equal(false);
      await world.advance(10_000);
      expect(world.leaders()).to.deep.equal(['b']);
      expect(a.stopped.map((s) => s.reason)).to.deep.equal(['renewDeadline']);
      expect(world.server.writes.slice(writesBefore).filter((w) => w.client === 'a')).to.have.length(0);
    });

    it('after a pause with nobody else around, the replica re-acquires in a new term with a new signal', async () => {
      const a = world.start('a');
      await world.advance(1_000);
      const first = a.elector.currentTerm();
      a.clock.freeze();
      await world.clock.advance(20_000);
      a.clock.thaw();
      expect(first?.isValid()).to.equal(false);
      await world.advance(5_000);
      const second = a.elector.currentTerm();
      expect(second).to.not.equal(null);
      expect(second).to.not.equal(first);
      expect(second?.number).to.equal(2);
      expect(first?.signal.aborted).to.equal(true);
      expect(second?.signal.aborted).to.equal(false);
      expect(() => second?.assertCanWrite()).to.not.throw();
    });

    it('API unreachable for everyone for 20 s: the leader stops at the renew deadline, nobody leads meanwhile, one leader after', async () => {
      const replicas = ['a', 'b', 'c'].map((name, i) => world.start(name, { random: () => i / 3 }));
      await world.advance(5_000);
      expect(world.leaders()).to.have.length(1);
      const leader = replicas.find((r) => r.elector.isLeader());
      const lastRenew = leader?.elector.currentTerm()?.lastRenew ?? 0;
      const outageStart = world.clock.now();
      for (const r of replicas) r.store.partition();
      await world.advance(20_000);
      expect(world.leaders()).to.deep.equal([]);
      expect(leader?.stopped[0]?.reason).to.equal('renewDeadline');
      expect(leader?.stopped[0]?.at).to.be.at.most(lastRenew + 10_000);
      expect(leader?.stopped[0]?.at).to.be.greaterThan(outageStart);
      for (const r of replicas) r.store.heal();
      await world.advance(30_000);
      expect(world.leaders()).to.have.length(1);
    });
  });

  describe('healthz watchdog', () => {
    it('is healthy for a follower and a renewing leader, unhealthy for a leader that has not renewed for leaseDuration + 20 s', async () => {
      const a = world.start('a');
      await world.advance(0);
      const b = world.start('b');
      await world.advance(10_000);
      const now = world.clock.now();
      expect(a.elector.healthy()).to.equal(true);
      expect(b.elector.healthy()).to.equal(true);
      const lastRenew = a.elector.currentTerm()?.lastRenew ?? 0;
      expect(a.elector.healthy(lastRenew + 35_000)).to.equal(true);
      expect(a.elector.healthy(lastRenew + 35_001)).to.equal(false);
      expect(b.elector.healthy(now + 100_000)).to.equal(true);
    });
  });

  describe('configuration', () => {
    const base = (): LeaderElectorConfig => ({
      name: 'lease',
      identity: 'a',
      store: new InMemoryLeaseServer().client('a'),
      logger: pino({ level: 'silent' }),
      ...TIMINGS,
    });
    const cases: Array<[string, Partial<LeaderElectorConfig>, RegExp]> = [
      ['empty identity', { identity: '' }, /identity: must not be empty/],
      ['blank identity', { identity: '  ' }, /identity: must not be empty/],
      ['empty name', { name: '' }, /name: must not be empty/],
      ['zero retry period', { retryPeriodMs: 0 }, /retryPeriodMs: must be a positive number/],
      ['lease not above renew deadline', { leaseDurationMs: 10_000 }, /leaseDurationMs \(10000\) must be greater than renewDeadlineMs \(10000\)/],
      ['renew deadline not above 1.2 x retry', { renewDeadlineMs: 2_400 }, /renewDeadlineMs \(2400\) must be greater than retryPeriodMs \(2000\) \* 1.2/],
      ['sub-second lease', { leaseDurationMs: 900, renewDeadlineMs: 800, retryPeriodMs: 100 }, /at least 1000/],
      ['margin as long as the lease', { safetyMarginMs: 15_000 }, /safetyMarginMs: must be at least 0 and less than leaseDurationMs/],
    ];
    for (const [what, override, message] of cases) {
      it(`rejects ${what}`, () => {
        const config = { ...base(), ...override };
        expect(() => validateElectorConfig(config)).to.throw(LeaderElectionConfigError, message);
        expect(() => new LeaderElector(config)).to.throw(LeaderElectionConfigError, message);
      });
    }

    it('accepts the defaults 15 s / 10 s / 2 s and the e2e timings 3 s / 2 s / 0.5 s', () => {
      expect(() => validateElectorConfig(base())).to.not.throw();
      expect(() => validateElectorConfig({ ...base(), leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 500 })).to.not.throw();
    });

    it('run() may be called only once', async () => {
      const elector = new LeaderElector({ ...base(), clock: world.clock });
      const controller = new AbortController();
      controller.abort();
      await elector.run(controller.signal);
      try {
        await elector.run(controller.signal);
        expect.fail('second run() was accepted');
      } catch (err) {
        expect((err as Error).message).to.match(/only once/);
      }
    });
  });
});
