/**
 * Wires the REST API of one replica: the caches it reads (escalations, ClusterConfigs,
 * IdentityProviders; sessions come from the shared session repository), the domain services
 * and the router. The caches are replica components: every replica serves the API. The
 * escalation and ClusterConfig caches are returned too, so that the authorization webhook of the
 * replica reads them instead of watching the same kinds a second time.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { BreakglassEscalation, ClusterConfig, IdentityProvider } from '../../crds/index.ts';
import type { IdentityProviderDirectory, TokenVerifier } from '../identity/index.ts';
import { CustomObjectCache, type CustomObjectCacheOptions, type ObjectSource } from '../kube/custom-object-cache.ts';
import type { Logger } from '../observability/logger.ts';
import type { ReplicaComponent } from '../runtime/controller-process.ts';
import { EventSessionAudit, KubernetesEventRecorder } from '../sessions/session-audit.ts';
import { SessionActions } from '../sessions/session-actions.ts';
import type { SessionDomainDeps } from '../sessions/session-context.ts';
import { SessionQueries } from '../sessions/session-queries.ts';
import { SessionRequests } from '../sessions/session-requests.ts';
import type { SessionStore } from '../sessions/session-store.ts';
import { createApiRouter, type ApiRateLimits } from './api-router.ts';
import type Router from '@koa/router';

export interface SessionApiOptions {
  kubeConfig: KubeConfig;
  sessions: SessionStore;
  verifier: TokenVerifier;
  logger: Logger;
  version: string;
  /** Reported as the source of audit Events. */
  identity: string;
  limits?: ApiRateLimits;
  /** The identity registry (enabled providers, for the config endpoints). */
  identityProviderDirectory: IdentityProviderDirectory;
  /** The IdentityProvider objects as stored (spec.sessionLimits), from the registry's cache. */
  identityProviderObjects: ObjectSource<IdentityProvider>;
  /** Bounds and metrics of the API's watch caches (as for every informer: --cache-max-age). */
  informer?: CustomObjectCacheOptions['informer'];
}

export interface SessionApi {
  router: Router;
  components: ReplicaComponent[];
  /** The replica's escalation and ClusterConfig caches; the authorization webhook reads the same ones. */
  escalations: CustomObjectCache<BreakglassEscalation>;
  clusterConfigs: CustomObjectCache<ClusterConfig>;
}

export function createSessionApi(options: SessionApiOptions): SessionApi {
  const { kubeConfig, logger } = options;
  const escalations = new CustomObjectCache<BreakglassEscalation>(kubeConfig, 'BreakglassEscalation', {
    logger: logger.child({ component: 'escalations' }),
    informer: options.informer,
  });
  const clusterConfigs = new CustomObjectCache<ClusterConfig>(kubeConfig, 'ClusterConfig', {
    logger: logger.child({ component: 'cluster-configs' }),
    informer: options.informer,
  });
  const components: ReplicaComponent[] = [escalations.component('escalations'), clusterConfigs.component('cluster-configs')];
  const identityProviders = options.identityProviderObjects;
  const apiLogger = logger.child({ component: 'api' });
  const deps: SessionDomainDeps = {
    sessions: options.sessions,
    escalations,
    clusterConfigs,
    identityProviders,
    audit: new EventSessionAudit(new KubernetesEventRecorder(kubeConfig), apiLogger, options.identity),
  };
  const router = createApiRouter({
    verifier: options.verifier,
    requests: new SessionRequests(deps, apiLogger),
    actions: new SessionActions(deps),
    queries: new SessionQueries(deps),
    escalations,
    identityProviders: options.identityProviderDirectory,
    logger: apiLogger,
    version: options.version,
    ...(options.limits ? { limits: options.limits } : {}),
  });
  return { router, components, escalations, clusterConfigs };
}
