import { expect } from 'chai';
import { performance } from 'node:perf_hooks';
import { FakeClock, TimeoutError, clockTimeout, pause, systemClock } from './clock.ts';

describe('FakeClock', () => {
  it('resolves sleepers in order of their due time as time advances', async () => {
    const clock = new FakeClock();
    const woke: string[] = [];
    void clock.sleep(3000).then(() => woke.push(`c@${clock.now()}`));
    void clock.sleep(1000).then(() => woke.push(`a@${clock.now()}`));
    void clock.sleep(2000).then(() => woke.push(`b@${clock.now()}`));
    await clock.advance(2500);
    expect(woke).to.deep.equal(['a@1000', 'b@2000']);
    expect(clock.now()).to.equal(2500);
    await clock.advance(1000);
    expect(woke).to.deep.equal(['a@1000', 'b@2000', 'c@3000']);
  });

  it('fires sleepers registered by woken code within the same advance', async () => {
    const clock = new FakeClock();
    const ticks: number[] = [];
    void (async () => {
      for (let i = 0; i < 3; i++) {
        await clock.sleep(1000);
        ticks.push(clock.now());
      }
    })();
    await clock.advance(5000);
    expect(ticks).to.deep.equal([1000, 2000, 3000]);
  });

  it('resolves a sleeper early when its signal aborts, and drops it', async () => {
    const clock = new FakeClock();
    const controller = new AbortController();
    let resolved = false;
    void clock.sleep(10_000, controller.signal).then(() => (resolved = true));
    controller.abort();
    await clock.advance(0);
    expect(resolved).to.equal(true);
    expect(clock.pendingSleepers()).to.equal(0);
  });

  it('jump() moves time without firing timers, like a paused process', async () => {
    const clock = new FakeClock();
    let fired = false;
    void clock.sleep(1000).then(() => (fired = true));
    clock.jump(5000);
    await new Promise((r) => setImmediate(r));
    expect(fired).to.equal(false);
    expect(clock.now()).to.equal(5000);
    await clock.advance(0);
    expect(fired).to.equal(true);
  });

  it('a frozen view keeps monotonic time but fires its timers only after thaw', async () => {
    const clock = new FakeClock();
    const view = clock.view({ wallSkewMs: -3_600_000 });
    expect(view.wallNow().getTime()).to.equal(clock.wallNow().getTime() - 3_600_000);
    let fired = false;
    void view.sleep(1000).then(() => (fired = true));
    view.freeze();
    await clock.advance(10_000);
    expect(fired).to.equal(false);
    expect(view.now()).to.equal(10_000);
    view.thaw();
    await clock.advance(0);
    expect(fired).to.equal(true);
  });
});

describe('clockTimeout', () => {
  it('aborts with a TimeoutError when the time is up, and not before', async () => {
    const clock = new FakeClock();
    const { signal } = clockTimeout(clock, 1000);
    await clock.advance(999);
    expect(signal.aborted).to.equal(false);
    await clock.advance(1);
    expect(signal.aborted).to.equal(true);
    expect(signal.reason).to.be.instanceOf(TimeoutError);
  });

  it('follows its parent signal and leaves no timer behind when cancelled', async () => {
    const clock = new FakeClock();
    const parent = new AbortController();
    const timeout = clockTimeout(clock, 1000, parent.signal);
    parent.abort(new Error('shutdown'));
    expect(timeout.signal.aborted).to.equal(true);
    timeout.cancel();
    await clock.advance(0);
    expect(clock.pendingSleepers()).to.equal(0);
  });
});

describe('systemClock', () => {
  it('is monotonic and its sleep ends early on abort', async () => {
    const a = systemClock.now();
    const controller = new AbortController();
    const sleeping = systemClock.sleep(60_000, controller.signal);
    controller.abort();
    await sleeping; // would time the test out if the abort were ignored
    expect(systemClock.now()).to.be.at.least(a);
  });
});

describe('pause', () => {
  it('resolves early when the signal aborts, and at once when already aborted', async () => {
    const controller = new AbortController();
    const first = (p: Promise<void>) =>
      Promise.race([p.then(() => 'paused'), new Promise((resolve) => setTimeout(() => resolve('timer'), 2000))]);
    const paused = pause(60_000, controller.signal);
    controller.abort();
    expect(await first(paused)).to.equal('paused');
    expect(await first(pause(60_000, controller.signal))).to.equal('paused');
  });

  it('resolves after its time when nothing aborts it', async () => {
    const started = performance.now();
    await pause(30, new AbortController().signal);
    expect(performance.now() - started).to.be.at.least(25);
  });
});
