/**
 * Authorization webhook metrics (reference §6.8, §5.5): names, label values, the bounded `cluster`
 * label, and an interface the pipeline and transport report to. `registerWebhookMetrics` creates
 * them on a prom-client Registry (the process registry of ControllerMetrics in production).
 */
import { Counter, Histogram, type Registry } from 'prom-client';

export const WEBHOOK_METRIC_NAMES = {
  requests: 'breakglass_webhook_sar_requests_total',
  allowed: 'breakglass_webhook_sar_allowed_total',
  denied: 'breakglass_webhook_sar_denied_total',
  decisions: 'breakglass_webhook_sar_decisions_total',
  duration: 'breakglass_webhook_sar_duration_seconds',
  phaseDuration: 'breakglass_webhook_sar_phase_duration_seconds',
  sessionSarAllowed: 'breakglass_webhook_session_sar_allowed_total',
  sessionSarDenied: 'breakglass_webhook_session_sar_denied_total',
  sessionSarErrors: 'breakglass_webhook_session_sar_errors_total',
  sessionSarsSkipped: 'breakglass_webhook_session_sars_skipped_total',
  activityRequests: 'breakglass_session_activity_requests_total',
  rateLimited: 'breakglass_webhook_sar_rate_limited_total',
  refused: 'breakglass_webhook_sar_refused_total',
} as const;

/** The phases of §6.3 (`debug_session` is the reference's non-core phase; never observed here). */
export const WEBHOOK_PHASES = [
  'parse',
  'cluster_config',
  'sessions',
  'debug_session',
  'impersonation',
  'deny_policy',
  'rbac_check',
  'session_sars',
  'escalations',
  'total',
] as const;
export type WebhookPhase = (typeof WEBHOOK_PHASES)[number];

/** `decision` label: allowed, denied, or the reference's special denials. */
export type DecisionLabel = 'allowed' | 'denied' | 'cluster-missing' | 'policy-error' | 'error';

/** `deny_source` label of §6.8 ('' for allowed decisions). */
export type DenySource = '' | 'cluster-missing' | 'global' | 'session' | 'policy-error' | 'final' | 'rbac';

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/**
 * The `cluster` label: `_unknown` (empty), `_invalid` (not DNS-1123), `_unresolved` (no
 * ClusterConfig), else the name; so that arbitrary path segments cannot grow the series count.
 */
export function clusterLabel(cluster: string, resolved: boolean): string {
  if (cluster === '') return '_unknown';
  if (cluster.length > 253 || !DNS1123_SUBDOMAIN.test(cluster)) return '_invalid';
  return resolved ? cluster : '_unresolved';
}

/** What the pipeline and the transport report; a no-op implementation serves tests. */
export interface WebhookMetrics {
  observePhase(cluster: string, phase: WebhookPhase, seconds: number): void;
  /** One answered SAR (transport: after the response is built). */
  observeDecision(cluster: string, decision: DecisionLabel, denySource: DenySource, seconds: number): void;
  observeSessionCheck(cluster: string, result: 'allowed' | 'denied' | 'error'): void;
  observeSessionChecksSkipped(cluster: string): void;
  observeActivity(cluster: string, grantedGroup: string): void;
  /** A request answered 429: its ClusterConfig's caller was past the rate limit (no decision). */
  observeRateLimited(cluster: string): void;
  /** A caller refused with 401 (no decision). */
  observeRefused(cluster: string): void;
}

export const noopWebhookMetrics: WebhookMetrics = {
  observePhase: () => {},
  observeDecision: () => {},
  observeSessionCheck: () => {},
  observeSessionChecksSkipped: () => {},
  observeActivity: () => {},
  observeRateLimited: () => {},
  observeRefused: () => {},
};

const SECONDS_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** Creates the webhook metrics on `registry`. */
export function registerWebhookMetrics(registry: Registry): WebhookMetrics {
  const registers = [registry];
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
    new Counter<L>({ name, help, labelNames, registers });
  const requests = counter(WEBHOOK_METRIC_NAMES.requests, 'SubjectAccessReviews answered.', ['cluster']);
  const allowed = counter(WEBHOOK_METRIC_NAMES.allowed, 'SubjectAccessReviews allowed.', ['cluster']);
  const denied = counter(WEBHOOK_METRIC_NAMES.denied, 'SubjectAccessReviews denied.', ['cluster']);
  const decisions = counter(WEBHOOK_METRIC_NAMES.decisions, 'SubjectAccessReview decisions by outcome and deny source.', [
    'cluster',
    'decision',
    'deny_source',
  ]);
  const duration = new Histogram<'cluster' | 'decision'>({
    name: WEBHOOK_METRIC_NAMES.duration,
    help: 'Time to answer a SubjectAccessReview.',
    labelNames: ['cluster', 'decision'],
    buckets: SECONDS_BUCKETS,
    registers,
  });
  const phases = new Histogram<'cluster' | 'phase'>({
    name: WEBHOOK_METRIC_NAMES.phaseDuration,
    help: 'Time spent in each phase of the decision pipeline.',
    labelNames: ['cluster', 'phase'],
    buckets: SECONDS_BUCKETS,
    registers,
  });
  const sessionAllowed = counter(WEBHOOK_METRIC_NAMES.sessionSarAllowed, 'Session grant checks that allowed.', ['cluster']);
  const sessionDenied = counter(WEBHOOK_METRIC_NAMES.sessionSarDenied, 'Session grant checks that did not allow.', ['cluster']);
  const sessionErrors = counter(WEBHOOK_METRIC_NAMES.sessionSarErrors, 'Session grant checks that failed.', ['cluster']);
  const skipped = counter(WEBHOOK_METRIC_NAMES.sessionSarsSkipped, 'Session grant checks skipped for lack of spoke credentials.', [
    'cluster',
  ]);
  const activity = counter(WEBHOOK_METRIC_NAMES.activityRequests, 'Decisions allowed by a session (activity).', [
    'cluster',
    'granted_group',
  ]);
  const rateLimited = counter(WEBHOOK_METRIC_NAMES.rateLimited, 'Requests answered 429: the ClusterConfig\'s caller was past --sar-rate-limit-per-cluster.', ['cluster']);
  const refused = counter(WEBHOOK_METRIC_NAMES.refused, 'Callers refused with 401 (unknown cluster, missing or wrong credentials).', ['cluster']);
  return {
    observePhase: (cluster, phase, seconds) => phases.observe({ cluster, phase }, seconds),
    observeDecision(cluster, decision, denySource, seconds) {
      requests.inc({ cluster });
      // An error (HTTP 500) is neither: the spoke's failurePolicy decides.
      if (decision === 'allowed') allowed.inc({ cluster });
      else if (decision !== 'error') denied.inc({ cluster });
      decisions.inc({ cluster, decision, deny_source: denySource });
      duration.observe({ cluster, decision }, seconds);
    },
    observeSessionCheck(cluster, result) {
      (result === 'allowed' ? sessionAllowed : result === 'denied' ? sessionDenied : sessionErrors).inc({ cluster });
    },
    observeSessionChecksSkipped: (cluster) => skipped.inc({ cluster }),
    observeActivity: (cluster, grantedGroup) => activity.inc({ cluster, granted_group: grantedGroup }),
    observeRateLimited: (cluster) => rateLimited.inc({ cluster }),
    observeRefused: (cluster) => refused.inc({ cluster }),
  };
}
