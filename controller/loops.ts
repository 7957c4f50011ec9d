/**
 * The registry of background loops: the one list to read to know what runs where. Each loop
 * declares `leaderOnly`; today every loop is (with leader election disabled, they run on every
 * replica).
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { ControllerOptions } from './options.ts';
import type { Logger } from './observability/logger.ts';
import type { ControllerMetrics } from './observability/metrics.ts';
import type { LoopDefinition } from './runtime/loop.ts';
import { clusterConfigCheckerLoop } from './clusters/cluster-config-checker.ts';
import { KubernetesClusterConfigStore } from './clusters/cluster-config-store.ts';
import { KubernetesEscalationStore } from './escalations/escalation-store.ts';
import { escalationStatusUpdaterLoop } from './escalations/escalation-status-updater.ts';
import { cleanupLoop } from './sessions/cleanup-pass.ts';
import type { SessionRepository } from './sessions/session-repository.ts';

export interface LoopDeps {
  options: ControllerOptions;
  kubeConfig: KubeConfig;
  logger: Logger;
  metrics: ControllerMetrics;
  sessions: SessionRepository;
  /** Reported as the source of Events this replica records. */
  identity: string;
}

export function backgroundLoops(deps: LoopDeps): LoopDefinition[] {
  const { options, logger, metrics } = deps;
  const loops: LoopDefinition[] = [];
  if (options.enableCleanup) {
    loops.push(cleanupLoop({ repository: deps.sessions, logger: logger.child({ loop: 'cleanup' }), metrics }, options.cleanupInterval));
  }
  loops.push(
    clusterConfigCheckerLoop(
      {
        store: new KubernetesClusterConfigStore(deps.kubeConfig, { reportingInstance: deps.identity }),
        logger: logger.child({ loop: 'cluster-config-checker' }),
        metrics,
      },
      options.clusterConfigCheckInterval,
    ),
  );
  loops.push(
    escalationStatusUpdaterLoop(
      {
        store: new KubernetesEscalationStore(deps.kubeConfig),
        logger: logger.child({ loop: 'escalation-status-updater' }),
        metrics,
      },
      options.escalationStatusUpdateInterval,
    ),
  );
  return loops;
}
