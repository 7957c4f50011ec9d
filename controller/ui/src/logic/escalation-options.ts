/**
 * The choices of the Request page: which (escalated group, cluster) pairs the user may ask for,
 * given the escalations of GET /api/breakglassEscalations and the cluster typed (or taken from
 * the deny link's `?search=`). Escalations name clusters by name or glob; a request needs a
 * concrete cluster, so a glob only yields a choice once a cluster name is typed that it matches.
 */
import { globMatches } from '../../../../crds/validation/checks.ts';
import type { BreakglassEscalation } from '../api-types.ts';
import { durationMs } from './time.ts';

export interface EscalationOption {
  /** Stable key: `<group>@<cluster>`. */
  key: string;
  group: string;
  cluster: string;
  /** Radio label of the UI contract. */
  label: string;
  reasonMandatory: boolean;
  reasonDescription?: string;
  /** Longest duration that may be asked for, in milliseconds. */
  maxValidForMs: number;
}

const ONE_HOUR_MS = 3_600_000; // the CRD default of maxValidFor

const isGlob = (pattern: string) => /[*?[\\]/.test(pattern);

function targets(escalation: BreakglassEscalation): string[] {
  return [...(escalation.spec.allowed.clusters ?? []), ...(escalation.spec.clusterConfigRefs ?? [])];
}

/**
 * One option per (group, cluster). Several escalations granting the same group on the same
 * cluster merge the way the server treats them strictly: the reason is required if any of them
 * requires it, the duration is bounded by the smallest maximum.
 */
export function escalationOptions(escalations: readonly BreakglassEscalation[], clusterFilter: string): EscalationOption[] {
  const typed = clusterFilter.trim();
  const byKey = new Map<string, EscalationOption>();
  for (const escalation of escalations) {
    const group = escalation.spec.escalatedGroup;
    if (!group) continue;
    const clusters =
      typed === ''
        ? targets(escalation).filter((t) => !isGlob(t))
        : targets(escalation).some((t) => globMatches(t, typed))
          ? [typed]
          : [];
    const maxValidForMs = durationMs(escalation.spec.maxValidFor) ?? ONE_HOUR_MS;
    const reason = escalation.spec.requestReason;
    for (const cluster of clusters) {
      const key = `${group}@${cluster}`;
      const known = byKey.get(key);
      if (known) {
        known.reasonMandatory ||= reason?.mandatory === true;
        known.maxValidForMs = Math.min(known.maxValidForMs, maxValidForMs);
        if (!known.reasonDescription && reason?.description) known.reasonDescription = reason.description;
        continue;
      }
      byKey.set(key, {
        key,
        group,
        cluster,
        label: `${group} on ${cluster}`,
        reasonMandatory: reason?.mandatory === true,
        ...(reason?.description ? { reasonDescription: reason.description } : {}),
        maxValidForMs,
      });
    }
  }
  return [...byKey.values()].sort((a, b) => a.cluster.localeCompare(b.cluster) || a.group.localeCompare(b.group));
}

/**
 * The option to check first: the one matching the deny link's group (and the cluster), else
 * the only option there is; none when the choice is the user's.
 */
export function preselectedOption(options: readonly EscalationOption[], group: string | undefined, cluster: string | undefined): EscalationOption | undefined {
  if (group) {
    const matching = options.filter((o) => o.group === group && (!cluster || o.cluster === cluster));
    if (matching.length >= 1) return matching[0];
  }
  return options.length === 1 ? options[0] : undefined;
}

/** Clusters named (not globbed) by the escalations, for the Cluster field's suggestions. */
export function knownClusters(escalations: readonly BreakglassEscalation[]): string[] {
  return [...new Set(escalations.flatMap(targets).filter((t) => !isGlob(t)))].sort();
}
