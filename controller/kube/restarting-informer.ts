/**
 * A watch cache that keeps itself alive.
 *
 * @kubernetes/client-node 1.4 informers relist on 410 Gone, but stop silently on any other error
 * (anchors decision 17), and a watch can stall without an error. This wrapper runs one informer
 * at a time and replaces it with a fresh one (full list + watch): after an error, with
 * exponential backoff (1 s doubling to 30 s), and periodically, which bounds how long a stalled
 * watch can go unnoticed. Reads are served from the last informer that completed its list, so a
 * replacement never leaves readers with an empty cache.
 */
import {
  makeInformer,
  type Informer,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type ObjectCache,
} from '@kubernetes/client-node';
import type { Logger } from '../observability/logger.ts';
import { pause } from '../runtime/loop-runner.ts';

export interface RestartingInformerOptions<T extends KubernetesObject> {
  kubeConfig: KubeConfig;
  /** Watch path, e.g. /apis/<group>/<version>/<plural> for all namespaces. */
  path: string;
  /** The list call matching `path`. */
  list: () => Promise<KubernetesListObject<T>>;
  logger: Logger;
  /** @default 1000 */
  initialBackoffMs?: number;
  /** @default 30000 */
  maxBackoffMs?: number;
  /** A fresh list + watch replaces a healthy informer this often. @default 600000 (10 min) */
  refreshIntervalMs?: number;
}

type CachingInformer<T extends KubernetesObject> = Informer<T> & ObjectCache<T>;


export class RestartingInformer<T extends KubernetesObject> {
  private current: CachingInformer<T> | undefined;
  private synced = false;
  private running = false;
  private readonly syncWaiters: (() => void)[] = [];

  constructor(private readonly options: RestartingInformerOptions<T>) {}

  /** Starts list + watch in the background until `signal` aborts. Calling it twice is an error. */
  start(signal: AbortSignal): void {
    if (this.running) throw new Error(`informer for ${this.options.path} already started`);
    this.running = true;
    void this.run(signal).finally(() => {
      this.running = false;
    });
  }

  /** True once a complete list has been loaded (it stays true while a replacement syncs). */
  hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves once the cache has synced. */
  whenSynced(): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  list(namespace?: string): readonly T[] {
    return this.current?.list(namespace) ?? [];
  }

  get(name: string, namespace?: string): T | undefined {
    return this.current?.get(name, namespace);
  }

  private async run(signal: AbortSignal): Promise<void> {
    const { logger, path } = this.options;
    const initialBackoff = this.options.initialBackoffMs ?? 1000;
    const maxBackoff = this.options.maxBackoffMs ?? 30_000;
    const refreshInterval = this.options.refreshIntervalMs ?? 600_000;
    let backoff = initialBackoff;
    while (!signal.aborted) {
      const informer = makeInformer<T>(this.options.kubeConfig, path, this.options.list);
      let firstError: unknown;
      let onError: (err: unknown) => void = () => {};
      const failed = new Promise<unknown>((resolve) => (onError = resolve));
      informer.on('error', (err: unknown) => {
        firstError ??= err ?? new Error('watch ended with an error');
        onError(firstError);
      });
      await informer.start();
      if (firstError !== undefined || signal.aborted) {
        await informer.stop();
        if (signal.aborted) break;
        logger.warn({ path, err: describe(firstError), retryInMs: backoff }, 'informer list/watch failed; retrying');
        await pause(backoff, signal);
        backoff = Math.min(backoff * 2, maxBackoff);
        continue;
      }
      const previous = this.current;
      this.current = informer;
      this.markSynced();
      if (previous !== undefined) await previous.stop();
      backoff = initialBackoff;
      const outcome = await Promise.race([
        failed.then(() => 'failed' as const),
        pause(refreshInterval, signal).then(() => (signal.aborted ? ('stopped' as const) : ('refresh' as const))),
      ]);
      if (outcome === 'failed') {
        // The cache of the failed informer keeps serving (stale) reads until a new one synced.
        logger.warn({ path, err: describe(firstError), retryInMs: backoff }, 'informer watch failed; restarting');
        await pause(backoff, signal);
        backoff = Math.min(backoff * 2, maxBackoff);
      }
    }
    await this.current?.stop();
  }

  private markSynced(): void {
    if (this.synced) return;
    this.synced = true;
    for (const resolve of this.syncWaiters.splice(0)) resolve();
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
