/**
 * Bounding and aborting single @kubernetes/client-node 1.4 requests.
 *
 * client-node has no request timeout of its own and its generated APIs take no AbortSignal, but
 * every call accepts per-call configuration options, and a middleware can hand the fetch an
 * AbortSignal (RequestContext.setSignal): aborting it ends the request and closes its socket.
 * Work that happens before the fetch (credential plugins, reading files) cannot be aborted that
 * way, so `boundedRequest` also races the call against the signal.
 */
import {
  Observable,
  type ConfigurationOptions,
  type ObservableMiddleware,
  type RequestContext,
  type ResponseContext,
} from '@kubernetes/client-node';

/** A request ran longer than its time limit and was aborted. */
export class RequestTimeoutError extends Error {
  constructor(
    readonly what: string,
    readonly timeoutMs: number,
  ) {
    super(`${what} timed out after ${timeoutMs} ms`);
    this.name = 'RequestTimeoutError';
  }
}

/** Per-call options that make the request's fetch use `signal` (added to the API's middleware). */
export function withSignal(signal: AbortSignal): ConfigurationOptions {
  return { middleware: [signalMiddleware(signal)], middlewareMergeStrategy: 'append' };
}

function signalMiddleware(signal: AbortSignal): ObservableMiddleware {
  return {
    pre(context: RequestContext) {
      context.setSignal(signal);
      return new Observable(Promise.resolve(context));
    },
    post(context: ResponseContext) {
      return new Observable(Promise.resolve(context));
    },
  };
}

export interface BoundedRequestOptions {
  /** Names the request in the timeout error ("GET https://spoke/version"). */
  what: string;
  /** The request is aborted after this long with a RequestTimeoutError. */
  timeoutMs: number;
  /** The caller's signal (a loop's term, shutdown); its abort reason becomes the error. */
  signal?: AbortSignal;
}

/**
 * Runs one client-node call with an abort signal that fires after `timeoutMs` or when the
 * caller's signal aborts, whichever comes first (also handed to `request` itself, for calls
 * made without client-node). Rejects with the abort reason at that moment,
 * even if the call itself has not noticed yet.
 */
export async function boundedRequest<T>(
  options: BoundedRequestOptions,
  request: (config: ConfigurationOptions, signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new RequestTimeoutError(options.what, options.timeoutMs)),
    options.timeoutMs,
  );
  const parent = options.signal;
  const onParentAbort = (): void => controller.abort(parent?.reason ?? new Error(`${options.what} aborted`));
  if (parent?.aborted) onParentAbort();
  else parent?.addEventListener('abort', onParentAbort, { once: true });
  const signal = controller.signal;
  let onAbort: (() => void) | undefined;
  try {
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(signal.reason);
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
    return await Promise.race([request(withSignal(signal), signal), aborted]);
  } finally {
    clearTimeout(timer);
    parent?.removeEventListener('abort', onParentAbort);
    if (onAbort !== undefined) signal.removeEventListener('abort', onAbort);
  }
}
