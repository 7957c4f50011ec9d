/**
 * The grant check on the spoke: "would these groups be allowed this request?" (reference §6.3
 * steps 8-9). The implementation sends a SubjectAccessReview to the spoke with the ClusterConfig's
 * credentials; the domain sees only this interface. Errors are typed so that the pipeline never
 * classifies failures by message text (§15.15).
 */
import type { RequestAttributes } from './subject-access-review.ts';

export interface GrantChecker {
  /** Resolves whether `groups` may do `attributes` on `cluster`; rejects with a GrantCheckError. */
  allowed(cluster: string, groups: readonly string[], attributes: RequestAttributes, signal?: AbortSignal): Promise<boolean>;
  /**
   * The answer `allowed` would give at once, when a cache holds it; undefined when it would have
   * to ask the spoke. Lets a decision served from a cache skip a promise per check.
   */
  cached?(cluster: string, groups: readonly string[], attributes: RequestAttributes): boolean | undefined;
}

export type GrantCheckFailure =
  /** The spoke could not be reached or answered with a server error. */
  | 'unreachable'
  /** The spoke did not answer within the timeout. */
  | 'timeout'
  /** The circuit breaker for this cluster is open: recent calls failed. */
  | 'circuit-open'
  /** The hub has no usable credentials for the spoke (secret missing, kubeconfig invalid). */
  | 'no-credentials'
  /** The hub's identity may not create SubjectAccessReviews on the spoke. */
  | 'forbidden';

export class GrantCheckError extends Error {
  constructor(
    readonly failure: GrantCheckFailure,
    readonly cluster: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'GrantCheckError';
  }

  /** The spoke is down or slow (§6.7: HTTP 500, the spoke's failurePolicy decides). */
  get spokeUnavailable(): boolean {
    return this.failure === 'unreachable' || this.failure === 'timeout' || this.failure === 'circuit-open';
  }
}
