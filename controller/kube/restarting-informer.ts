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
  ListWatch,
  Watch,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
} from '@kubernetes/client-node';
import type { Logger } from '../observability/logger.ts';
import { pause } from '../clock/clock.ts';

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

/**
 * client-node's Watch rejects, instead of reporting through `done`, when the request cannot even
 * be made (e.g. credentials that cannot be applied). The informer calls it again on its own after
 * every normal end of a watch, without awaiting it, so such a rejection would be unhandled and
 * crash the process; here it becomes an ordinary watch error, which the informer reports.
 */
class GuardedWatch extends Watch {
  override async watch(...args: Parameters<Watch['watch']>): Promise<AbortController> {
    try {
      return await super.watch(...args);
    } catch (err) {
      args[3](err);
      return new AbortController();
    }
  }
}


export class RestartingInformer<T extends KubernetesObject> {
  private current: ListWatch<T> | undefined;
  private synced = false;
  private running = false;
  private readonly syncWaiters: (() => void)[] = [];

  constructor(private readonly options: RestartingInformerOptions<T>) {}

  /** Starts list + watch in the background until `signal` aborts. Calling it twice is an error. */
  start(signal: AbortSignal): void {
    if (this.running) throw new Error(`informer for ${this.options.path} already started`);
    this.running = true;
    // run() handles its own errors; this catch only makes sure nothing can become an unhandled
    // rejection (which would crash the process) if that ever fails.
    void this.run(signal)
      .catch((err: unknown) => this.options.logger.error({ path: this.options.path, err: describe(err) }, 'informer stopped unexpectedly'))
      .finally(() => {
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
    let backoff = initialBackoff;
    while (!signal.aborted) {
      let outcome: Awaited<ReturnType<RestartingInformer<T>['runOnce']>>;
      try {
        outcome = await this.runOnce(signal);
      } catch (err) {
        // Anything client-node throws instead of reporting (see GuardedWatch) is treated like a
        // failed list/watch.
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
        { path, err: describe(outcome.err), retryInMs: backoff },
        outcome.synced ? 'informer watch failed; restarting' : 'informer list/watch failed; retrying',
      );
      await pause(backoff, signal);
      backoff = Math.min(backoff * 2, maxBackoff);
    }
    await stopQuietly(this.current);
  }

  /**
   * One informer: list + watch until it fails, the refresh interval passes or `signal` aborts.
   * `synced` tells whether it got as far as serving reads (then the backoff starts over).
   */
  private async runOnce(
    signal: AbortSignal,
  ): Promise<{ kind: 'failed'; err: unknown; synced: boolean } | { kind: 'refresh' } | { kind: 'stopped' }> {
    const informer = new ListWatch<T>(this.options.path, new GuardedWatch(this.options.kubeConfig), this.options.list, false);
    let firstError: unknown;
    let onError: (err: unknown) => void = () => {};
    const failed = new Promise<unknown>((resolve) => (onError = resolve));
    informer.on('error', (err: unknown) => {
      firstError ??= err ?? new Error('watch ended with an error');
      onError(firstError);
    });
    try {
      await informer.start();
    } catch (err) {
      await stopQuietly(informer);
      throw err;
    }
    if (firstError !== undefined || signal.aborted) {
      await stopQuietly(informer);
      return signal.aborted ? { kind: 'stopped' } : { kind: 'failed', err: firstError, synced: false };
    }
    const previous = this.current;
    this.current = informer;
    this.markSynced();
    if (previous !== undefined) await stopQuietly(previous);
    const refreshInterval = this.options.refreshIntervalMs ?? 600_000;
    return Promise.race([
      failed.then((err) => ({ kind: 'failed' as const, err, synced: true })),
      pause(refreshInterval, signal).then(() => (signal.aborted ? { kind: 'stopped' as const } : { kind: 'refresh' as const })),
    ]);
  }

  private markSynced(): void {
    if (this.synced) return;
    this.synced = true;
    for (const resolve of this.syncWaiters.splice(0)) resolve();
  }
}

async function stopQuietly(informer: { stop(): Promise<void> } | undefined): Promise<void> {
  try {
    await informer?.stop();
  } catch {
    // Stopping only aborts the request; there is nothing left to clean up if that fails.
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
