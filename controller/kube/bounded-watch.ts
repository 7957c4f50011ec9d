/**
 * The watch half of an informer, bounded.
 *
 * client-node 1.4's Watch awaits the response headers with no time limit and only hands out its
 * AbortController once they arrived, so neither ListWatch.stop() nor anything else can end a
 * watch request that is stuck before the headers (an API server or proxy that accepts the
 * connection and never answers): the informer then waits forever. This Watch
 * - fails a watch whose headers do not arrive within `startTimeoutMs` (RequestTimeoutError),
 * - ends every request of the informer when `signal` aborts, headers or not: the request's
 *   agent (client-node creates one per request) is destroyed, which closes its socket,
 * - asks the server for bookmarks and to end each watch after `windowSeconds` (a normal end,
 *   after which ListWatch re-watches from the last resourceVersion), so a healthy watch shows
 *   signs of life regularly even when nothing changes,
 * - reports every sign of life (watch established, any event) through `onAlive`, and
 * - passes every object through `transform` before the cache stores it.
 */
import { Watch, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { RequestTimeoutError } from './request-options.ts';

export interface BoundedWatchOptions<T extends KubernetesObject> {
  kubeConfig: KubeConfig;
  signal: AbortSignal;
  startTimeoutMs: number;
  windowSeconds: number;
  onAlive: () => void;
  transform: (object: T) => T;
}

type WatchArgs = Parameters<Watch['watch']>;
type FetchInit = Awaited<ReturnType<KubeConfig['applyToFetchOptions']>>;

interface Destroyable {
  destroy(): void;
}

function destroyable(agent: FetchInit['agent']): Destroyable | undefined {
  return typeof agent === 'object' && agent !== null && typeof (agent as Partial<Destroyable>).destroy === 'function'
    ? (agent as Destroyable)
    : undefined;
}

export class BoundedWatch<T extends KubernetesObject> extends Watch {
  constructor(private readonly bounds: BoundedWatchOptions<T>) {
    super(bounds.kubeConfig);
  }

  override async watch(path: WatchArgs[0], queryParams: WatchArgs[1], callback: WatchArgs[2], done: WatchArgs[3]): Promise<AbortController> {
    const { kubeConfig, signal, startTimeoutMs, windowSeconds, onAlive, transform } = this.bounds;
    let agent: Destroyable | undefined;
    let finished = false;
    let timer: NodeJS.Timeout | undefined;
    const onAbort = (): void => kill(signal.reason ?? new Error(`watch of ${path} aborted`));
    const doneOnce = (err: unknown): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      done(err);
    };
    // Reports first, then closes the socket: the request's own error that follows is ignored.
    const kill = (reason: unknown): void => {
      doneOnce(reason);
      agent?.destroy();
    };
    if (signal.aborted) {
      doneOnce(signal.reason ?? new Error(`watch of ${path} aborted`));
      return new AbortController();
    }
    signal.addEventListener('abort', onAbort, { once: true });
    timer = setTimeout(() => kill(new RequestTimeoutError(`WATCH ${path}`, startTimeoutMs)), startTimeoutMs);
    // A fresh inner Watch per request, reading the config through a view that keeps the agent
    // of this one request (Watch uses exactly these two methods of its config).
    const view = {
      getCurrentCluster: () => kubeConfig.getCurrentCluster(),
      applyToFetchOptions: async (opts: Parameters<KubeConfig['applyToFetchOptions']>[0]): Promise<FetchInit> => {
        const init = await kubeConfig.applyToFetchOptions(opts);
        agent = destroyable(init.agent);
        if (finished) agent?.destroy();
        return init;
      },
    };
    const inner = new Watch(view as unknown as KubeConfig);
    const query = { ...queryParams, allowWatchBookmarks: true, timeoutSeconds: windowSeconds };
    const onEvent: WatchArgs[2] = (phase, object: T, raw) => {
      if (finished) return;
      onAlive();
      callback(phase, phase === 'ADDED' || phase === 'MODIFIED' || phase === 'DELETED' ? transform(object) : object, raw);
    };
    try {
      const controller = await inner.watch(path, query, onEvent, doneOnce);
      if (!finished) {
        clearTimeout(timer);
        onAlive();
      }
      return controller;
    } catch (err) {
      // The request could not even be made (e.g. credentials that cannot be applied); the
      // informer re-watches on its own without awaiting, so this must be reported, not thrown.
      doneOnce(err);
      return new AbortController();
    }
  }
}
