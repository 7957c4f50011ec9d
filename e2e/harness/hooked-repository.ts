/**
 * A SessionRepository that forwards every call to a real one and lets a test run code at an
 * exact point of a cleanup pass: after a live read returned, before the pass sees the result.
 * The hook is awaited, so whatever it writes to the API server has happened before the pass
 * takes its next step. This injects a race deterministically, without sleeps.
 */
import type { BreakglassSession, BreakglassSessionStatus, SessionState } from '../../crds/index.ts';
import type { DeletePrecondition, SessionRepository } from '../../controller/sessions/session-repository.ts';

export type AfterGetLive = (namespace: string, name: string, result: BreakglassSession | undefined) => Promise<void>;

export class HookedSessionRepository implements SessionRepository {
  /** Runs after every live read; replace it to move the injection point. */
  afterGetLive: AfterGetLive | undefined;

  constructor(private readonly inner: SessionRepository) {}

  hasSynced(): boolean {
    return this.inner.hasSynced();
  }

  whenSynced(): Promise<void> {
    return this.inner.whenSynced();
  }

  listCached(): readonly BreakglassSession[] {
    return this.inner.listCached();
  }

  listCachedByState(...states: SessionState[]): readonly BreakglassSession[] {
    return this.inner.listCachedByState(...states);
  }

  async getLive(namespace: string, name: string, signal?: AbortSignal): Promise<BreakglassSession | undefined> {
    const result = await this.inner.getLive(namespace, name, signal);
    await this.afterGetLive?.(namespace, name, result);
    return result;
  }

  writeStatus(
    session: BreakglassSession,
    status: BreakglassSessionStatus,
    resourceVersion: string,
    signal?: AbortSignal,
  ): Promise<BreakglassSession> {
    return this.inner.writeStatus(session, status, resourceVersion, signal);
  }

  delete(namespace: string, name: string, precondition: DeletePrecondition, signal?: AbortSignal): Promise<boolean> {
    return this.inner.delete(namespace, name, precondition, signal);
  }
}

/** A hook that runs `action` once, as soon as every one of `names` has been read live. */
export function onceAllRead(names: readonly string[], action: () => Promise<void>): AfterGetLive {
  const read = new Set<string>();
  let fired = false;
  return async (_namespace, name) => {
    read.add(name);
    if (fired || !names.every((n) => read.has(n))) return;
    fired = true;
    await action();
  };
}
