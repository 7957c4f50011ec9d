/**
 * Prometheus metrics of the controller, on one registry per process (tests create their own).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class ControllerMetrics {
  readonly registry: Registry;
  readonly leaderStatus: Gauge<'name'>;
  readonly leaderSlowpath: Counter<'name'>;
  readonly loopRuns: Counter<'loop' | 'result'>;
  readonly loopDuration: Histogram<'loop'>;
  readonly sessionTransitions: Counter<'from' | 'to'>;
  readonly clusterConfigsChecked: Counter<'cluster'>;
  readonly clusterConfigsFailed: Counter<'cluster'>;
  readonly admissionRequests: Counter<'kind' | 'allowed'>;
  readonly fencedWrites: Counter<'loop'>;
  readonly informerCacheAge: Gauge<'informer'>;
  /** Cache-age sources by informer name, read at scrape time. */
  private readonly cacheAges = new Map<string, () => number>();
  readonly groupSyncErrors: Counter<'identity_provider' | 'reason'>;
  readonly escalationStatusUpdates: Counter;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    this.registry = new Registry();
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    const registers = [this.registry];
    this.leaderStatus = new Gauge({
      name: 'leader_election_master_status',
      help: 'Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master. Please make sure to group by name.',
      labelNames: ['name'],
      registers,
    });
    this.leaderSlowpath = new Counter({
      name: 'leader_election_slowpath_total',
      help: 'Total number of slow path exercised in renewing leader leases.',
      labelNames: ['name'],
      registers,
    });
    this.loopRuns = new Counter({
      name: 'breakglass_loop_runs_total',
      help: 'Passes of the background loops by result (success, partial, timeout, error, cancelled, fenced).',
      labelNames: ['loop', 'result'],
      registers,
    });
    this.loopDuration = new Histogram({
      name: 'breakglass_loop_duration_seconds',
      help: 'Duration of one pass of a background loop.',
      labelNames: ['loop'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    });
    this.sessionTransitions = new Counter({
      name: 'breakglass_session_transitions_total',
      help: 'BreakglassSession state transitions written by this replica.',
      labelNames: ['from', 'to'],
      registers,
    });
    this.clusterConfigsChecked = new Counter({
      name: 'breakglass_clusterconfigs_checked_total',
      help: 'ClusterConfig checks performed.',
      labelNames: ['cluster'],
      registers,
    });
    this.clusterConfigsFailed = new Counter({
      name: 'breakglass_clusterconfigs_failed_total',
      help: 'ClusterConfig checks that found the cluster not ready.',
      labelNames: ['cluster'],
      registers,
    });
    this.admissionRequests = new Counter({
      name: 'breakglass_admission_requests_total',
      help: 'Admission reviews answered, by kind and outcome.',
      labelNames: ['kind', 'allowed'],
      registers,
    });
    this.fencedWrites = new Counter({
      name: 'breakglass_fenced_writes_total',
      help: 'Leader-only writes refused because the leadership term was no longer safely valid.',
      labelNames: ['loop'],
      registers,
    });
    this.groupSyncErrors = new Counter({
      name: 'breakglass_group_sync_errors_total',
      help: 'Approver group lookups (or whole identity providers) the Keycloak group sync could not resolve, by reason.',
      labelNames: ['identity_provider', 'reason'],
      registers,
    });
    this.escalationStatusUpdates = new Counter({
      name: 'breakglass_escalation_status_updates_total',
      help: 'BreakglassEscalation status writes made by the group sync.',
      registers,
    });
    const cacheAges = this.cacheAges;
    this.informerCacheAge = new Gauge({
      name: 'breakglass_informer_cache_age_seconds',
      help: 'Seconds since the informer cache last showed a sign of life (list, watch start or event; before the first sync, since start). /readyz fails above --cache-max-age.',
      labelNames: ['informer'],
      registers,
      collect() {
        for (const [informer, age] of cacheAges) this.set({ informer }, age());
      },
    });
  }

  /** Exports `age()` (seconds) as breakglass_informer_cache_age_seconds{informer=name}. */
  trackCacheAge(name: string, age: () => number): void {
    this.cacheAges.set(name, age);
  }
}
