/**
 * Fencing of leader-only writes: a leadership term (term.ts) is the WriteGuard of the work done
 * under it and raises FencedError once it may no longer write. Domain loops import both from
 * here, so neither they nor leadership depend on the runtime that schedules them.
 */

/** Thrown by a WriteGuard when a leader-only write must not happen any more. */
export class FencedError extends Error {
  constructor(message = 'leadership term is no longer valid; write refused') {
    super(message);
    this.name = 'FencedError';
  }
}

/** Checked immediately before every leader-only write to the API server. */
export interface WriteGuard {
  /** Throws FencedError when the term has ended or is no longer safely valid. */
  assertCanWrite(): void;
}
