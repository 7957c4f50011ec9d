/**
 * The refresh loop of one polled list: a fetch at once, then one per interval while the page is
 * visible. A hidden tab (document.hidden) does not poll; it fetches at once when it is shown
 * again. An answer `isFinal` (the API refused the login) ends the loop: retrying every interval
 * would only renew and redirect again and again. Which answers apply is the PollGate's.
 */
import { PollGate } from './poll-gate.ts';

export interface PollEnvironment {
  setInterval(tick: () => void, ms: number): number;
  clearInterval(timer: number): void;
  /** document.hidden */
  hidden(): boolean;
  /** Subscribes to visibilitychange; returns the unsubscribe. */
  onVisibilityChange(listener: () => void): () => void;
}

export interface PollHandlers<T> {
  load(): Promise<T>;
  data(value: T): void;
  error(err: unknown): void;
  /** An error after which the loop stops for good. */
  isFinal(err: unknown): boolean;
}

export class PollLoop<T> {
  private readonly gate = new PollGate();
  private timer: number | undefined;
  private unsubscribe: (() => void) | undefined;
  private running = false;

  constructor(
    private readonly handlers: PollHandlers<T>,
    private readonly env: PollEnvironment,
    private readonly intervalMs: number,
  ) {}

  /** Fetches at once (also in a hidden tab: the page has its data when shown), then polls while visible. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.unsubscribe = this.env.onVisibilityChange(() => this.visibilityChanged());
    this.fetch(true);
    if (this.running && !this.env.hidden()) this.startTimer();
  }

  /** Fetch now (after an action), without waiting for the next tick; nothing once stopped. */
  refresh(): void {
    if (this.running) this.fetch(true);
  }

  /** Whether the loop still polls (false after stop() or a final error). */
  get active(): boolean {
    return this.running;
  }

  /** Ends the loop; answers still outstanding are dropped. */
  stop(): void {
    this.running = false;
    this.stopTimer();
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.gate.reset();
  }

  private visibilityChanged(): void {
    if (!this.running) return;
    if (this.env.hidden()) {
      this.stopTimer();
      return;
    }
    this.fetch(false);
    this.startTimer();
  }

  private tick(): void {
    if (!this.running || this.env.hidden()) return;
    this.fetch(false);
  }

  private fetch(force: boolean): void {
    const ticket = this.gate.begin(force);
    if (ticket === undefined) return;
    let answer: Promise<T>;
    try {
      answer = this.handlers.load();
    } catch (err) {
      answer = Promise.reject(err);
    }
    answer.then(
      (value) => {
        if (this.running && this.gate.settle(ticket)) this.handlers.data(value);
      },
      (err: unknown) => {
        if (!this.running || !this.gate.settle(ticket)) return;
        this.handlers.error(err);
        if (this.handlers.isFinal(err)) this.stop();
      },
    );
  }

  private startTimer(): void {
    if (this.timer === undefined) this.timer = this.env.setInterval(() => this.tick(), this.intervalMs);
  }

  private stopTimer(): void {
    if (this.timer !== undefined) this.env.clearInterval(this.timer);
    this.timer = undefined;
  }
}
