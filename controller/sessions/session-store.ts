/**
 * What the REST API needs beyond the loops' SessionRepository: creating sessions and fresh
 * (uncached) lists for duplicate checks, which must see sessions created a moment ago on
 * another replica whose watch event has not reached this replica's cache yet.
 */
import type { BreakglassSession } from '../../crds/index.ts';
import type { SessionRepository } from './session-repository.ts';

/** The API server refused to create the object (admission or schema validation). */
export class SessionCreateRefusedError extends Error {
  constructor(
    readonly status: 400 | 403 | 422,
    message: string,
  ) {
    super(message);
    this.name = 'SessionCreateRefusedError';
  }
}

export interface ListSelector {
  /** e.g. `a=b,c=d` (equality terms only). */
  labelSelector?: string;
  /** Only `metadata.name=<name>` is used. */
  fieldSelector?: string;
}

export interface SessionStore extends SessionRepository {
  /** Creates the object (metadata.generateName allowed); the status is not written (the API server drops it). */
  create(session: BreakglassSession, signal?: AbortSignal): Promise<BreakglassSession>;
  /** An uncached list across all namespaces, filtered by label and/or field selector. */
  listLive(selector: ListSelector, signal?: AbortSignal): Promise<BreakglassSession[]>;
}
