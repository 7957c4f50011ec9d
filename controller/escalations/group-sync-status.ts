/**
 * From one pass's Keycloak answers to an escalation's new status (reference §5.3), as a pure
 * function so every rule is testable without a server.
 *
 * - `idpGroupMemberships[idp][group]`: what that IdentityProvider's Keycloak said. A failed
 *   lookup keeps the previous entry (last known members); a group the realm does not have is
 *   emptied (it was deleted there). IdentityProviders no longer selected and groups no longer
 *   configured are pruned.
 * - `approverGroupMembers[group]`: the union over the IdentityProviders that have an entry.
 *   A group without any entry (never resolved) has no key, which the approval path treats as
 *   "check the token's groups" (§8.8 e/f) instead of "nobody".
 * - Condition `ApprovalGroupMembersResolved` with the reference's reasons. Unlike the reference
 *   (§15.21), IdentityProviders without group sync are not counted as failures, and a group
 *   missing in one realm but present in another is not "not found".
 */
import { isDeepStrictEqual } from 'node:util';
import type { BreakglassEscalation, BreakglassEscalationStatus, Condition } from '../../crds/index.ts';
import { findCondition, setCondition, type ConditionInput } from '../sessions/conditions.ts';

export const MEMBERS_RESOLVED = 'ApprovalGroupMembersResolved';
const MAX_MESSAGE_LENGTH = 1024;

export type GroupResult =
  | { kind: 'members'; members: readonly string[] }
  | { kind: 'notFound' }
  | { kind: 'error'; reason: string; message: string };

export interface GroupSyncInput {
  escalation: BreakglassEscalation;
  /** The group-syncing IdentityProviders chosen for this escalation, by name. */
  identityProviders: readonly string[];
  /** The pass's answer for (identity provider, group). */
  result: (identityProvider: string, group: string) => GroupResult;
  now: Date;
}

export interface GroupSyncOutcome {
  status: BreakglassEscalationStatus;
  condition: ConditionInput;
  /** False when writing `status` would change nothing. */
  changed: boolean;
}

/** The configured approver groups: trimmed, without empties and duplicates, in spec order. */
export function approverGroups(escalation: BreakglassEscalation): string[] {
  const groups = (escalation.spec?.approvers?.groups ?? []).map((g) => g.trim()).filter((g) => g !== '');
  return [...new Set(groups)];
}

function normalize(members: readonly string[]): string[] {
  return [...new Set(members.map((m) => m.trim().toLowerCase()).filter((m) => m !== ''))].sort();
}

function sortedRecord<T>(entries: Iterable<[string, T]>): Record<string, T> {
  return Object.fromEntries([...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function truncate(message: string): string {
  return message.length <= MAX_MESSAGE_LENGTH ? message : `${message.slice(0, MAX_MESSAGE_LENGTH - 1)}…`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export function computeGroupSyncStatus(input: GroupSyncInput): GroupSyncOutcome {
  const { escalation, now } = input;
  const previous = escalation.status ?? {};
  const groups = approverGroups(escalation);
  const { approverGroupMembers: _m, idpGroupMemberships: _i, ...rest } = previous;
  let condition: ConditionInput;
  let status: BreakglassEscalationStatus;

  if (groups.length === 0) {
    condition = { type: MEMBERS_RESOLVED, status: 'True', reason: 'NoApproverGroupsConfigured', message: 'No approver groups are configured.' };
    status = rest;
  } else {
    const idpMemberships = new Map<string, Record<string, string[]>>();
    const errors: string[] = [];
    const kept = new Set<string>();
    const missingIn = new Map<string, number>();
    let lookups = 0;
    for (const idp of input.identityProviders) {
      const before = previous.idpGroupMemberships?.[idp] ?? {};
      const entries: [string, string[]][] = [];
      for (const group of groups) {
        lookups++;
        const result = input.result(idp, group);
        if (result.kind === 'members') {
          entries.push([group, normalize(result.members)]);
        } else if (result.kind === 'notFound') {
          entries.push([group, []]);
          missingIn.set(group, (missingIn.get(group) ?? 0) + 1);
        } else {
          errors.push(`${idp}/${group}: ${result.reason}: ${result.message}`);
          const last = before[group];
          if (last !== undefined) {
            entries.push([group, normalize(last)]);
            kept.add(group);
          }
        }
      }
      if (entries.length > 0) idpMemberships.set(idp, sortedRecord(entries));
    }

    const union = new Map<string, Set<string>>();
    for (const memberships of idpMemberships.values()) {
      for (const [group, members] of Object.entries(memberships)) {
        const set = union.get(group) ?? new Set<string>();
        for (const member of members) set.add(member);
        union.set(group, set);
      }
    }
    const approverGroupMembers = sortedRecord([...union].map(([group, set]): [string, string[]] => [group, [...set].sort()]));
    // Not found in every realm asked: the group does not exist anywhere.
    const missing = groups.filter((g) => input.identityProviders.length > 0 && missingIn.get(g) === input.identityProviders.length);
    const empty = groups.filter((g) => approverGroupMembers[g]?.length === 0 && !missing.includes(g));
    const idpCount = input.identityProviders.length;

    if (idpCount === 0) {
      condition = {
        type: MEMBERS_RESOLVED,
        status: 'False',
        reason: 'NoGroupSyncProvider',
        message: 'No enabled IdentityProvider with Keycloak group sync is selected for approvers; approver groups are checked against token groups.',
      };
    } else if (errors.length > 0) {
      const keptText = kept.size > 0 ? ` Kept last known members of: ${[...kept].join(', ')}.` : '';
      condition = {
        type: MEMBERS_RESOLVED,
        status: 'False',
        reason: errors.length === lookups ? 'GroupSyncFailed' : 'GroupSyncPartialFailure',
        message: truncate(`Resolving ${plural(errors.length, 'approver group lookup')} of ${lookups} failed.${keptText} ${errors.join('; ')}`),
      };
    } else if (missing.length > 0) {
      condition = {
        type: MEMBERS_RESOLVED,
        status: 'False',
        reason: 'GroupNotFound',
        message: truncate(`Approver groups not found in any identity provider: ${missing.join(', ')}.`),
      };
    } else {
      const base = `Resolved approver group members for ${plural(groups.length, 'group')} from ${plural(idpCount, 'identity provider')}.`;
      condition =
        empty.length > 0
          ? { type: MEMBERS_RESOLVED, status: 'True', reason: 'GroupMembersEmpty', message: truncate(`${base} Groups without members: ${empty.join(', ')}.`) }
          : { type: MEMBERS_RESOLVED, status: 'True', reason: 'GroupMembersResolved', message: base };
    }
    status = {
      ...rest,
      ...(Object.keys(approverGroupMembers).length > 0 ? { approverGroupMembers } : {}),
      ...(idpMemberships.size > 0 ? { idpGroupMemberships: sortedRecord(idpMemberships) } : {}),
    };
  }

  const generation = escalation.metadata?.generation;
  const existing = findCondition(previous.conditions, MEMBERS_RESOLVED);
  status.conditions = setCondition(previous.conditions, condition, now, generation);
  return { status, condition, changed: !sameStatus(previous, status, existing, condition, generation) };
}

function sameStatus(
  previous: BreakglassEscalationStatus,
  next: BreakglassEscalationStatus,
  existing: Condition | undefined,
  condition: ConditionInput,
  generation: number | undefined,
): boolean {
  return (
    existing !== undefined &&
    existing.status === condition.status &&
    existing.reason === condition.reason &&
    existing.message === condition.message &&
    (generation === undefined || existing.observedGeneration === generation) &&
    isDeepStrictEqual(previous.approverGroupMembers ?? {}, next.approverGroupMembers ?? {}) &&
    isDeepStrictEqual(previous.idpGroupMemberships ?? {}, next.idpGroupMemberships ?? {})
  );
}
