/**
 * A SessionRepository in memory with the API server's optimistic concurrency: every write bumps
 * the resourceVersion and a write or delete against an older one fails with ConflictError; a
 * request with an aborted signal fails with the signal's reason.
 * Used by unit tests of the loops; the cache can be made to lag behind the "live" objects.
 */
import type { BreakglassSession, BreakglassSessionStatus, SessionState } from '../../crds/index.ts';
import { stateOf } from './predicates.ts';
import { ConflictError } from '../kube/errors.ts';
import { SessionNotFoundError, type DeletePrecondition } from './session-repository.ts';
import type { ListSelector, SessionStore } from './session-store.ts';

export class InMemorySessionRepository implements SessionStore {
  private readonly live = new Map<string, BreakglassSession>();
  private cache = new Map<string, BreakglassSession>();
  private nextVersion = 1;
  private nextUid = 1;
  /** When false, cached reads keep returning the last synced snapshot (see `syncCache`). */
  autoSync = true;
  private isSynced = true;
  private readonly syncWaiters: (() => void)[] = [];
  /** Called before every write or delete is applied; tests use it to simulate a racing writer. */
  beforeWrite?: (namespace: string, name: string) => void;
  readonly writes: { namespace: string; name: string; status: BreakglassSessionStatus }[] = [];
  readonly deletes: { namespace: string; name: string }[] = [];

  /** Stores a session as the API server would: assigns uid, resourceVersion and generation. */
  put(session: BreakglassSession): BreakglassSession {
    const namespace = session.metadata?.namespace ?? 'default';
    const name = session.metadata?.name ?? `session-${this.nextUid}`;
    const stored: BreakglassSession = structuredClone({
      ...session,
      metadata: {
        generation: 1,
        creationTimestamp: new Date(0).toISOString(),
        ...session.metadata,
        namespace,
        name,
        uid: session.metadata?.uid ?? `uid-${this.nextUid++}`,
        resourceVersion: String(this.nextVersion++),
      },
    });
    this.live.set(`${namespace}/${name}`, stored);
    if (this.autoSync) this.syncCache();
    return structuredClone(stored);
  }

  /** Changes a stored session out of band (a concurrent writer); bumps its resourceVersion. */
  modify(namespace: string, name: string, change: (session: BreakglassSession) => void): void {
    const current = this.live.get(`${namespace}/${name}`);
    if (current === undefined) throw new Error(`no session ${namespace}/${name}`);
    change(current);
    current.metadata = { ...current.metadata, resourceVersion: String(this.nextVersion++) };
    if (this.autoSync) this.syncCache();
  }

  /** Removes a session out of band. */
  remove(namespace: string, name: string): void {
    this.live.delete(`${namespace}/${name}`);
    if (this.autoSync) this.syncCache();
  }

  /** Makes the cache equal to the live objects. */
  syncCache(): void {
    this.cache = new Map([...this.live].map(([k, v]) => [k, structuredClone(v)]));
  }

  get(namespace: string, name: string): BreakglassSession | undefined {
    const session = this.live.get(`${namespace}/${name}`);
    return session === undefined ? undefined : structuredClone(session);
  }

  /** Whether the cache counts as synced; setting it to true releases `whenSynced` waiters. */
  get synced(): boolean {
    return this.isSynced;
  }

  set synced(value: boolean) {
    this.isSynced = value;
    if (value) for (const resolve of this.syncWaiters.splice(0)) resolve();
  }

  hasSynced(): boolean {
    return this.isSynced;
  }

  whenSynced(): Promise<void> {
    if (this.isSynced) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  /** Frozen, like the informer's shared list, so a caller that writes to it fails in tests too. */
  listCached(): readonly BreakglassSession[] {
    return Object.freeze([...this.cache.values()].map((s) => structuredClone(s)));
  }

  listCachedByState(...states: SessionState[]): readonly BreakglassSession[] {
    return this.listCached().filter((s) => {
      const state = stateOf(s);
      return state !== '' && states.includes(state);
    });
  }

  async getLive(namespace: string, name: string, signal?: AbortSignal): Promise<BreakglassSession | undefined> {
    signal?.throwIfAborted();
    return this.get(namespace, name);
  }

  async writeStatus(
    session: BreakglassSession,
    status: BreakglassSessionStatus,
    resourceVersion: string,
    signal?: AbortSignal,
  ): Promise<BreakglassSession> {
    signal?.throwIfAborted();
    const namespace = session.metadata?.namespace ?? '';
    const name = session.metadata?.name ?? '';
    this.beforeWrite?.(namespace, name);
    const current = this.live.get(`${namespace}/${name}`);
    if (current === undefined) throw new SessionNotFoundError(namespace, name);
    if (current.metadata?.resourceVersion !== resourceVersion) throw new ConflictError(namespace, name);
    current.status = structuredClone(status);
    current.metadata = { ...current.metadata, resourceVersion: String(this.nextVersion++) };
    this.writes.push({ namespace, name, status: structuredClone(status) });
    if (this.autoSync) this.syncCache();
    return structuredClone(current);
  }

  async delete(namespace: string, name: string, precondition: DeletePrecondition, signal?: AbortSignal): Promise<boolean> {
    signal?.throwIfAborted();
    this.beforeWrite?.(namespace, name);
    const current = this.live.get(`${namespace}/${name}`);
    if (current === undefined) return false;
    if (
      current.metadata?.uid !== precondition.uid ||
      current.metadata?.resourceVersion !== precondition.resourceVersion
    ) {
      throw new ConflictError(namespace, name);
    }
    this.live.delete(`${namespace}/${name}`);
    this.deletes.push({ namespace, name });
    if (this.autoSync) this.syncCache();
    return true;
  }

  async create(session: BreakglassSession, signal?: AbortSignal): Promise<BreakglassSession> {
    signal?.throwIfAborted();
    const name = session.metadata?.name ?? `${session.metadata?.generateName ?? 'session-'}${String(this.nextUid).padStart(5, 'x')}`;
    const { status: _dropped, ...withoutStatus } = session;
    void _dropped; // as the API server does with a status subresource
    return this.put({
      ...withoutStatus,
      metadata: { ...session.metadata, name, creationTimestamp: new Date().toISOString() },
    } as BreakglassSession);
  }

  async listLive(selector: ListSelector, signal?: AbortSignal): Promise<BreakglassSession[]> {
    signal?.throwIfAborted();
    const name = selector.fieldSelector?.match(/^metadata\.name=(.*)$/)?.[1];
    const wanted = (selector.labelSelector ?? '')
      .split(',')
      .filter((term) => term !== '')
      .map((term) => term.split('=') as [string, string]);
    return [...this.live.values()]
      .filter((s) => name === undefined || s.metadata?.name === name)
      .filter((s) => wanted.every(([key, value]) => s.metadata?.labels?.[key] === value))
      .map((s) => structuredClone(s));
  }
}
