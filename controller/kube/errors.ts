/**
 * The one error for an optimistic-concurrency conflict on any Kubernetes object (sessions,
 * ClusterConfigs, the leader Lease): every write carries the resourceVersion (or uid) it was
 * based on, and the API server refused it because the object is no longer at that version.
 */

export interface ConflictDetails {
  /** The object's kind, e.g. `BreakglassSession`, `Lease`; named in the message when given. */
  kind?: string;
  /** What happened, e.g. the API server's message. @default 'was modified concurrently' */
  detail?: string;
}

/**
 * The object changed since it was read (HTTP 409, or a precondition the store checked itself),
 * or, on create, already exists. Nothing was written: re-read and decide again.
 */
export class ConflictError extends Error {
  readonly kind: string | undefined;

  constructor(
    readonly namespace: string,
    readonly objectName: string,
    details: ConflictDetails = {},
  ) {
    const what = `${details.kind === undefined ? '' : `${details.kind} `}${namespace}/${objectName}`;
    super(`${what} ${details.detail ?? 'was modified concurrently'}; write refused`);
    this.name = 'ConflictError';
    this.kind = details.kind;
  }
}
