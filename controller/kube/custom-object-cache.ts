/**
 * A watch cache of one breakglass kind over all namespaces (or cluster-scoped), kept alive by a
 * RestartingInformer. The API reads escalations, ClusterConfigs and IdentityProviders from
 * these caches on every request instead of listing them from the API server; the authorization
 * webhook derives its indexes from the same caches through subscribe() (one cache per kind and
 * replica).
 */
import { CustomObjectsApi, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import { GROUP, VERSION, plurals, type KindName } from '../../crds/index.ts';
import type { Logger } from '../observability/logger.ts';
import { RestartingInformer, type CacheChange, type ListPage, type RestartingInformerOptions } from './restarting-informer.ts';

export interface CustomObjectCacheOptions {
  logger: Logger;
  informer?: Pick<
    RestartingInformerOptions<KubernetesObject>,
    'name' | 'metrics' | 'maxCacheAgeMs' | 'initialBackoffMs' | 'maxBackoffMs' | 'refreshIntervalMs' | 'pageSize'
  >;
}

/** The shape of runtime's ReplicaComponent, declared here so that kube/ never imports runtime/. */
export interface CacheComponent {
  name: string;
  start(signal: AbortSignal): void;
  hasSynced(): boolean;
  notReadyReason(): string | undefined;
}

/** Read access to a cached kind; objects are shared with the cache and must not be modified. */
export interface ObjectSource<T> {
  hasSynced(): boolean;
  list(): readonly T[];
}

export class CustomObjectCache<T> implements ObjectSource<T> {
  private readonly informer: RestartingInformer<KubernetesObject>;

  constructor(kubeConfig: KubeConfig, kind: KindName, options: CustomObjectCacheOptions) {
    const api = kubeConfig.makeApiClient(CustomObjectsApi);
    const plural = plurals[kind];
    this.informer = new RestartingInformer<KubernetesObject>({
      kubeConfig,
      path: `/apis/${GROUP}/${VERSION}/${plural}`,
      name: plural,
      list: ({ limit, continue: token, config }: ListPage) =>
        api.listCustomObjectForAllNamespaces({ group: GROUP, version: VERSION, plural, limit, _continue: token }, config) as Promise<
          KubernetesListObject<KubernetesObject>
        >,
      logger: options.logger,
      ...options.informer,
    });
  }

  start(signal: AbortSignal): void {
    this.informer.start(signal);
  }

  hasSynced(): boolean {
    return this.informer.hasSynced();
  }

  /** Why /readyz should fail for this cache, if it should (not synced, or older than its bound). */
  notReadyReason(): string | undefined {
    return this.informer.notReadyReason();
  }

  /** A replica component (runtime's ReplicaComponent): started with the process, /readyz waits for it. */
  component(name: string): CacheComponent {
    return {
      name,
      start: (signal) => this.start(signal),
      hasSynced: () => this.hasSynced(),
      notReadyReason: () => this.notReadyReason(),
    };
  }

  whenSynced(): Promise<void> {
    return this.informer.whenSynced();
  }

  list(): readonly T[] {
    return this.informer.list() as unknown as readonly T[];
  }

  /** Calls `listener` after every change of the cache (for derived indexes); returns the unsubscribe function. */
  subscribe(listener: (change: CacheChange<T>) => void): () => void {
    return this.informer.subscribe(listener as unknown as (change: CacheChange<KubernetesObject>) => void);
  }
}
