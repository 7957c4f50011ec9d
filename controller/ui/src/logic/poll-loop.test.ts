import { expect } from 'chai';
import { PollLoop, type PollEnvironment } from './poll-loop.ts';

class FakeEnvironment implements PollEnvironment {
  hiddenNow = false;
  private timers = new Map<number, () => void>();
  private listeners = new Set<() => void>();
  private next = 1;

  setInterval(tick: () => void): number {
    const id = this.next++;
    this.timers.set(id, tick);
    return id;
  }
  clearInterval(timer: number): void {
    this.timers.delete(timer);
  }
  hidden(): boolean {
    return this.hiddenNow;
  }
  onVisibilityChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  /** One interval passes. */
  tick(): void {
    for (const t of [...this.timers.values()]) t();
  }
  setHidden(hidden: boolean): void {
    this.hiddenNow = hidden;
    for (const l of [...this.listeners]) l();
  }
  get timerCount(): number {
    return this.timers.size;
  }
  get listenerCount(): number {
    return this.listeners.size;
  }
}

class Refused extends Error {}

const settle = () => new Promise((resolve) => setImmediate(resolve));

function harness(answer: () => Promise<string> = async () => 'ok') {
  const env = new FakeEnvironment();
  const seen = { loads: 0, data: [] as string[], errors: [] as unknown[] };
  const loop = new PollLoop<string>(
    {
      load: () => {
        seen.loads++;
        return answer();
      },
      data: (v) => seen.data.push(v),
      error: (e) => seen.errors.push(e),
      isFinal: (e) => e instanceof Refused,
    },
    env,
    3000,
  );
  return { env, seen, loop };
}

describe('UI poll loop', () => {
  it('fetches at once and then every interval', async () => {
    const { env, seen, loop } = harness();
    loop.start();
    await settle();
    expect(seen.loads).to.equal(1);
    env.tick();
    await settle();
    env.tick();
    await settle();
    expect(seen.loads).to.equal(3);
    expect(seen.data).to.deep.equal(['ok', 'ok', 'ok']);
    loop.stop();
    expect(env.timerCount).to.equal(0);
    expect(env.listenerCount).to.equal(0);
  });

  it('does not poll in a hidden tab, and fetches at once when it is shown again', async () => {
    const { env, seen, loop } = harness();
    loop.start();
    await settle();
    env.setHidden(true);
    expect(env.timerCount, 'no timer while hidden').to.equal(0);
    for (let i = 0; i < 5; i++) env.tick();
    await settle();
    expect(seen.loads).to.equal(1);
    env.setHidden(false);
    expect(seen.loads, 'at once on becoming visible').to.equal(2);
    await settle();
    env.tick();
    await settle();
    expect(seen.loads, 'and polling again').to.equal(3);
    loop.stop();
  });

  it('opened in a background tab: loads once, then waits until shown', async () => {
    const { env, seen, loop } = harness();
    env.hiddenNow = true;
    loop.start();
    await settle();
    env.tick();
    expect(seen.loads).to.equal(1);
    expect(env.timerCount).to.equal(0);
    env.setHidden(false);
    expect(seen.loads).to.equal(2);
    expect(env.timerCount).to.equal(1);
    loop.stop();
  });

  it('stops for good after a final error (the API refused the login): no tick, no refresh, no visibility fetch', async () => {
    const { env, seen, loop } = harness(async () => {
      throw new Refused('The API refused your login: token audience mismatch');
    });
    loop.start();
    await settle();
    expect(seen.errors).to.have.length(1);
    expect(loop.active).to.equal(false);
    expect(env.timerCount).to.equal(0);
    env.tick();
    loop.refresh();
    env.setHidden(true);
    env.setHidden(false);
    await settle();
    expect(seen.loads, 'nothing after the refusal').to.equal(1);
  });

  it('keeps polling after other errors (the API was briefly unreachable)', async () => {
    let fail = true;
    const { env, seen, loop } = harness(async () => {
      if (fail) throw new TypeError('Failed to fetch');
      return 'back';
    });
    loop.start();
    await settle();
    fail = false;
    env.tick();
    await settle();
    expect(seen.errors).to.have.length(1);
    expect(seen.data).to.deep.equal(['back']);
    expect(loop.active).to.equal(true);
    loop.stop();
  });

  it('drops answers that arrive after stop()', async () => {
    let release: (v: string) => void = () => undefined;
    const { seen, loop } = harness(() => new Promise<string>((resolve) => (release = resolve)));
    loop.start();
    loop.stop();
    release('late');
    await settle();
    expect(seen.data).to.deep.equal([]);
  });
});
