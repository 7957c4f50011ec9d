/**
 * Escalation matching (reference §4.3): which escalations apply to a cluster and to a caller's
 * groups, and whether an escalation may be used now.
 */
import type { BreakglassEscalation, ClusterConfig, Condition } from '../../crds/index.ts';
import { globMatches } from '../../crds/validation/checks.ts';

/** An escalation applies to `cluster` when an entry of allowed.clusters or clusterConfigRefs equals or glob-matches it. */
export function matchesCluster(escalation: BreakglassEscalation, cluster: string): boolean {
  const patterns = [...(escalation.spec.allowed.clusters ?? []), ...(escalation.spec.clusterConfigRefs ?? [])];
  return patterns.some((pattern) => globMatches(pattern, cluster));
}

/** Any caller group equals any allowed group (exact, case-sensitive; OR semantics). */
export function matchesGroups(escalation: BreakglassEscalation, groups: readonly string[]): boolean {
  const allowed = escalation.spec.allowed.groups ?? [];
  return groups.some((group) => allowed.includes(group));
}

/** The identity providers allowed to request under this escalation; empty means any. */
export function requestIdentityProviders(escalation: BreakglassEscalation): readonly string[] {
  const unified = escalation.spec.allowedIdentityProviders ?? [];
  return unified.length > 0 ? unified : (escalation.spec.allowedIdentityProvidersForRequests ?? []);
}

/** The identity providers allowed to approve under this escalation; empty means any. */
export function approverIdentityProviders(escalation: BreakglassEscalation): readonly string[] {
  const unified = escalation.spec.allowedIdentityProviders ?? [];
  return unified.length > 0 ? unified : (escalation.spec.allowedIdentityProvidersForApprovers ?? []);
}

function readyCondition(conditions: readonly Condition[] | undefined): Condition | undefined {
  return conditions?.find((c) => c.type === 'Ready');
}

/**
 * Whether an escalation may be used for new requests. Nothing in this product writes an
 * escalation's Ready condition yet, so an escalation without one counts as ready; one that says
 * Ready=False (or Unknown) does not.
 */
export function isEscalationReady(escalation: BreakglassEscalation): boolean {
  const ready = readyCondition(escalation.status?.conditions);
  return ready === undefined || ready.status === 'True';
}

/**
 * Whether a ClusterConfig lets sessions be requested. Ready=False (the checker found it broken)
 * refuses; Unknown (e.g. an OIDC cluster the checker cannot verify yet) and not yet checked do
 * not, so a new ClusterConfig is usable before the leader's next check (§15.6).
 */
export function isClusterConfigUsable(config: ClusterConfig): boolean {
  return readyCondition(config.status?.conditions)?.status !== 'False';
}

export type ClusterConfigLookup =
  | { kind: 'none' }
  | { kind: 'found'; config: ClusterConfig }
  | { kind: 'ambiguous'; namespaces: string[] };

/** The ClusterConfig named `cluster` in any namespace; two of the same name are ambiguous (fails closed). */
export function findClusterConfig(configs: readonly ClusterConfig[], cluster: string): ClusterConfigLookup {
  const found = configs.filter((c) => c.metadata?.name === cluster);
  if (found.length === 0) return { kind: 'none' };
  if (found.length > 1) return { kind: 'ambiguous', namespaces: found.map((c) => c.metadata?.namespace ?? '') };
  return { kind: 'found', config: found[0] as ClusterConfig };
}
