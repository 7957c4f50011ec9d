/**
 * When a polled list may fetch and which answers it applies. A tick while an answer is still
 * outstanding is skipped (a slow API must not pile up requests), and an answer is applied unless a
 * newer one already was: under load every answer may be slower than the interval, and keeping only
 * the newest request's answer would freeze the list.
 */
export interface PollTicket {
  readonly sequence: number;
  readonly epoch: number;
}

export class PollGate {
  private started = 0;
  private applied = 0;
  private inFlight = 0;
  private epoch = 0;

  /** A ticket for a new fetch, or undefined when a tick should wait for the outstanding one. */
  begin(force: boolean): PollTicket | undefined {
    if (!force && this.inFlight > 0) return undefined;
    this.inFlight++;
    return { sequence: ++this.started, epoch: this.epoch };
  }

  /** Whether the answer of this ticket is to be shown. */
  settle(ticket: PollTicket): boolean {
    if (ticket.epoch !== this.epoch) return false;
    this.inFlight--;
    if (ticket.sequence < this.applied) return false;
    this.applied = ticket.sequence;
    return true;
  }

  /** The list's key changed: outstanding answers are for another list and block nothing. */
  reset(): void {
    this.epoch++;
    this.inFlight = 0;
  }
}
