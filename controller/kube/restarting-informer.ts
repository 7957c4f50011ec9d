/**
 * A watch cache that keeps itself alive and knows how old it is.
 *
 * @kubernetes/client-node 1.4 informers relist on 410 Gone, but stop silently on any other error
 * (anchors decision 17), wait without limit for a list or a watch that is never answered, and a
 * watch can stall without an error. This wrapper runs one informer at a time and replaces it
 * with a fresh one (full list + watch): after an error, with exponential backoff (1 s doubling
 * to 30 s); when the cache has shown no sign of life for `silenceLimitMs` (a stuck informer);
 * and periodically. Every list page is bounded by `listTimeoutMs`, every watch start by
 * `watchStartTimeoutMs` (kube/bounded-watch.ts).
 *
 * Freshness: the cache's age is the time since its last sign of life: a successful list, an
 * established watch or a watch event (bookmarks included; the server is asked for them and to
 * end each watch after `watchWindowSeconds`, so a healthy but quiet cache still renews its age).
 * `hasSynced()` is true only while the age is within `maxCacheAgeMs`: a frozen cache stops
 * being "synced", which fails /readyz and makes the cleanup loop wait. The age is exported as
 * `breakglass_informer_cache_age_seconds{informer}` when `metrics` is given.
 *
 * Memory: objects go through `transform` (default: drop managedFields and the last-applied
 * annotation) before the cache keeps them; lists are read in pages, so a relist holds one
 * page of raw objects at a time besides the cache being replaced. Reads are served from the
 * last informer that completed its list, so a replacement never leaves readers with an empty
 * cache; the replaced one is released as soon as its successor has synced.
 */
import {
  ListWatch,
  type ConfigurationOptions,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
} from '@kubernetes/client-node';
import type { Logger } from '../observability/logger.ts';
import type { ControllerMetrics } from '../observability/metrics.ts';
import { pause } from '../clock/clock.ts';
import { BoundedWatch } from './bounded-watch.ts';
import { stripForCache } from './cache-transform.ts';
import { boundedRequest } from './request-options.ts';

/** One page of a list call; pass `config` on to the client-node call so the timeout aborts it. */
export interface ListPage {
  limit: number;
  /** The continue token of the previous page; undefined for the first page. */
  continue: string | undefined;
  config: ConfigurationOptions;
}

export const DEFAULT_MAX_CACHE_AGE_MS = 180_000;

/**
 * A change of what `list()` returns: one object added, updated or deleted, or `reset` when a
 * fresh informer replaced the cache (derived indexes then rebuild from `list()`).
 */
export type CacheChange<T> = { readonly type: 'add' | 'update' | 'delete'; readonly object: T } | { readonly type: 'reset' };
const DEFAULT_PAGE_SIZE = 500;

export interface RestartingInformerOptions<T extends KubernetesObject> {
  kubeConfig: KubeConfig;
  /** Watch path, e.g. /apis/<group>/<version>/<plural> for all namespaces. */
  path: string;
  /**
   * The list call matching `path`, one page at a time (pass limit, continue and config to
   * client-node). A list function that ignores the page returns everything at once, which
   * works but holds the whole raw list in memory.
   */
  list: (page: ListPage) => Promise<KubernetesListObject<T>>;
  logger: Logger;
  /** The `informer` label of the cache-age metric and of log lines. @default path */
  name?: string;
  /** Registers the cache-age gauge for this informer. */
  metrics?: ControllerMetrics;
  /** hasSynced() turns false when the cache is older than this. @default 180000 (3 min) */
  maxCacheAgeMs?: number;
  /** A cache silent this long is replaced by a fresh list + watch. @default maxCacheAgeMs / 2 */
  silenceLimitMs?: number;
  /** The server ends each watch after this long (bookmarks come too). @default maxCacheAgeMs / 3 */
  watchWindowSeconds?: number;
  /** Upper bound of one list page. @default silenceLimitMs */
  listTimeoutMs?: number;
  /** Upper bound until a watch's response headers arrive. @default min(10 s, silenceLimitMs / 2) */
  watchStartTimeoutMs?: number;
  /** Objects per list page. @default 500 */
  pageSize?: number;
  /** Applied to every object before the cache keeps it. @default stripForCache */
  transform?: (object: T) => T;
  /** @default 1000 */
  initialBackoffMs?: number;
  /** @default 30000 */
  maxBackoffMs?: number;
  /** A fresh list + watch replaces a healthy informer this often. @default 600000 (10 min) */
  refreshIntervalMs?: number;
}

type Outcome = { kind: 'failed'; err: unknown; synced: boolean } | { kind: 'refresh' } | { kind: 'stopped' };

/** A ListWatch and the signal that ends all its requests. */
interface Running<T extends KubernetesObject> {
  informer: ListWatch<T>;
  abort: AbortController;
}

export class RestartingInformer<T extends KubernetesObject> {
  private current: Running<T> | undefined;
  /** list() of `current`, until its next change (undefined: build it on the next call). */
  private listed: readonly T[] | undefined;
  private synced = false;
  private running = false;
  /** performance.now() of the last sign of life (list, watch start, event); set by start(). */
  private lastAliveAt = performance.now();
  private readonly syncWaiters: (() => void)[] = [];
  private readonly listeners = new Set<(change: CacheChange<T>) => void>();
  readonly name: string;
  readonly maxCacheAgeMs: number;
  private readonly silenceLimitMs: number;
  private readonly listTimeoutMs: number;
  private readonly watchStartTimeoutMs: number;
  private readonly watchWindowSeconds: number;

  constructor(private readonly options: RestartingInformerOptions<T>) {
    this.name = options.name ?? options.path;
    this.maxCacheAgeMs = options.maxCacheAgeMs ?? DEFAULT_MAX_CACHE_AGE_MS;
    this.silenceLimitMs = options.silenceLimitMs ?? this.maxCacheAgeMs / 2;
    this.listTimeoutMs = options.listTimeoutMs ?? this.silenceLimitMs;
    this.watchStartTimeoutMs = options.watchStartTimeoutMs ?? Math.min(10_000, this.silenceLimitMs / 2);
    this.watchWindowSeconds = options.watchWindowSeconds ?? Math.max(1, Math.round(this.maxCacheAgeMs / 3000));
    options.metrics?.trackCacheAge(this.name, () => this.cacheAgeMs() / 1000);
  }

  /** Starts list + watch in the background until `signal` aborts. Calling it twice is an error. */
  start(signal: AbortSignal): void {
    if (this.running) throw new Error(`informer for ${this.options.path} already started`);
    this.running = true;
    this.lastAliveAt = performance.now();
    // run() handles its own errors; this catch only makes sure nothing can become an unhandled
    // rejection (which would crash the process) if that ever fails.
    void this.run(signal)
      .catch((err: unknown) => this.options.logger.error({ informer: this.name, err: describe(err) }, 'informer stopped unexpectedly'))
      .finally(() => {
        this.running = false;
      });
  }

  /** Milliseconds since the last sign of life; before the first sync, since start(). */
  cacheAgeMs(): number {
    return performance.now() - this.lastAliveAt;
  }

  /** True while a complete list is loaded and the cache is not older than maxCacheAgeMs. */
  hasSynced(): boolean {
    return this.synced && this.cacheAgeMs() <= this.maxCacheAgeMs;
  }

  /** Why the cache cannot be trusted now, or undefined when it can (for /readyz). */
  notReadyReason(): string | undefined {
    if (!this.synced) return 'cache not synced';
    const age = this.cacheAgeMs();
    if (age <= this.maxCacheAgeMs) return undefined;
    return `cache is stale: no event, watch or list for ${Math.round(age / 1000)}s (limit ${Math.round(this.maxCacheAgeMs / 1000)}s)`;
  }

  /** Resolves once hasSynced() is true. */
  whenSynced(): Promise<void> {
    if (this.hasSynced()) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  /**
   * The served cache's objects. Without a namespace the array is built once and then shared, frozen,
   * until the cache changes: the cleanup loop lists all sessions several times per pass, and a
   * fresh 10,000-element array each time (client-node builds one per call) was most of a pass's
   * garbage, promoted to the old generation by the scavenges the pass itself caused.
   */
  list(namespace?: string): readonly T[] {
    if (namespace) return this.current?.informer.list(namespace) ?? [];
    if (this.current === undefined) return [];
    this.listed ??= Object.freeze(this.current.informer.list());
    return this.listed;
  }

  get(name: string, namespace?: string): T | undefined {
    return this.current?.informer.get(name, namespace);
  }

  /**
   * Calls `listener` after every change of the served cache (derived indexes, e.g. sessions by
   * cluster and user). Returns the unsubscribe function. Listeners must not throw.
   */
  subscribe(listener: (change: CacheChange<T>) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(change: CacheChange<T>): void {
    for (const listener of this.listeners) listener(change);
  }

  private alive(): void {
    this.lastAliveAt = performance.now();
    if (this.synced) this.releaseWaiters();
  }

  private releaseWaiters(): void {
    for (const resolve of this.syncWaiters.splice(0)) resolve();
  }

  private async run(signal: AbortSignal): Promise<void> {
    const { logger } = this.options;
    const initialBackoff = this.options.initialBackoffMs ?? 1000;
    const maxBackoff = this.options.maxBackoffMs ?? 30_000;
    let backoff = initialBackoff;
    while (!signal.aborted) {
      let outcome: Outcome;
      try {
        outcome = await this.runOnce(signal);
      } catch (err) {
        // Anything client-node throws instead of reporting is treated like a failed list/watch.
        outcome = { kind: 'failed', err, synced: false };
      }
      if (outcome.kind === 'stopped' || signal.aborted) break;
      if (outcome.kind === 'refresh') {
        backoff = initialBackoff;
        continue;
      }
      if (outcome.synced) backoff = initialBackoff;
      // The cache of a failed informer keeps serving (stale) reads until a new one synced.
      logger.warn(
        { informer: this.name, path: this.options.path, err: describe(outcome.err), retryInMs: backoff },
        outcome.synced ? 'informer watch failed; restarting' : 'informer list/watch failed; retrying',
      );
      await pause(backoff, signal);
      backoff = Math.min(backoff * 2, maxBackoff);
    }
    stop(this.current);
    this.current = undefined;
    this.listed = undefined;
  }

  /**
   * One informer: list + watch until it fails, falls silent, the refresh interval passes or
   * `signal` aborts. `synced` tells whether it got as far as serving reads (then the backoff
   * starts over).
   */
  private async runOnce(signal: AbortSignal): Promise<Outcome> {
    const abort = new AbortController();
    const requests = AbortSignal.any([signal, abort.signal]);
    const transform = this.options.transform ?? stripForCache;
    const watch = new BoundedWatch<T>({
      kubeConfig: this.options.kubeConfig,
      signal: requests,
      startTimeoutMs: this.watchStartTimeoutMs,
      windowSeconds: this.watchWindowSeconds,
      onAlive: () => {
        if (this.current?.informer === informer) this.alive();
      },
      transform,
    });
    const informer: ListWatch<T> = new ListWatch<T>(this.options.path, watch, () => this.listAll(requests, transform), false);
    const running: Running<T> = { informer, abort };
    // Only the informer whose cache is served reports changes; a successor's initial list is one reset.
    for (const type of ['add', 'update', 'delete'] as const) {
      informer.on(type, (object: T) => {
        if (this.current !== running) return;
        this.listed = undefined;
        this.emit({ type, object });
      });
    }
    let firstError: unknown;
    let onError: (err: unknown) => void = () => {};
    const failed = new Promise<unknown>((resolve) => (onError = resolve));
    informer.on('error', (err: unknown) => {
      firstError ??= err ?? new Error('watch ended with an error');
      onError(firstError);
    });
    // start() returns once the list is in and the watch established, or failed; both are
    // bounded (list pages and watch start), and an abort of `signal` ends either at once.
    try {
      await Promise.race([informer.start(), failed]);
    } catch (err) {
      stop(running);
      throw err;
    }
    if (firstError !== undefined || signal.aborted) {
      stop(running);
      return signal.aborted ? { kind: 'stopped' } : { kind: 'failed', err: firstError, synced: false };
    }
    const previous = this.current;
    this.current = running;
    this.listed = undefined;
    // The replaced cache goes now, not at the end of this run: two full copies only while
    // the new list was read.
    stop(previous);
    this.synced = true;
    this.emit({ type: 'reset' });
    this.alive();
    const watching = new AbortController();
    const until = AbortSignal.any([requests, watching.signal]);
    const outcome = await Promise.race([
      failed.then((err): Outcome => ({ kind: 'failed', err, synced: true })),
      this.silence(until),
      pause(this.options.refreshIntervalMs ?? 600_000, until).then((): Outcome => (signal.aborted ? { kind: 'stopped' } : { kind: 'refresh' })),
    ]);
    watching.abort();
    // A refreshed informer keeps watching (and serving fresh reads) until its successor has
    // synced; a failed or silent one stops now and serves its last state until then.
    if (outcome.kind !== 'refresh') stop(running);
    return outcome;
  }

  /** Resolves as a failure when the cache shows no sign of life for silenceLimitMs. */
  private async silence(signal: AbortSignal): Promise<Outcome> {
    const checkEvery = Math.max(50, Math.min(1000, this.silenceLimitMs / 4));
    while (!signal.aborted) {
      await pause(checkEvery, signal);
      const age = this.cacheAgeMs();
      if (age > this.silenceLimitMs) {
        return { kind: 'failed', err: new Error(`no event, watch or list for ${Math.round(age)} ms`), synced: true };
      }
    }
    return { kind: 'stopped' };
  }

  /** The whole list, page by page, each page bounded; objects transformed as they arrive. */
  private async listAll(signal: AbortSignal, transform: (object: T) => T): Promise<KubernetesListObject<T>> {
    const limit = this.options.pageSize ?? DEFAULT_PAGE_SIZE;
    const items: T[] = [];
    let resourceVersion: string | undefined;
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await boundedRequest(
        { what: `LIST ${this.options.path} page ${++pages}`, timeoutMs: this.listTimeoutMs, signal },
        (config) => this.options.list({ limit, continue: token, config }),
      );
      for (const item of page.items) items.push(transform(item));
      // All pages are one snapshot; the first page's resourceVersion is the one to watch from.
      resourceVersion ??= page.metadata?.resourceVersion;
      // Typed lists (core kinds, deserialized by client-node) carry `_continue`; custom object
      // lists are raw JSON with the wire name `continue`. Reading only one of them silently
      // cached the first page alone (500 of 10,000 sessions in npm run bench:api).
      const meta = page.metadata as (KubernetesListObject<T>['metadata'] & { continue?: string }) | undefined;
      token = meta?._continue || meta?.continue || undefined;
    } while (token !== undefined);
    return { apiVersion: 'v1', kind: 'List', metadata: { resourceVersion }, items };
  }
}

function stop<T extends KubernetesObject>(running: Running<T> | undefined): void {
  if (running === undefined) return;
  // ListWatch.stop() only aborts a watch it already holds; the abort ends the rest.
  running.informer.stop().catch(() => {});
  running.abort.abort();
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
