/**
 * Wires the authorization webhook of one replica: the read models it derives from the replica's
 * caches (ClusterConfigs and escalations are the REST API's caches, sessions the shared session
 * repository's; only the DenyPolicy cache is the webhook's own, as nothing else reads that kind),
 * the spoke clients, grant cache, activity recorder, pipeline and request handler. Every replica serves
 * decisions, so the DenyPolicy cache is a replica component (/readyz waits for it; the shared
 * caches are the API's components) and the activity recorder runs on every replica (its writes
 * are coalesced across replicas, activity.ts).
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { Registry } from 'prom-client';
import type { BreakglassEscalation, BreakglassSession, ClusterConfig, DenyPolicy } from '../../crds/index.ts';
import { pause, systemClock, type Clock } from '../clock/clock.ts';
import { KubernetesClusterConfigStore } from '../clusters/cluster-config-store.ts';
import { CustomObjectCache } from '../kube/custom-object-cache.ts';
import type { Logger } from '../observability/logger.ts';
import type { ControllerMetrics } from '../observability/metrics.ts';
import type { ReplicaComponent } from '../runtime/controller-process.ts';
import type { SessionRepository } from '../sessions/session-repository.ts';
import { ActivityRecorder } from '../authorization/activity.ts';
import { SessionActivityWriter } from '../authorization/activity-writer.ts';
import { CallerAuthenticator } from '../authorization/caller-auth.ts';
import { AuthorizationPipeline, type DecisionOptions } from '../authorization/decision.ts';
import { CachingGrantChecker, type GrantCacheOptions } from '../authorization/grant-cache.ts';
import { registerWebhookMetrics } from '../authorization/metrics.ts';
import { SpokeClients, SpokeGrantChecker, SpokeObjectReader } from '../authorization/spoke.ts';
import { DenyPolicyCache, EscalationCache, InformerClusterDirectory, SessionIndex, type ChangeSource } from '../authorization/webhook-caches.ts';
import { createWebhookHandler, type WebhookHandler, type WebhookRateLimits } from './authorization-webhook-handler.ts';
import { ACTIVITY_FLUSH_MS } from '../sessions/activity-timing.ts';

export interface AuthorizationWebhookOptions {
  readonly kubeConfig: KubeConfig;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly metrics?: ControllerMetrics;
  /** The session cache (KubernetesSessionRepository.cacheView()) and repository for activity writes. */
  readonly sessionCache: ChangeSource<BreakglassSession>;
  /** The replica's ClusterConfig and escalation caches (the REST API's, createSessionApi), started and awaited by their owner. */
  readonly clusterConfigs: ChangeSource<ClusterConfig>;
  readonly escalations: ChangeSource<BreakglassEscalation>;
  readonly sessions: Pick<SessionRepository, 'getLive' | 'writeStatus'>;
  readonly maxCacheAgeMs?: number;
  readonly decision?: DecisionOptions;
  readonly grantCache?: Omit<GrantCacheOptions, 'clock'>;
  /** How often counted activity is written out. Default ACTIVITY_FLUSH_MS (5 s), which the idle check allows for. */
  readonly activityFlushMs?: number;
  readonly activityIntervalMs?: number;
  /** Default DEFAULT_WEBHOOK_RATE_LIMITS (the flag's default). */
  readonly rateLimits?: WebhookRateLimits;
  readonly clock?: Clock;
}

export interface AuthorizationWebhook {
  /** Served before the Koa app on the 8080 server (withWebhook) and on the TLS listener. */
  readonly handler: WebhookHandler;
  readonly components: ReplicaComponent[];
  readonly activity: ActivityRecorder;
}

export function createAuthorizationWebhook(options: AuthorizationWebhookOptions): AuthorizationWebhook {
  const kc = options.kubeConfig;
  const clock = options.clock ?? systemClock;
  const logger = options.logger.child({ component: 'authorization-webhook' });
  const denyPolicyCache = new CustomObjectCache<DenyPolicy>(kc, 'DenyPolicy', {
    logger: options.logger.child({ component: 'deny-policies' }),
    informer: { metrics: options.metrics, maxCacheAgeMs: options.maxCacheAgeMs },
  });

  const clusters = new InformerClusterDirectory(options.clusterConfigs);
  const denyPolicies = new DenyPolicyCache(denyPolicyCache);
  const escalations = new EscalationCache(options.escalations);
  const sessions = new SessionIndex(options.sessionCache);
  const secretStore = new KubernetesClusterConfigStore(kc, { requestTimeoutMs: 5000 });
  const secrets = { readSecret: (namespace: string, name: string) => secretStore.readSecret(namespace, name) };
  const spokes = new SpokeClients(clusters, secrets, { clock, requestTimeoutMs: options.grantCache?.timeoutMs });
  const grants = new CachingGrantChecker(new SpokeGrantChecker(spokes), { clock, ...options.grantCache });
  const metrics = registerWebhookMetrics(options.registry);
  const activity = new ActivityRecorder(new SessionActivityWriter(options.sessions, { intervalMs: options.activityIntervalMs }), {
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
  const handler = createWebhookHandler({
    pipeline,
    clusters,
    callers: new CallerAuthenticator(secrets, { clock }),
    logger,
    metrics,
    ...(options.rateLimits === undefined ? {} : { rateLimits: options.rateLimits }),
  });

  const flushEvery = options.activityFlushMs ?? ACTIVITY_FLUSH_MS;
  const components: ReplicaComponent[] = [
    denyPolicyCache.component('deny-policies'),
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
  return { handler, components, activity };
}
