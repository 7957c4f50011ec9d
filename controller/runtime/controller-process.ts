/**
 * The lifecycle of one controller replica, in the manner of controller-runtime's manager:
 * replica components (informers, servers) run on every replica for the process lifetime;
 * leader-only loops run per leadership term (or at once, without leader election).
 *
 * Shutdown order: readiness fails, leader-only loops stop, the lease is released, then (after a
 * short drain) servers close; all bounded by the shutdown timeout so the process exits promptly.
 * The timeout is split by controller/shutdown-budget.ts: the release has a budget of its own and
 * the end is reserved for closing servers, so a slow API server cannot cut the release short.
 */
import type { LeaderElector, LeaderElectorCallbacks } from '../leadership/elector.ts';
import { createProbesApp, type NamedCheck } from '../http/probes-app.ts';
import { listen, type ListeningServer } from '../http/listen.ts';
import type { Logger } from '../observability/logger.ts';
import type { ControllerMetrics } from '../observability/metrics.ts';
import type { ShutdownBudget } from '../shutdown-budget.ts';
import { LeaderScope } from './leader-scope.ts';
import { unfencedGuard, type LoopDefinition } from './loop.ts';
import { runLoops } from './loop-runner.ts';

/** Something that runs on every replica for the process lifetime (an informer, a watcher). */
export interface ReplicaComponent {
  readonly name: string;
  start(signal: AbortSignal): void | Promise<void>;
  /** Readiness: false until the component's cache is synced, and while it is stale. */
  hasSynced?(): boolean;
  /** Readiness detail when not synced ("cache is stale: ..."); default "cache not synced". */
  notReadyReason?(): string | undefined;
}

/** A server this replica exposes; started after the replica components. */
export interface ServerDefinition {
  readonly name: string;
  start(): Promise<ListeningServer>;
}

export interface ControllerProcessDeps {
  logger: Logger;
  metrics: ControllerMetrics;
  /**
   * Builds the elector with the callbacks that scope leader-only loops to a term.
   * null: leader election disabled, leader-only loops run at once (single-instance mode).
   */
  electorFactory: ((callbacks: LeaderElectorCallbacks) => LeaderElector) | null;
  /** The loop registry; each loop says whether it needs the leader. */
  loops: readonly LoopDefinition[];
  components: readonly ReplicaComponent[];
  servers: readonly ServerDefinition[];
  /** Bind address of /healthz and /readyz. */
  probeAddress: string;
  /** How the shutdown timeout is spent (see shutdownBudget()). */
  shutdown: ShutdownBudget;
}

/** The name under which the elector's run (term end, release) is awaited at shutdown. */
const LEADER_ELECTION = 'leader-election';

export class ControllerProcess {
  private readonly root = new AbortController();
  private readonly listening = new Map<string, ListeningServer>();
  private readonly background: { name: string; done: Promise<unknown> }[] = [];
  private shuttingDown = false;
  readonly leaderScope: LeaderScope;
  readonly elector: LeaderElector | null;

  constructor(private readonly deps: ControllerProcessDeps) {
    this.leaderScope = new LeaderScope(
      deps.loops.filter((l) => l.leaderOnly),
      { logger: deps.logger, metrics: deps.metrics },
    );
    this.elector = deps.electorFactory ? deps.electorFactory(this.leaderScope.callbacks()) : null;
  }

  /** Ports actually bound, by server name (useful when binding port 0). */
  ports(): Record<string, number> {
    return Object.fromEntries([...this.listening].map(([name, s]) => [name, s.port]));
  }

  livenessChecks(): NamedCheck[] {
    const elector = this.elector;
    return [
      {
        name: 'leaderElection',
        // Fails only when this replica believes it leads but has stopped renewing (wedged).
        check: () => (elector && !elector.healthy() ? 'leader has not renewed its lease within lease duration + 20s' : undefined),
      },
    ];
  }

  readinessChecks(): NamedCheck[] {
    return [
      { name: 'shutdown', check: () => (this.shuttingDown ? 'shutting down' : undefined) },
      ...this.deps.components
        .filter((c) => c.hasSynced)
        .map((c) => ({ name: `informer-sync:${c.name}`, check: () => (c.hasSynced?.() ? undefined : (c.notReadyReason?.() ?? 'cache not synced')) })),
    ];
  }

  async start(): Promise<void> {
    const { logger } = this.deps;
    const probes = await listen(createProbesApp(this.livenessChecks(), this.readinessChecks()).callback(), this.deps.probeAddress);
    this.listening.set('probes', probes);
    for (const component of this.deps.components) {
      this.track(`component:${component.name}`, () => component.start(this.root.signal));
    }
    for (const server of this.deps.servers) {
      const s = await server.start();
      this.listening.set(server.name, s);
      logger.info({ server: server.name, port: s.port }, 'server listening');
    }
    const lifetime = { signal: this.root.signal, guard: unfencedGuard };
    const elector = this.elector;
    if (elector) {
      this.track('loops', () => runLoops(this.deps.loops.filter((l) => !l.leaderOnly), lifetime, this.deps));
      this.track(LEADER_ELECTION, () => elector.run(this.root.signal));
    } else {
      logger.info('leader election disabled via --enable-leader-election=false, background loops will run on all replicas');
      this.track('loops', () => runLoops(this.deps.loops, lifetime, this.deps));
    }
  }

  private track(name: string, start: () => unknown): void {
    this.background.push({ name, done: Promise.resolve(start()) });
  }

  /** Stops everything; resolves when done or when the shutdown timeout has passed. */
  async shutdown(): Promise<void> {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    const { logger, shutdown: budget } = this.deps;
    logger.info({ timeoutMs: budget.totalMs, releaseTimeoutMs: budget.releaseMs }, 'shutting down');
    const started = performance.now();
    const timers: NodeJS.Timeout[] = [];
    const deadline = (ms: number) =>
      new Promise<'timeout'>((resolve) => timers.push(setTimeout(() => resolve('timeout'), Math.max(0, ms - (performance.now() - started)))));
    // Readiness already fails. Aborting the root ends the leadership term (loops stop, the elector
    // waits for them) and then releases the lease. The servers stay up meanwhile, and at least
    // a short drain period, so requests routed here before the endpoint update still get answers.
    this.root.abort();
    const pending = new Set(this.background.map((b) => b.name));
    const stopped = Promise.allSettled(this.background.map((b) => b.done.finally(() => pending.delete(b.name)))).then(() => 'stopped' as const);
    // The stop phase ends early enough to leave the close reserve, whatever is still running.
    const outcome = await Promise.race([stopped, deadline(budget.stopPhaseMs)]);
    if (outcome === 'timeout') {
      logger.warn({ pending: [...pending], ms: Math.round(performance.now() - started) }, 'shutdown deadline passed before components stopped');
      if (pending.has(LEADER_ELECTION)) logger.warn({ component: LEADER_ELECTION }, 'could not release lease before shutdown deadline');
    }
    const drained = budget.drainMs - (performance.now() - started);
    if (outcome !== 'timeout' && drained > 0) await new Promise((resolve) => setTimeout(resolve, drained));
    const closed = Promise.allSettled([...this.listening.values()].map((s) => s.close())).then(() => 'stopped' as const);
    const closeOutcome = await Promise.race([closed, deadline(budget.totalMs)]);
    for (const timer of timers) clearTimeout(timer);
    const timedOut = outcome === 'timeout' || closeOutcome === 'timeout';
    logger.info({ ms: Math.round(performance.now() - started), timedOut }, 'shutdown complete');
  }
}
