/**
 * An in-memory lease with API-server semantics (resourceVersion preconditions, watch), shared
 * by several electors to simulate replicas in unit tests. Each replica talks through its own
 * client, on which network faults can be injected (partition, hang, one-off failures).
 */
import { ConflictError } from '../kube/errors.ts';
import {
  NotFoundError,
  snapshotOf,
  type LeaderElectionRecord,
  type LeaseSnapshot,
  type LeaseStore,
  type StoreRequestOptions,
} from './lease-store.ts';

/** What a client sees when the server cannot be reached. */
export class UnreachableError extends Error {
  constructor() {
    super('connect ECONNREFUSED (simulated partition)');
    this.name = 'UnreachableError';
  }
}

export interface RecordedWrite {
  client: string;
  op: 'create' | 'update';
  record: LeaderElectionRecord;
  resourceVersion: string;
}

type Op = 'get' | 'create' | 'update';

export class InMemoryLeaseServer {
  private current: LeaseSnapshot | null = null;
  private version = 0;
  private readonly subscribers = new Set<{ client: InMemoryLeaseStore; onChange: (s: LeaseSnapshot | null) => void }>();
  /** Every successful write, in order. */
  readonly writes: RecordedWrite[] = [];

  constructor(readonly description = 'test/lease') {}

  client(name: string): InMemoryLeaseStore {
    return new InMemoryLeaseStore(this, name);
  }

  /** The stored lease, as an observer with direct access would see it. */
  peek(): LeaseSnapshot | null {
    return this.current;
  }

  /** Writes a record as another actor would (no precondition). */
  forceWrite(record: LeaderElectionRecord, client = 'external'): LeaseSnapshot {
    return this.commit(record, client, this.current ? 'update' : 'create');
  }

  /** @internal */
  read(): LeaseSnapshot | null {
    return this.current;
  }

  /** @internal */
  create(record: LeaderElectionRecord, client: string): LeaseSnapshot {
    if (this.current) throw this.conflict('already exists');
    return this.commit(record, client, 'create');
  }

  /** @internal */
  update(record: LeaderElectionRecord, resourceVersion: string, client: string): LeaseSnapshot {
    if (!this.current) throw new NotFoundError();
    if (this.current.resourceVersion !== resourceVersion) {
      throw this.conflict('the object has been modified; please apply your changes to the latest version and try again');
    }
    return this.commit(record, client, 'update');
  }

  private conflict(detail: string): ConflictError {
    const slash = this.description.indexOf('/');
    return new ConflictError(this.description.slice(0, slash), this.description.slice(slash + 1), { kind: 'Lease', detail });
  }

  /** @internal */
  subscribe(client: InMemoryLeaseStore, onChange: (s: LeaseSnapshot | null) => void, signal: AbortSignal): void {
    if (signal.aborted) return;
    const entry = { client, onChange };
    this.subscribers.add(entry);
    signal.addEventListener('abort', () => this.subscribers.delete(entry), { once: true });
    // Like a fresh Kubernetes watch without resourceVersion: the current state comes first.
    const initial = this.current;
    queueMicrotask(() => {
      if (!signal.aborted && !client.partitioned) onChange(initial);
    });
  }

  /** @internal Replays the current state to a client's watchers (a watch reconnecting after a partition). */
  resync(client: InMemoryLeaseStore): void {
    const state = this.current;
    for (const s of this.subscribers) if (s.client === client) queueMicrotask(() => s.onChange(state));
  }

  private commit(record: LeaderElectionRecord, client: string, op: 'create' | 'update'): LeaseSnapshot {
    this.version += 1;
    const snapshot = snapshotOf(record, String(this.version));
    this.current = snapshot;
    this.writes.push({ client, op, record: { ...record }, resourceVersion: snapshot.resourceVersion });
    for (const s of this.subscribers) {
      queueMicrotask(() => {
        if (!s.client.partitioned) s.onChange(snapshot);
      });
    }
    return snapshot;
  }
}

export class InMemoryLeaseStore implements LeaseStore {
  partitioned = false;
  private hanging = false;
  private readonly injected: Array<{ op: Op; error: Error }> = [];
  /** Requests made by this client, per operation. */
  readonly calls: Record<Op, number> = { get: 0, create: 0, update: 0 };

  constructor(
    private readonly server: InMemoryLeaseServer,
    readonly name: string,
  ) {}

  get description(): string {
    return this.server.description;
  }

  /** Requests fail at once (connection refused) and watch events are lost, until heal(). */
  partition(): void {
    this.partitioned = true;
  }

  /** Requests never answer (a black-holed network) until heal(); only their signal ends them. */
  hang(): void {
    this.hanging = true;
  }

  heal(): void {
    const wasPartitioned = this.partitioned;
    this.partitioned = false;
    this.hanging = false;
    if (wasPartitioned) this.server.resync(this);
  }

  /** The next `op` request fails with `error`. */
  failNext(op: Op, error: Error): void {
    this.injected.push({ op, error });
  }

  get(options?: StoreRequestOptions): Promise<LeaseSnapshot | null> {
    return this.request('get', options, () => this.server.read());
  }

  create(record: LeaderElectionRecord, options?: StoreRequestOptions): Promise<LeaseSnapshot> {
    return this.request('create', options, () => this.server.create(record, this.name));
  }

  update(record: LeaderElectionRecord, resourceVersion: string, options?: StoreRequestOptions): Promise<LeaseSnapshot> {
    return this.request('update', options, () => this.server.update(record, resourceVersion, this.name));
  }

  watch(onChange: (snapshot: LeaseSnapshot | null) => void, signal: AbortSignal): void {
    this.server.subscribe(this, onChange, signal);
  }

  private async request<T>(op: Op, options: StoreRequestOptions | undefined, perform: () => T): Promise<T> {
    this.calls[op] += 1;
    const signal = options?.signal;
    if (signal?.aborted) throw abortError(signal);
    if (this.hanging) {
      await new Promise<never>((_, reject) => signal?.addEventListener('abort', () => reject(abortError(signal)), { once: true }));
    }
    await Promise.resolve();
    if (this.partitioned) throw new UnreachableError();
    const index = this.injected.findIndex((i) => i.op === op);
    if (index >= 0) {
      const [injected] = this.injected.splice(index, 1);
      if (injected) throw injected.error;
    }
    return perform();
  }
}

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('request aborted');
}
