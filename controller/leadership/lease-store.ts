/**
 * The lock as the elector sees it (client-go's resourcelock.Interface): read, create, and
 * update-if-unchanged, plus a change feed. The Kubernetes Lease is one implementation; an
 * in-memory one lets the algorithm be tested with a fake clock.
 */

/** The fields of coordination.k8s.io/v1 LeaseSpec that leader election uses. */
export interface LeaderElectionRecord {
  /** '' when nobody holds the lease (after a release). */
  holderIdentity: string;
  leaseDurationSeconds: number;
  acquireTime: Date | null;
  renewTime: Date | null;
  leaseTransitions: number;
}

export interface LeaseSnapshot {
  record: LeaderElectionRecord;
  /** Precondition for the next update: it fails with ConflictError if the object changed since. */
  resourceVersion: string;
  /**
   * Canonical encoding of `record`. The elector compares it to detect that the holder renewed;
   * it never trusts the timestamps themselves (client-go compares the marshalled record too).
   */
  raw: string;
}

export interface StoreRequestOptions {
  /** Aborts the request (the caller's deadline, or shutdown). */
  signal?: AbortSignal;
}

export interface LeaseStore {
  /** Human-readable name of the lock for logs, e.g. `breakglass-system/breakglass.telekom.io`. */
  readonly description: string;
  /** The current lease, or null when it does not exist. */
  get(options?: StoreRequestOptions): Promise<LeaseSnapshot | null>;
  /** Creates the lease; ConflictError when it already exists. */
  create(record: LeaderElectionRecord, options?: StoreRequestOptions): Promise<LeaseSnapshot>;
  /** Replaces the record if the lease is still at `resourceVersion`; ConflictError otherwise. */
  update(record: LeaderElectionRecord, resourceVersion: string, options?: StoreRequestOptions): Promise<LeaseSnapshot>;
  /**
   * Reports every observed change of the lease (null: deleted) until `signal` aborts. Best
   * effort: it only speeds reactions up, the elector still polls. It may report a state again
   * or a stale one, so receivers must treat it as a hint.
   */
  watch(onChange: (snapshot: LeaseSnapshot | null) => void, signal: AbortSignal): void;
}

/**
 * @deprecated Import ConflictError from `controller/kube/errors.ts`; re-exported (the same class)
 * only so code written against the old location keeps compiling.
 */
export { ConflictError } from '../kube/errors.ts';

/** 404: the lease does not exist. */
export class NotFoundError extends Error {
  constructor(message = 'the lease does not exist') {
    super(message);
    this.name = 'NotFoundError';
  }
}

/** Canonical, order-stable JSON of a record (the `raw` of a snapshot). */
export function encodeRecord(record: LeaderElectionRecord): string {
  return JSON.stringify({
    holderIdentity: record.holderIdentity,
    leaseDurationSeconds: record.leaseDurationSeconds,
    acquireTime: record.acquireTime ? record.acquireTime.toISOString() : null,
    renewTime: record.renewTime ? record.renewTime.toISOString() : null,
    leaseTransitions: record.leaseTransitions,
  });
}

export function snapshotOf(record: LeaderElectionRecord, resourceVersion: string): LeaseSnapshot {
  return { record: { ...record }, resourceVersion, raw: encodeRecord(record) };
}
