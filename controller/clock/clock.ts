/**
 * Time for the whole controller: the elector judges expiry on a monotonic clock (never on wall
 * time, which can jump or differ between nodes; wall time is only written into the Lease for
 * humans), and loops and informers sleep with `pause`. Below every other room (it imports
 * nothing of ours), so kube access and leadership can both use it.
 */
import { performance } from 'node:perf_hooks';

export interface Clock {
  /** Monotonic milliseconds; only differences are meaningful. Keeps running while the process is stopped. */
  now(): number;
  /** Wall-clock time, written into the Lease's acquireTime/renewTime. */
  wallNow(): Date;
  /** Resolves after `ms`, or early (without error) as soon as `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  wallNow: () => new Date(),
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      signal?.addEventListener('abort', done, { once: true });
    });
  },
};

/** Resolves after `ms`, or as soon as the signal aborts. Never rejects. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return systemClock.sleep(ms, signal);
}

/** The error a clockTimeout signal aborts with. */
export class TimeoutError extends Error {
  constructor(ms: number) {
    super(`timed out after ${Math.round(ms)} ms`);
    this.name = 'TimeoutError';
  }
}

/**
 * The reason a finished clockTimeout stops its sleeper with: abort() without one creates a
 * DOMException and captures a stack (about 90 µs, on every spoke call of the webhook).
 */
const CANCELLED = Symbol('clockTimeout cancelled');

/**
 * An AbortSignal that aborts after `ms` on `clock` (so fake time drives it in tests), or when
 * `parent` aborts. Call `cancel()` when done so no sleeper is left behind.
 */
export function clockTimeout(clock: Clock, ms: number, parent?: AbortSignal): { signal: AbortSignal; cancel(): void } {
  const controller = new AbortController();
  const stop = new AbortController();
  const onParentAbort = (): void => controller.abort(parent?.reason);
  if (parent?.aborted) controller.abort(parent.reason);
  else parent?.addEventListener('abort', onParentAbort, { once: true });
  void clock.sleep(ms, stop.signal).then(() => {
    if (!stop.signal.aborted) controller.abort(new TimeoutError(ms));
  });
  return {
    signal: controller.signal,
    cancel() {
      stop.abort(CANCELLED);
      parent?.removeEventListener('abort', onParentAbort);
    },
  };
}

interface Sleeper {
  at: number;
  seq: number;
  view: FakeClockView | undefined;
  resolve: () => void;
}

/**
 * Deterministic time for tests. `advance(ms)` moves time forward and resolves due sleepers in
 * order of their due time, letting the code they wake run (and register new sleepers) before the
 * next one fires. `view()` gives a replica its own wall-clock skew and the ability to be frozen,
 * like a SIGSTOPped process: its monotonic time keeps running but its timers do not fire.
 */
export class FakeClock implements Clock {
  private t = 0;
  private seq = 0;
  private sleepers: Sleeper[] = [];

  constructor(private readonly wallStartMs = Date.UTC(2030, 0, 1)) {}

  now(): number {
    return this.t;
  }

  wallNow(): Date {
    return new Date(this.wallStartMs + this.t);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return this.sleepFor(ms, signal, undefined);
  }

  /** A clock sharing this timeline with its own wall-clock offset, freezable like a stopped process. */
  view(options: { wallSkewMs?: number } = {}): FakeClockView {
    return new FakeClockView(this, options.wallSkewMs ?? 0);
  }

  /** Number of pending sleepers (for tests that check nothing is left running). */
  pendingSleepers(): number {
    return this.sleepers.length;
  }

  /** Moves time forward by `ms`, firing due sleepers one by one in due order. */
  async advance(ms: number): Promise<void> {
    const target = this.t + Math.max(0, ms);
    await flush();
    for (;;) {
      const next = this.nextDue(target);
      if (!next) break;
      this.sleepers.splice(this.sleepers.indexOf(next), 1);
      if (next.at > this.t) this.t = next.at;
      next.resolve();
      await flush();
    }
    this.t = target;
    await flush();
  }

  /** Moves time forward without firing any sleeper: they are late, as after a process pause. */
  jump(ms: number): void {
    this.t += Math.max(0, ms);
  }

  /** @internal */
  sleepFor(ms: number, signal: AbortSignal | undefined, view: FakeClockView | undefined): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const sleeper: Sleeper = {
        at: this.t + Math.max(0, ms),
        seq: this.seq++,
        view,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = (): void => {
        const index = this.sleepers.indexOf(sleeper);
        if (index >= 0) this.sleepers.splice(index, 1);
        resolve();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.sleepers.push(sleeper);
    });
  }

  private nextDue(target: number): Sleeper | undefined {
    let best: Sleeper | undefined;
    for (const s of this.sleepers) {
      if (s.at > target || s.view?.frozen) continue;
      if (!best || s.at < best.at || (s.at === best.at && s.seq < best.seq)) best = s;
    }
    return best;
  }
}

export class FakeClockView implements Clock {
  frozen = false;

  constructor(
    private readonly base: FakeClock,
    private readonly wallSkewMs: number,
  ) {}

  now(): number {
    return this.base.now();
  }

  wallNow(): Date {
    return new Date(this.base.wallNow().getTime() + this.wallSkewMs);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return this.base.sleepFor(ms, signal, this);
  }

  /** Stops this view's timers (they fire, late, after thaw() on the next advance). */
  freeze(): void {
    this.frozen = true;
  }

  thaw(): void {
    this.frozen = false;
  }
}

/** Lets every pending promise continuation run (several rounds, for chains across I/O callbacks). */
async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
