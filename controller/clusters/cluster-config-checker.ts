/**
 * The ClusterConfig checker loop (reference §5.4), leader only: checks every ClusterConfig and
 * writes its Ready condition, with an Event when the condition changes.
 *
 * The status is written only when the condition (status, reason, message) or the observed
 * generation changed, through the term's fencing guard and with the listed resourceVersion; a
 * conflict leaves the config for the next pass.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { ClusterConfig, ClusterConfigStatus, Condition } from '../../crds/index.ts';
import type { Logger } from '../observability/logger.ts';
import type { ControllerMetrics } from '../observability/metrics.ts';
import { FencedError } from '../leadership/fencing.ts';
import type { LoopContext, LoopDefinition, PassReport } from '../runtime/loop.ts';
import { findCondition, setCondition } from '../sessions/conditions.ts';
import {
  checkClusterConfig,
  DEFAULT_PROBE_TIMEOUT_MS,
  probeVersion,
  type ReadyOutcome,
} from './cluster-config-check.ts';
import { ConflictError } from '../kube/errors.ts';
import type { ClusterConfigStore } from './cluster-config-store.ts';

export const READY = 'Ready';

export interface ClusterConfigCheckerDeps {
  store: ClusterConfigStore;
  logger: Logger;
  metrics?: ControllerMetrics;
  now?: () => Date;
  /** Replaces the GET /version probe (tests); `signal` aborts with the loop's term. */
  probe?: (kubeConfig: KubeConfig, signal: AbortSignal) => Promise<void>;
  /** @default 5000 */
  probeTimeoutMs?: number;
}

export interface CheckerCounts {
  checked: number;
  ready: number;
  notReady: number;
  /** Status writes made (condition or generation changed). */
  updated: number;
  /** Writes refused because the config changed; retried next pass. */
  conflicts: number;
  /** Configs whose check or write failed unexpectedly. */
  errors: number;
}

/** True when the Ready condition would say something different. */
export function readyChanged(existing: Condition | undefined, outcome: ReadyOutcome): boolean {
  return (
    existing === undefined ||
    existing.status !== outcome.status ||
    existing.reason !== outcome.reason ||
    existing.message !== outcome.message
  );
}

function key(config: ClusterConfig): string {
  return `${config.metadata?.namespace ?? ''}/${config.metadata?.name ?? ''}`;
}

async function checkOne(
  deps: ClusterConfigCheckerDeps,
  ctx: LoopContext,
  config: ClusterConfig,
  counts: CheckerCounts,
): Promise<void> {
  const name = config.metadata?.name ?? '';
  deps.logger.info({ cluster: name, namespace: config.metadata?.namespace }, 'Checking cluster config');
  deps.metrics?.clusterConfigsChecked.inc({ cluster: name });
  counts.checked++;
  const probeTimeoutMs = deps.probeTimeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
  const outcome = await checkClusterConfig(config, {
    readSecret: (namespace, secretName) => deps.store.readSecret(namespace, secretName, ctx.signal),
    probe: (kubeConfig) =>
      deps.probe ? deps.probe(kubeConfig, ctx.signal) : probeVersion(kubeConfig, probeTimeoutMs, ctx.signal),
  });
  // An outcome cut short by the end of the term says nothing about the cluster: not recorded.
  if (ctx.signal.aborted) return;
  if (outcome.status === 'True') {
    counts.ready++;
  } else {
    counts.notReady++;
    deps.metrics?.clusterConfigsFailed.inc({ cluster: name });
  }
  deps.logger.info({ cluster: name, ...outcome }, 'cluster config checked');

  const existing = findCondition(config.status?.conditions, READY);
  const generation = config.metadata?.generation;
  const changed = readyChanged(existing, outcome);
  if (!changed && (generation === undefined || existing?.observedGeneration === generation)) return;

  const now = deps.now?.() ?? new Date();
  const status: ClusterConfigStatus = {
    ...config.status,
    conditions: setCondition(config.status?.conditions, { type: READY, ...outcome }, now, generation),
    ...(generation === undefined ? {} : { observedGeneration: generation }),
  };
  ctx.guard.assertCanWrite();
  try {
    await deps.store.writeStatus(config, status, config.metadata?.resourceVersion ?? '', ctx.signal);
  } catch (err) {
    if (!(err instanceof ConflictError)) throw err;
    counts.conflicts++;
    deps.logger.info({ cluster: name, err: err.message }, 'cluster config changed concurrently; checked again next pass');
    return;
  }
  counts.updated++;
  if (!changed) return;
  ctx.guard.assertCanWrite();
  try {
    await deps.store.recordEvent(
      config,
      {
        type: outcome.status === 'True' ? 'Normal' : 'Warning',
        reason: outcome.status === 'True' ? 'ClusterConfigValidationSucceeded' : 'ClusterConfigValidationFailed',
        message: `${outcome.reason}: ${outcome.message}`,
      },
      ctx.signal,
    );
  } catch (err) {
    // The condition is the record; a lost event is not worth failing the pass for.
    deps.logger.warn({ cluster: name, err: err instanceof Error ? err.message : String(err) }, 'recording event failed');
  }
}

/** Checks every ClusterConfig once. Stops between configs when `ctx.signal` aborts. */
export async function runClusterConfigCheck(deps: ClusterConfigCheckerDeps, ctx: LoopContext): Promise<CheckerCounts> {
  const counts: CheckerCounts = { checked: 0, ready: 0, notReady: 0, updated: 0, conflicts: 0, errors: 0 };
  const configs = await deps.store.list(ctx.signal);
  for (const config of configs) {
    if (ctx.signal.aborted) break;
    try {
      await checkOne(deps, ctx, config, counts);
    } catch (err) {
      if (err instanceof FencedError) throw err;
      if (ctx.signal.aborted) break;
      counts.errors++;
      deps.logger.error({ cluster: key(config), err }, 'checking cluster config failed');
    }
  }
  deps.logger.info({ ...counts }, 'cluster config check finished');
  return counts;
}

/** The checker loop for the runtime: leader only, one pass per interval. */
export function clusterConfigCheckerLoop(deps: ClusterConfigCheckerDeps, intervalMs: number): LoopDefinition {
  return {
    name: 'cluster-config-checker',
    leaderOnly: true,
    intervalMs,
    async runPass(ctx: LoopContext): Promise<PassReport> {
      // Failed configs are checked again next pass; `partial` lets operators see it happening.
      return (await runClusterConfigCheck(deps, ctx)).errors > 0 ? 'partial' : 'success';
    },
  };
}
