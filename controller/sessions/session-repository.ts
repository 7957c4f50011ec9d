/**
 * What the session loops need from storage: cached reads to find candidates, fresh reads to
 * re-check them, and writes that never overwrite a newer version (optimistic concurrency).
 *
 * Requests to the API server take an optional `signal`; implementations also bound each request
 * by their own timeout, so a hung connection cannot stall a loop.
 */
import type { BreakglassSession, BreakglassSessionStatus, SessionState } from '../../crds/index.ts';

/**
 * @deprecated Import ConflictError from `controller/kube/errors.ts`; re-exported (the same class)
 * only so code written against the old location keeps compiling.
 */
export { ConflictError } from '../kube/errors.ts';

/** The object no longer exists (HTTP 404); the write did not happen. */
export class SessionNotFoundError extends Error {
  constructor(
    readonly namespace: string,
    readonly sessionName: string,
  ) {
    super(`session ${namespace}/${sessionName} not found`);
    this.name = 'SessionNotFoundError';
  }
}

/** Identifies exactly the version of an object a delete is meant for. */
export interface DeletePrecondition {
  uid: string;
  resourceVersion: string;
}

export interface SessionRepository {
  /** True once the cache holds a complete list; before that, cached reads may miss sessions. */
  hasSynced(): boolean;
  /** Resolves once the cache holds a complete list (at once when it already does). */
  whenSynced(): Promise<void>;
  /**
   * Every session, from the watch cache (may lag the API server slightly). The array may be
   * shared with the cache (and frozen): read it, do not modify it.
   */
  listCached(): readonly BreakglassSession[];
  /** Sessions whose status.state is one of `states`, from the watch cache. */
  listCachedByState(...states: SessionState[]): readonly BreakglassSession[];
  /** An uncached read with the current resourceVersion; undefined when it does not exist. */
  getLive(namespace: string, name: string, signal?: AbortSignal): Promise<BreakglassSession | undefined>;
  /**
   * Replaces the status subresource, only if the object is still at `resourceVersion`.
   * Throws ConflictError (409) or SessionNotFoundError (404); returns the stored object.
   */
  writeStatus(
    session: BreakglassSession,
    status: BreakglassSessionStatus,
    resourceVersion: string,
    signal?: AbortSignal,
  ): Promise<BreakglassSession>;
  /**
   * Deletes the object, only if uid and resourceVersion still match.
   * Returns false when it was already gone; throws ConflictError when it changed.
   */
  delete(namespace: string, name: string, precondition: DeletePrecondition, signal?: AbortSignal): Promise<boolean>;
}
