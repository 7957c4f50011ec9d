/**
 * SessionRepository on the Kubernetes API: cached reads from a self-restarting informer over all
 * namespaces, live reads and writes through the custom objects API.
 *
 * Status writes replace the status subresource with the object's resourceVersion, so the API
 * server refuses (409) a write based on an outdated read; deletes carry uid + resourceVersion
 * preconditions for the same reason.
 *
 * Every live request is bounded by `requestTimeoutMs` and the caller's signal (kube/
 * request-options.ts): a hung connection to the API server must not stall a cleanup pass while
 * the replica keeps renewing its lease.
 */
import {
  ApiException,
  CustomObjectsApi,
  type ConfigurationOptions,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
} from '@kubernetes/client-node';
import {
  API_VERSION,
  GROUP,
  VERSION,
  plurals,
  type BreakglassSession,
  type BreakglassSessionStatus,
  type SessionState,
} from '../../crds/index.ts';
import type { Logger } from '../observability/logger.ts';
import { stateOf } from './predicates.ts';
import { boundedRequest } from '../kube/request-options.ts';
import { RestartingInformer, type CacheChange, type ListPage, type RestartingInformerOptions } from '../kube/restarting-informer.ts';
import { ConflictError } from '../kube/errors.ts';
import type { ControllerMetrics } from '../observability/metrics.ts';
import { SessionNotFoundError, type DeletePrecondition } from './session-repository.ts';
import { SessionCreateRefusedError, type ListSelector, type SessionStore } from './session-store.ts';

const PLURAL = plurals.BreakglassSession;
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
export const SESSIONS_WATCH_PATH = `/apis/${GROUP}/${VERSION}/${PLURAL}`;

export interface KubernetesSessionRepositoryOptions {
  logger: Logger;
  /** Cache only this namespace. @default all namespaces */
  namespace?: string;
  /** Informer tuning (freshness bound, timeouts, backoff, refresh interval, page size). */
  informer?: Omit<RestartingInformerOptions<KubernetesObject>, 'kubeConfig' | 'path' | 'list' | 'logger' | 'name' | 'metrics'>;
  /** Exports the cache age of the sessions informer. */
  metrics?: ControllerMetrics;
  /** Upper bound of every live read, status write and delete. @default 10000 */
  requestTimeoutMs?: number;
}

function statusCode(err: unknown): number | undefined {
  return err instanceof ApiException ? err.code : undefined;
}

/** The API server's Status message of a refused request (e.g. the admission webhook's words). */
function apiMessage(err: unknown): string {
  if (!(err instanceof ApiException)) return String(err);
  const body: unknown = err.body;
  try {
    const parsed = (typeof body === 'string' ? JSON.parse(body) : body) as { message?: unknown };
    if (typeof parsed?.message === 'string') return parsed.message;
  } catch {
    // not a Status object
  }
  return `the API server refused the session (HTTP ${err.code})`;
}

export class KubernetesSessionRepository implements SessionStore {
  private readonly api: CustomObjectsApi;
  // Typed as plain Kubernetes objects: client-node's ObjectMeta types timestamps as Date, ours
  // (correctly, for custom objects read as raw JSON) as strings.
  private readonly informer: RestartingInformer<KubernetesObject>;
  private readonly requestTimeoutMs: number;

  constructor(kubeConfig: KubeConfig, options: KubernetesSessionRepositoryOptions) {
    this.api = kubeConfig.makeApiClient(CustomObjectsApi);
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    const namespace = options.namespace;
    // The informer bounds each page with `config` (timeout and its own abort signal).
    const list = ({ limit, continue: token, config }: ListPage): Promise<KubernetesListObject<KubernetesObject>> =>
      (namespace === undefined
        ? this.api.listCustomObjectForAllNamespaces({ group: GROUP, version: VERSION, plural: PLURAL, limit, _continue: token }, config)
        : this.api.listNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace, limit, _continue: token }, config)
      ) as Promise<KubernetesListObject<KubernetesObject>>;
    this.informer = new RestartingInformer<KubernetesObject>({
      kubeConfig,
      path: namespace === undefined ? SESSIONS_WATCH_PATH : `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${PLURAL}`,
      list,
      logger: options.logger,
      name: 'sessions',
      metrics: options.metrics,
      ...options.informer,
    });
  }

  /** Starts the watch cache; it runs until `signal` aborts. */
  start(signal: AbortSignal): void {
    this.informer.start(signal);
  }

  /** True while the cache is complete and fresh (see RestartingInformer.hasSynced). */
  hasSynced(): boolean {
    return this.informer.hasSynced();
  }

  /** Why the cache cannot be trusted now (not synced, stale), or undefined. */
  notReadyReason(): string | undefined {
    return this.informer.notReadyReason();
  }

  /** Resolves once the cache holds a complete list. */
  whenSynced(): Promise<void> {
    return this.informer.whenSynced();
  }

  /**
   * Cached objects and the (frozen) array are shared with the cache: do not modify them. The
   * array is the informer's, kept until the cache changes, so it is not copied: a list over
   * 10,000 sessions per API request or cleanup step made copies a measurable part of the
   * garbage (npm run bench:api, bench:scale).
   */
  listCached(): readonly BreakglassSession[] {
    return this.informer.list() as readonly BreakglassSession[];
  }

  /** The cache as a change source (the webhook's index by cluster and user); objects are shared: do not modify. */
  cacheView(): { hasSynced(): boolean; list(): readonly BreakglassSession[]; subscribe(listener: (change: CacheChange<BreakglassSession>) => void): () => void } {
    const informer = this.informer;
    return {
      hasSynced: () => informer.hasSynced(),
      list: () => informer.list() as readonly BreakglassSession[],
      subscribe: (listener) => informer.subscribe(listener as (change: CacheChange<KubernetesObject>) => void),
    };
  }

  listCachedByState(...states: SessionState[]): readonly BreakglassSession[] {
    return this.listCached().filter((session) => {
      const state = stateOf(session);
      return state !== '' && states.includes(state);
    });
  }

  async getLive(namespace: string, name: string, signal?: AbortSignal): Promise<BreakglassSession | undefined> {
    try {
      return (await this.bounded(`GET session ${namespace}/${name}`, signal, (config) =>
        this.api.getNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace, name }, config),
      )) as BreakglassSession;
    } catch (err) {
      if (statusCode(err) === 404) return undefined;
      throw err;
    }
  }

  async writeStatus(
    session: BreakglassSession,
    status: BreakglassSessionStatus,
    resourceVersion: string,
    signal?: AbortSignal,
  ): Promise<BreakglassSession> {
    const namespace = session.metadata?.namespace ?? '';
    const name = session.metadata?.name ?? '';
    if (resourceVersion === '') throw new Error(`writeStatus of ${namespace}/${name} needs the resourceVersion that was read`);
    const body: BreakglassSession = {
      apiVersion: API_VERSION,
      kind: 'BreakglassSession',
      metadata: { ...session.metadata, namespace, name, resourceVersion },
      spec: session.spec,
      status,
    };
    try {
      return (await this.bounded(`PUT session ${namespace}/${name} status`, signal, (config) =>
        this.api.replaceNamespacedCustomObjectStatus(
          { group: GROUP, version: VERSION, plural: PLURAL, namespace, name, body },
          config,
        ),
      )) as BreakglassSession;
    } catch (err) {
      if (statusCode(err) === 409) throw new ConflictError(namespace, name);
      if (statusCode(err) === 404) throw new SessionNotFoundError(namespace, name);
      throw err;
    }
  }

  async create(session: BreakglassSession, signal?: AbortSignal): Promise<BreakglassSession> {
    const namespace = session.metadata?.namespace ?? '';
    try {
      return (await this.bounded(`POST session in ${namespace}`, signal, (config) =>
        this.api.createNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace, body: session }, config),
      )) as BreakglassSession;
    } catch (err) {
      const code = statusCode(err);
      if (code === 400 || code === 403 || code === 422) throw new SessionCreateRefusedError(code, apiMessage(err));
      throw err;
    }
  }

  async listLive(selector: ListSelector, signal?: AbortSignal): Promise<BreakglassSession[]> {
    const list = (await this.bounded('LIST sessions', signal, (config) =>
      this.api.listCustomObjectForAllNamespaces({ group: GROUP, version: VERSION, plural: PLURAL, ...selector }, config),
    )) as { items?: BreakglassSession[] };
    return list.items ?? [];
  }

  async delete(
    namespace: string,
    name: string,
    precondition: DeletePrecondition,
    signal?: AbortSignal,
  ): Promise<boolean> {
    try {
      await this.bounded(`DELETE session ${namespace}/${name}`, signal, (config) =>
        this.api.deleteNamespacedCustomObject(
          {
            group: GROUP,
            version: VERSION,
            plural: PLURAL,
            namespace,
            name,
            body: { preconditions: { uid: precondition.uid, resourceVersion: precondition.resourceVersion } },
          },
          config,
        ),
      );
      return true;
    } catch (err) {
      if (statusCode(err) === 404) return false;
      if (statusCode(err) === 409) throw new ConflictError(namespace, name);
      throw err;
    }
  }

  private bounded<T>(what: string, signal: AbortSignal | undefined, request: (config: ConfigurationOptions) => Promise<T>): Promise<T> {
    return boundedRequest({ what, timeoutMs: this.requestTimeoutMs, signal }, request);
  }
}
