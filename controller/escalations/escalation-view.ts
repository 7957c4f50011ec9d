/**
 * What a requester sees of an escalation (reference §8.13): no cache internals, no synced
 * member lists, and approvers marked hiddenFromUI left out.
 */
import type { BreakglassEscalation } from '../../crds/index.ts';
import type { VerifiedIdentity } from '../identity/identity.ts';
import { isEscalationReady, matchesCluster, matchesGroups, requestIdentityProviders } from './matching.ts';

export function publicEscalation(escalation: BreakglassEscalation): BreakglassEscalation {
  const { uid: _uid, resourceVersion: _rv, generation: _gen, ...metadata } = escalation.metadata ?? {};
  void _uid;
  void _rv;
  void _gen;
  const spec = structuredClone(escalation.spec);
  const hidden = new Set(spec.approvers?.hiddenFromUI ?? []);
  if (spec.approvers !== undefined) {
    const approvers: NonNullable<BreakglassEscalation['spec']['approvers']> = {};
    const users = (spec.approvers.users ?? []).filter((u) => !hidden.has(u));
    const groups = (spec.approvers.groups ?? []).filter((g) => !hidden.has(g));
    if (users.length > 0) approvers.users = users;
    if (groups.length > 0) approvers.groups = groups;
    spec.approvers = approvers;
  }
  const status = escalation.status === undefined ? undefined : { ...escalation.status };
  if (status !== undefined) {
    delete status.approverGroupMembers;
    delete status.idpGroupMemberships;
  }
  const { managedFields: _managed, ...cleanMetadata } = metadata as typeof metadata & { managedFields?: unknown };
  void _managed;
  return {
    apiVersion: escalation.apiVersion,
    kind: escalation.kind,
    metadata: cleanMetadata,
    spec,
    ...(status === undefined ? {} : { status }),
  };
}

export interface AvailableEscalationsQuery {
  /** Only escalations targeting this cluster (exact or glob). */
  cluster?: string;
  /** Only escalations usable now. @default true */
  activeOnly?: boolean;
}

/** The escalations the caller may request under, by group and identity provider. */
export function availableEscalations(
  caller: VerifiedIdentity,
  escalations: readonly BreakglassEscalation[],
  query: AvailableEscalationsQuery,
): BreakglassEscalation[] {
  const groups = caller.groups ?? [];
  return escalations.filter((escalation) => {
    if (!matchesGroups(escalation, groups)) return false;
    const idps = requestIdentityProviders(escalation);
    if (idps.length > 0 && !idps.includes(caller.identityProvider)) return false;
    if (query.cluster !== undefined && query.cluster !== '' && !matchesCluster(escalation, query.cluster)) return false;
    if ((query.activeOnly ?? true) && !isEscalationReady(escalation)) return false;
    return true;
  });
}
