/**
 * The server half of `npm run bench:sar` (a child process, so the load generator does not share
 * its event loop): the 8080 server's listener as compose.ts builds it (the webhook's handler in
 * front of the Koa app with its middleware and the REST API router), and the real decision
 * pipeline, grant cache and caches over in-memory informer contents of BENCH_SESSIONS sessions and
 * BENCH_POLICIES DenyPolicies; the grant checks are the replica's (SpokeClients over the
 * kubeconfig in BENCH_SPOKE_KUBECONFIG) and go over loopback HTTPS to the bench's fake spoke.
 * sar.ts runs it bundled as the image's program is. It logs as a replica does (info level, JSON
 * on stdout), so logging per request is part of what is measured. Sends `ready` with its port over IPC; answers `stats` with its
 * resident set size, decisions answered, CPU time and garbage collection totals, and its
 * event-loop delay and request handling time since the previous `stats`.
 */
import type { BreakglassEscalation, BreakglassSession, ClusterConfig, DenyPolicy } from '../../crds/index.ts';
import { systemClock } from '../../controller/clock/clock.ts';
import { createApiApp } from '../../controller/http/api-app.ts';
import { listen } from '../../controller/http/listen.ts';
import type { CacheChange } from '../../controller/kube/restarting-informer.ts';
import { createLogger } from '../../controller/observability/logger.ts';
import { createHistogram, monitorEventLoopDelay, PerformanceObserver, constants as perfConstants } from 'node:perf_hooks';
import { formatTime } from '../../controller/sessions/timestamps.ts';
import { Registry } from 'prom-client';
import { ActivityRecorder } from '../../controller/authorization/activity.ts';
import { CallerAuthenticator } from '../../controller/authorization/caller-auth.ts';
import { AuthorizationPipeline } from '../../controller/authorization/decision.ts';
import { CachingGrantChecker } from '../../controller/authorization/grant-cache.ts';
import { SpokeClients, SpokeGrantChecker } from '../../controller/authorization/spoke.ts';
import { registerWebhookMetrics, WEBHOOK_METRIC_NAMES } from '../../controller/authorization/metrics.ts';
import { DenyPolicyCache, EscalationCache, InformerClusterDirectory, SessionIndex, type ChangeSource } from '../../controller/authorization/webhook-caches.ts';
import { createWebhookHandler, withWebhook } from '../../controller/api/authorization-webhook-handler.ts';
import { createApiRouter } from '../../controller/api/api-router.ts';
import { RecordingAudit, StaticSource } from '../../controller/api/testing/fixtures.ts';
import { AuthenticationError, type IdentityProviderDirectory } from '../../controller/identity/index.ts';
import { InMemorySessionRepository } from '../../controller/sessions/in-memory-session-repository.ts';
import { SessionActions } from '../../controller/sessions/session-actions.ts';
import type { SessionDomainDeps } from '../../controller/sessions/session-context.ts';
import { SessionQueries } from '../../controller/sessions/session-queries.ts';
import { SessionRequests } from '../../controller/sessions/session-requests.ts';

export const BENCH_TOKEN = 'bench-webhook-token';

export type ServerMessage =
  | { readonly type: 'ready'; readonly port: number }
  | {
      readonly type: 'stats';
      readonly rssMiB: number;
      readonly decisions: number;
      /** process.cpuUsage() user + system, in microseconds. */
      readonly cpuMicros: number;
      readonly gc: { scavenges: number; scavengeMs: number; markSweeps: number; markSweepMs: number; maxPauseMs: number };
      /** The server's event-loop delay since the previous `stats`: how long a ready request could wait. */
      readonly loopDelay: { p99Ms: number; maxMs: number };
      /** Request handling time (headers parsed to answer written) since the previous `stats`. */
      readonly handling: { p50Ms: number; p99Ms: number; maxMs: number };
    };
export const BENCH_CLUSTERS = 10;

function source<T>(items: T[]): ChangeSource<T> {
  return { hasSynced: () => true, list: () => items, subscribe: (_l: (c: CacheChange<T>) => void) => () => {} };
}

const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 10_000);
const POLICIES = Number(process.env.BENCH_POLICIES ?? 50);
const spokeKubeconfig = process.env.BENCH_SPOKE_KUBECONFIG ?? '';
const now = Date.now();

const clusters: ClusterConfig[] = Array.from({ length: BENCH_CLUSTERS }, (_, i) => ({
  metadata: { name: `cluster-${i}`, namespace: 'breakglass', uid: `c${i}`, resourceVersion: '1' },
  spec: { tenant: `tenant-${i % 3}`, kubeconfigSecretRef: { name: `cluster-${i}-kubeconfig`, namespace: 'breakglass' }, webhookAuthentication: { tokenSecretRef: { name: 'webhook', namespace: 'breakglass' } } },
}));
// user-<n> has sessions on cluster-<n mod 10>; users 0..SESSIONS/2-1 have one Approved session each
// and one Expired one, like a real history.
const sessions: BreakglassSession[] = Array.from({ length: SESSIONS }, (_, i) => {
  const user = `user-${i % (SESSIONS / 2)}@example.com`;
  const approved = i < SESSIONS / 2;
  return {
    metadata: { name: `s-${i}`, namespace: 'breakglass', uid: `u${i}`, resourceVersion: '5' },
    spec: { cluster: `cluster-${i % (SESSIONS / 2) % BENCH_CLUSTERS}`, user, grantedGroup: `team-${i % 20}` },
    status: approved
      ? { state: 'Approved', approvedAt: formatTime(now - 60_000), expiresAt: formatTime(now + 3_600_000), lastActivity: formatTime(now) }
      : { state: 'Expired', approvedAt: formatTime(now - 7_200_000), expiresAt: formatTime(now - 3_600_000) },
  } as BreakglassSession;
});
const policies: DenyPolicy[] = Array.from({ length: POLICIES }, (_, i) => ({
  metadata: { name: `policy-${i}` },
  spec: {
    precedence: i,
    ...(i % 5 === 0 ? {} : { appliesTo: { clusters: [`cluster-${i % BENCH_CLUSTERS}`, 'cluster-9*'] } }),
    rules: [
      { verbs: ['delete', 'deletecollection'], apiGroups: ['apps'], resources: [`deploy${i}`, 'statefulsets'], namespaces: { patterns: [`prod-${i}-*`] } },
      { verbs: ['get', 'list'], apiGroups: [''], resources: ['secrets'], namespaces: { patterns: ['kube-system', `vault-${i}`] } },
    ],
    ...(i % 10 === 0
      ? {
          podSecurityRules: {
            riskFactors: { hostPID: 40, privilegedContainer: 60 },
            thresholds: [{ maxScore: 50, action: 'allow' }, { maxScore: 1000, action: 'deny' }],
            failMode: 'closed',
          },
        }
      : {}),
  },
})) as DenyPolicy[];
const escalations: BreakglassEscalation[] = Array.from({ length: 20 }, (_, i) => ({
  metadata: { name: `escalation-${i}`, namespace: 'breakglass', uid: `e${i}` },
  spec: { escalatedGroup: `team-${i}`, allowed: { clusters: ['cluster-*'], groups: ['developers'] }, approvers: { users: ['bob@example.com'] } },
})) as BreakglassEscalation[];

const directory = new InformerClusterDirectory(source(clusters));
// The replica's spoke clients: every cluster's kubeconfig Secret points at the fake spoke.
const spokeClients = new SpokeClients(directory, { readSecret: async () => ({ value: spokeKubeconfig }) }, { clock: systemClock });
const escalationCache = new EscalationCache(source(escalations));
const denyCache = new DenyPolicyCache(source(policies));
const registry = new Registry();
const metrics = registerWebhookMetrics(registry);
const activity = new ActivityRecorder({ write: async () => {} }, { clock: systemClock });
const pipeline = new AuthorizationPipeline(
  {
    clusters: directory,
    sessions: new SessionIndex(source(sessions)),
    escalations: escalationCache,
    requestable: escalationCache,
    denyPolicies: () => denyCache.current(),
    spoke: { namespaceLabels: async () => ({}), getPod: async () => undefined },
    grants: new CachingGrantChecker(new SpokeGrantChecker(spokeClients), { clock: systemClock, maxEntries: 50_000 }),
    activity,
    clock: systemClock,
    metrics,
  },
  { frontendBaseUrl: 'https://breakglass.example/' },
);
const callers = new CallerAuthenticator({ readSecret: async () => ({ value: BENCH_TOKEN }) }, { clock: systemClock });
const logger = createLogger('info', { component: 'bench-sar-server' });
const apiLogger = logger.child({ server: 'api' });
const webhook = createWebhookHandler({ pipeline, clusters: directory, callers, logger: logger.child({ component: 'authorization-webhook' }), metrics });

// The REST API's Koa app behind the webhook's handler, as compose.ts mounts them, so that a
// SubjectAccessReview passes the same dispatch as on a replica (the app answers no request here).
const noProviders: IdentityProviderDirectory = { resolveIssuer: () => undefined, list: () => [], get: () => undefined, primary: () => undefined, hasSynced: () => true };
const apiDeps: SessionDomainDeps = {
  sessions: new InMemorySessionRepository(),
  escalations: new StaticSource(escalations),
  clusterConfigs: new StaticSource(clusters),
  identityProviders: new StaticSource([]),
  audit: new RecordingAudit(),
};
const apiRouter = createApiRouter({
  verifier: {
    verify: () => Promise.reject(new AuthenticationError('bench: no tokens')),
  },
  requests: new SessionRequests(apiDeps, logger),
  actions: new SessionActions(apiDeps),
  queries: new SessionQueries(apiDeps),
  escalations: apiDeps.escalations,
  identityProviders: noProviders,
  logger,
  version: 'bench',
});
const listener = withWebhook(webhook, createApiApp({ logger: apiLogger, version: 'bench', routers: [apiRouter] }).callback(), apiLogger);
// From the request's headers parsed to its answer written: the server's own share of a latency.
const handling = createHistogram();
const server = await listen((req, res) => {
  const started = process.hrtime.bigint();
  res.once('finish', () => handling.record(process.hrtime.bigint() - started));
  listener(req, res);
}, '127.0.0.1:0');

const gc = { scavenges: 0, scavengeMs: 0, markSweeps: 0, markSweepMs: 0, maxPauseMs: 0 };
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    const kind = (entry as { detail?: { kind?: number } }).detail?.kind;
    if (kind === perfConstants.NODE_PERFORMANCE_GC_MINOR) {
      gc.scavenges++;
      gc.scavengeMs += entry.duration;
    } else if (kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR) {
      gc.markSweeps++;
      gc.markSweepMs += entry.duration;
    }
    gc.maxPauseMs = Math.max(gc.maxPauseMs, entry.duration);
  }
}).observe({ entryTypes: ['gc'] });

// It records the time between its 1 ms ticks; minus the tick, that is how late the loop was.
const LOOP_TICK_MS = 1;
const loopDelay = monitorEventLoopDelay({ resolution: LOOP_TICK_MS });
loopDelay.enable();

async function decisionsAnswered(): Promise<number> {
  const metric = await registry.getSingleMetric(WEBHOOK_METRIC_NAMES.requests)?.get();
  return (metric?.values ?? []).reduce((sum, v) => sum + v.value, 0);
}

function cpuMicros(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

const send = (message: ServerMessage): void => void process.send?.(message);
send({ type: 'ready', port: server.port });
process.on('message', (message) => {
  if (message === 'stats') {
    void decisionsAnswered().then((decisions) => {
      send({ type: 'stats', rssMiB: process.memoryUsage().rss / 1024 / 1024, decisions, cpuMicros: cpuMicros(), gc, loopDelay: { p99Ms: Math.max(0, loopDelay.percentile(99) / 1e6 - LOOP_TICK_MS), maxMs: Math.max(0, loopDelay.max / 1e6 - LOOP_TICK_MS) },
        handling: { p50Ms: handling.percentile(50) / 1e6, p99Ms: handling.percentile(99) / 1e6, maxMs: handling.max / 1e6 },
      });
      loopDelay.reset();
      handling.reset();
    });
  }
});
process.on('disconnect', () => void server.close().then(() => process.exit(0)));
