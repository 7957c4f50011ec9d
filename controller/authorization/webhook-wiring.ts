/**
 * Wires the authorization webhook of one replica: the informer caches it reads (ClusterConfigs,
 * DenyPolicies, escalations; sessions come from the shared session repository), the spoke
 * clients, grant cache, activity recorder, pipeline and router. Every replica serves decisions,
 * so the caches are replica components (/readyz waits for them) and the activity recorder runs
 * on every replica (its writes are coalesced across replicas, activity.ts).
 */
import { CustomObjectsApi, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import type Router from '@koa/router';
import type { Registry } from 'prom-client';
import { GROUP, VERSION, plurals, type BreakglassSession, type KindName } from '../../crds/index.ts';
import { pause, systemClock, type Clock } from '../clock/clock.ts';
import { KubernetesClusterConfigStore } from '../clusters/cluster-config-store.ts';
import { RestartingInformer, type CacheChange } from '../kube/restarting-informer.ts';
import type { Logger } from '../observability/logger.ts';
import type { ControllerMetrics } from '../observability/metrics.ts';
import type { ReplicaComponent } from '../runtime/controller-process.ts';
import type { SessionRepository } from '../sessions/session-repository.ts';
import { ActivityRecorder } from './activity.ts';
import { SessionActivityWriter } from './activity-writer.ts';
import { CallerAuthenticator } from './caller-auth.ts';
import { AuthorizationPipeline, type DecisionOptions } from './decision.ts';
import { CachingGrantChecker, type GrantCacheOptions } from './grant-cache.ts';
import { registerWebhookMetrics } from './metrics.ts';
import { SpokeClients, SpokeGrantChecker, SpokeObjectReader } from './spoke.ts';
import { DenyPolicyCache, EscalationCache, InformerClusterDirectory, SessionIndex, typedSource, type ChangeSource } from './webhook-caches.ts';
import { createWebhookRouter } from './webhook-router.ts';

export interface AuthorizationWebhookOptions {
  readonly kubeConfig: KubeConfig;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly metrics?: ControllerMetrics;
  /** The session cache (KubernetesSessionRepository.cacheView()) and repository for activity writes. */
  readonly sessionCache: ChangeSource<BreakglassSession>;
  readonly sessions: Pick<SessionRepository, 'getLive' | 'writeStatus'>;
  readonly maxCacheAgeMs?: number;
  readonly decision?: DecisionOptions;
  readonly grantCache?: Omit<GrantCacheOptions, 'clock'>;
  /** How often counted activity is written out. Default 15 s. */
  readonly activityFlushMs?: number;
  readonly activityIntervalMs?: number;
  readonly clock?: Clock;
}

export interface AuthorizationWebhook {
  readonly router: Router;
  readonly components: ReplicaComponent[];
  readonly activity: ActivityRecorder;
}

function customObjectInformer(kc: KubeConfig, kind: KindName, name: string, options: AuthorizationWebhookOptions): RestartingInformer<KubernetesObject> {
  const api = kc.makeApiClient(CustomObjectsApi);
  const plural = plurals[kind];
  return new RestartingInformer<KubernetesObject>({
    kubeConfig: kc,
    path: `/apis/${GROUP}/${VERSION}/${plural}`,
    // Works for namespaced and cluster-scoped kinds alike (/apis/<g>/<v>/<plural>).
    list: ({ limit, continue: token, config }) =>
      api.listCustomObjectForAllNamespaces({ group: GROUP, version: VERSION, plural, limit, _continue: token }, config) as Promise<
        KubernetesListObject<KubernetesObject>
      >,
    logger: options.logger.child({ component: name }),
    name,
    metrics: options.metrics,
    maxCacheAgeMs: options.maxCacheAgeMs,
  });
}

function component(name: string, informer: RestartingInformer<KubernetesObject>): ReplicaComponent {
  return {
    name,
    start: (signal) => informer.start(signal),
    hasSynced: () => informer.hasSynced(),
    notReadyReason: () => informer.notReadyReason(),
  };
}

function changeSource(informer: RestartingInformer<KubernetesObject>): ChangeSource<KubernetesObject> {
  return {
    hasSynced: () => informer.hasSynced(),
    list: () => informer.list(),
    subscribe: (listener: (change: CacheChange<KubernetesObject>) => void) => informer.subscribe(listener),
  };
}

export function createAuthorizationWebhook(options: AuthorizationWebhookOptions): AuthorizationWebhook {
  const kc = options.kubeConfig;
  const clock = options.clock ?? systemClock;
  const logger = options.logger.child({ component: 'authorization-webhook' });
  const clusterInformer = customObjectInformer(kc, 'ClusterConfig', 'webhook-cluster-configs', options);
  const denyInformer = customObjectInformer(kc, 'DenyPolicy', 'webhook-deny-policies', options);
  const escalationInformer = customObjectInformer(kc, 'BreakglassEscalation', 'webhook-escalations', options);

  const clusters = new InformerClusterDirectory(typedSource(changeSource(clusterInformer)));
  const denyPolicies = new DenyPolicyCache(typedSource(changeSource(denyInformer)));
  const escalations = new EscalationCache(typedSource(changeSource(escalationInformer)));
  const sessions = new SessionIndex(options.sessionCache);
  const secretStore = new KubernetesClusterConfigStore(kc, { requestTimeoutMs: 5000 });
  const secrets = { readSecret: (namespace: string, name: string) => secretStore.readSecret(namespace, name) };
  const spokes = new SpokeClients(clusters, secrets, { clock, requestTimeoutMs: options.grantCache?.timeoutMs });
  const grants = new CachingGrantChecker(new SpokeGrantChecker(spokes), { clock, ...options.grantCache });
  const metrics = registerWebhookMetrics(options.registry);
  const activity = new ActivityRecorder(new SessionActivityWriter(options.sessions), {
    clock,
    intervalMs: options.activityIntervalMs,
    onWriteError: (err, write) =>
      logger.warn({ session: `${write.namespace}/${write.name}`, err: err instanceof Error ? err.message : String(err) }, 'activity_write_failed'),
  });
  const pipeline = new AuthorizationPipeline(
    {
      clusters,
      sessions,
      escalations,
      requestable: escalations,
      denyPolicies: () => denyPolicies.current(),
      spoke: new SpokeObjectReader(spokes),
      grants,
      activity,
      clock,
      metrics,
    },
    options.decision,
  );
  const router = createWebhookRouter({
    pipeline,
    clusters,
    callers: new CallerAuthenticator(secrets, { clock }),
    logger,
    metrics,
  });

  const flushEvery = options.activityFlushMs ?? 15_000;
  const components: ReplicaComponent[] = [
    component('webhook-cluster-configs', clusterInformer),
    component('webhook-deny-policies', denyInformer),
    component('webhook-escalations', escalationInformer),
    {
      // Counted activity is written out periodically, and once more when the replica stops.
      name: 'webhook-activity',
      start: (signal) => {
        void (async () => {
          while (!signal.aborted) {
            await pause(flushEvery, signal);
            await activity.flush();
          }
        })().catch((err: unknown) => logger.error({ err: err instanceof Error ? err.message : String(err) }, 'activity_flush_failed'));
        signal.addEventListener('abort', () => void activity.flush(), { once: true });
      },
    },
  ];
  return { router, components, activity };
}
