/**
 * LeaseStore over a coordination.k8s.io/v1 Lease (client-go resourcelock/leaselock.go).
 *
 * Updates are PUTs of the object read at the caller's resourceVersion (re-read when it is not
 * the last one this store saw), with that resourceVersion as the precondition (409 ->
 * ConflictError). Every request is bounded by a timeout so an unreachable API server cannot
 * hold the elector past its renew deadline: client-node 1.4 has no timeout of its own, so
 * every call goes through kube/request-options.ts (a per-call middleware sets the fetch
 * AbortSignal, and the promise is raced against it in case something before the fetch hangs).
 * Times are written as V1MicroTime (a plain Date has millisecond precision, which
 * the API server rejects for MicroTime fields).
 */
import {
  ApiException,
  CoordinationV1Api,
  V1MicroTime,
  Watch,
  type ConfigurationOptions,
  type KubeConfig,
  type V1Lease,
  type V1LeaseSpec,
} from '@kubernetes/client-node';
import { ConflictError } from '../kube/errors.ts';
import { boundedRequest } from '../kube/request-options.ts';
import type { Logger } from '../observability/logger.ts';
import { systemClock } from '../clock/clock.ts';
import {
  NotFoundError,
  snapshotOf,
  type LeaderElectionRecord,
  type LeaseSnapshot,
  type LeaseStore,
  type StoreRequestOptions,
} from './lease-store.ts';

/** Consecutive failed (or instantly ended) lease watches after which they are logged at warn. */
export const WATCH_FAILURES_BEFORE_WARN = 3;

export interface KubernetesLeaseStoreOptions {
  namespace: string;
  name: string;
  /**
   * Upper bound of every request. controller-runtime uses renewDeadline / 2 for its leader
   * election client; pass that. @default 5000
   */
  requestTimeoutMs?: number;
  /** Labels set on a Lease this store creates. */
  labels?: Record<string, string>;
  /** Server-side lifetime of one watch request; the watch is then re-established. @default 300 */
  watchTimeoutSeconds?: number;
  logger?: Logger;
}

export class KubernetesLeaseStore implements LeaseStore {
  readonly description: string;
  private readonly api: CoordinationV1Api;
  private readonly watcher: Watch;
  private readonly namespace: string;
  private readonly name: string;
  private readonly requestTimeoutMs: number;
  private readonly labels: Record<string, string> | undefined;
  private readonly watchTimeoutSeconds: number;
  private readonly log: Logger | undefined;
  /** The last Lease read or written: updates replace it, so fields we do not manage survive. */
  private lastLease: V1Lease | undefined;

  constructor(kubeConfig: KubeConfig, options: KubernetesLeaseStoreOptions) {
    this.api = kubeConfig.makeApiClient(CoordinationV1Api);
    this.watcher = new Watch(kubeConfig);
    this.namespace = options.namespace;
    this.name = options.name;
    this.description = `${options.namespace}/${options.name}`;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 5000;
    this.labels = options.labels;
    this.watchTimeoutSeconds = options.watchTimeoutSeconds ?? 300;
    this.log = options.logger;
  }

  async get(options?: StoreRequestOptions): Promise<LeaseSnapshot | null> {
    try {
      const lease = await this.call(options, (config) => this.api.readNamespacedLease({ name: this.name, namespace: this.namespace }, config));
      return this.remember(lease);
    } catch (err) {
      if (err instanceof NotFoundError) return null;
      throw err;
    }
  }

  async create(record: LeaderElectionRecord, options?: StoreRequestOptions): Promise<LeaseSnapshot> {
    const body: V1Lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: this.name, namespace: this.namespace, ...(this.labels ? { labels: this.labels } : {}) },
      spec: specOf(record),
    };
    const lease = await this.call(options, (config) => this.api.createNamespacedLease({ namespace: this.namespace, body }, config));
    return this.remember(lease);
  }

  async update(record: LeaderElectionRecord, resourceVersion: string, options?: StoreRequestOptions): Promise<LeaseSnapshot> {
    const base = await this.leaseAt(resourceVersion, options);
    // A PUT replaces the whole object: the body is the object read at `resourceVersion`, so
    // labels, annotations and ownerReferences set by others survive.
    const body: V1Lease = {
      ...base,
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { ...base.metadata, name: this.name, namespace: this.namespace, resourceVersion },
      spec: { ...base.spec, ...specOf(record) },
    };
    const lease = await this.call(options, (config) =>
      this.api.replaceNamespacedLease({ name: this.name, namespace: this.namespace, body }, config),
    );
    return this.remember(lease);
  }

  /**
   * The Lease as stored at `resourceVersion`: the last one read or written, or else a fresh read.
   * The caller may know a version this store never read (the elector's fast path renews from a
   * snapshot its watch delivered). When the fresh read shows another version, the update would
   * be refused anyway: ConflictError, without a write.
   */
  private async leaseAt(resourceVersion: string, options?: StoreRequestOptions): Promise<V1Lease> {
    if (this.lastLease?.metadata?.resourceVersion === resourceVersion) return this.lastLease;
    const fresh = await this.call(options, (config) => this.api.readNamespacedLease({ name: this.name, namespace: this.namespace }, config));
    this.lastLease = fresh;
    if (fresh.metadata?.resourceVersion !== resourceVersion) {
      throw new ConflictError(this.namespace, this.name, {
        kind: 'Lease',
        detail: `is at resourceVersion ${fresh.metadata?.resourceVersion ?? '(none)'}, not ${resourceVersion}`,
      });
    }
    return fresh;
  }

  watch(onChange: (snapshot: LeaseSnapshot | null) => void, signal: AbortSignal): void {
    void this.watchForever(onChange, signal);
  }

  /** Re-establishes the watch whenever it ends, with backoff after failures, until `signal` aborts. */
  private async watchForever(onChange: (snapshot: LeaseSnapshot | null) => void, signal: AbortSignal): Promise<void> {
    let backoffMs = 0;
    let failuresInARow = 0;
    while (!signal.aborted) {
      const startedAt = Date.now();
      const error = await this.watchOnce(onChange, signal);
      if (signal.aborted) return;
      const shortLived = Date.now() - startedAt < 1000;
      if (error !== null || shortLived) {
        failuresInARow++;
        backoffMs = Math.min(Math.max(backoffMs * 2, 500), 30_000);
        // One failure is routine (API server restart); a run of them usually means a missing
        // `watch` permission on leases, which only costs reaction time and so is easy to miss.
        const level = failuresInARow >= WATCH_FAILURES_BEFORE_WARN ? 'warn' : 'debug';
        this.log?.[level]({ err: error, backoffMs, failuresInARow, lease: this.description }, 'lease watch ended; restarting');
      } else {
        failuresInARow = 0;
        backoffMs = 0;
      }
      await systemClock.sleep(backoffMs, signal);
    }
  }

  /** One watch request; resolves with its error (null: closed normally or stopped). */
  private watchOnce(onChange: (snapshot: LeaseSnapshot | null) => void, signal: AbortSignal): Promise<unknown> {
    return new Promise((resolve) => {
      let controller: AbortController | undefined;
      let finished = false;
      const finish = (err: unknown): void => {
        if (finished) return;
        finished = true;
        clearTimeout(stallTimer);
        signal.removeEventListener('abort', onAbort);
        controller?.abort();
        resolve(err);
      };
      const onAbort = (): void => finish(null);
      signal.addEventListener('abort', onAbort, { once: true });
      // The server ends the watch after timeoutSeconds; if nothing arrives long after, it is dead.
      const stallTimer = setTimeout(() => finish(new Error('lease watch stalled')), (this.watchTimeoutSeconds + 30) * 1000);
      stallTimer.unref();
      const path = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(this.namespace)}/leases`;
      const query = { fieldSelector: `metadata.name=${this.name}`, timeoutSeconds: this.watchTimeoutSeconds };
      const onEvent = (type: string, object: unknown): void => {
        if (finished) return;
        try {
          if (type === 'ADDED' || type === 'MODIFIED') onChange(snapshotOfLease(object as V1Lease));
          else if (type === 'DELETED') onChange(null);
        } catch (err) {
          this.log?.warn({ err }, 'lease watch handler failed');
        }
      };
      this.watcher
        .watch(path, query, onEvent, (err: unknown) => finish(err ?? null))
        .then((c) => {
          controller = c;
          if (finished) c.abort();
        })
        .catch((err: unknown) => finish(err));
    });
  }

  private remember(lease: V1Lease): LeaseSnapshot {
    this.lastLease = lease;
    return snapshotOfLease(lease);
  }

  /** Runs one API call bounded by the request timeout and the caller's signal; maps 404/409. */
  private async call<T>(options: StoreRequestOptions | undefined, request: (config: ConfigurationOptions) => Promise<T>): Promise<T> {
    try {
      return await boundedRequest({ what: 'lease request', timeoutMs: this.requestTimeoutMs, signal: options?.signal }, request);
    } catch (err) {
      throw translate(err, this.namespace, this.name);
    }
  }
}

function translate(err: unknown, namespace: string, name: string): unknown {
  if (err instanceof ApiException) {
    if (err.code === 409) {
      const detail = statusMessage(err);
      return new ConflictError(namespace, name, { kind: 'Lease', ...(detail === undefined ? {} : { detail }) });
    }
    if (err.code === 404) return new NotFoundError(statusMessage(err) ?? 'the lease does not exist');
  }
  return err;
}

function statusMessage(err: ApiException<unknown>): string | undefined {
  try {
    const body: unknown = typeof err.body === 'string' ? JSON.parse(err.body) : err.body;
    const message = (body as { message?: unknown } | null)?.message;
    return typeof message === 'string' ? message : undefined;
  } catch {
    return undefined;
  }
}

function specOf(record: LeaderElectionRecord): V1LeaseSpec {
  return {
    holderIdentity: record.holderIdentity,
    leaseDurationSeconds: record.leaseDurationSeconds,
    acquireTime: record.acquireTime ? new V1MicroTime(record.acquireTime.getTime()) : undefined,
    renewTime: record.renewTime ? new V1MicroTime(record.renewTime.getTime()) : undefined,
    leaseTransitions: record.leaseTransitions,
  };
}

/** Reads a Lease as returned by the API or a watch event (times arrive as strings or Dates). */
export function snapshotOfLease(lease: V1Lease): LeaseSnapshot {
  const spec = lease.spec ?? {};
  const record: LeaderElectionRecord = {
    holderIdentity: spec.holderIdentity ?? '',
    leaseDurationSeconds: spec.leaseDurationSeconds ?? 0,
    acquireTime: toDate(spec.acquireTime),
    renewTime: toDate(spec.renewTime),
    leaseTransitions: spec.leaseTransitions ?? 0,
  };
  return snapshotOf(record, lease.metadata?.resourceVersion ?? '');
}

function toDate(value: unknown): Date | null {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : new Date(value.getTime());
  if (typeof value === 'string' && value !== '') {
    const date = new Date(value);
    return Number.isNaN(date.getTime()) ? null : date;
  }
  return null;
}
