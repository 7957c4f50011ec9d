/**
 * Session limits (reference §8.15), checked when a session is requested: the escalation's
 * override first, then the identity provider's limits with its first matching group override.
 */
import type { BreakglassEscalation, BreakglassSession, IdentityProvider } from '../../crds/index.ts';
import { globMatches } from '../../crds/validation/checks.ts';
import { occupiesSlot } from './predicates.ts';

export interface SessionLimitInput {
  escalation: BreakglassEscalation;
  /** The requester's identifier as it will be written to spec.user. */
  user: string;
  groups: readonly string[];
  /** The IdentityProvider that authenticated the requester, when known. */
  identityProvider: IdentityProvider | undefined;
  sessions: readonly BreakglassSession[];
  now: Date;
}

/** The message of the first limit the request would exceed, or undefined when it is within all limits. */
export function sessionLimitViolation(input: SessionLimitInput): string | undefined {
  const { escalation, now } = input;
  const occupying = input.sessions.filter((s) => occupiesSlot(s, now));
  const ofUser = () => occupying.filter((s) => s.spec.user.toLowerCase() === input.user.toLowerCase()).length;
  const override = escalation.spec.sessionLimitsOverride;
  if (override?.unlimited === true) return undefined;
  if (override?.maxActiveSessionsPerUser !== undefined && ofUser() >= override.maxActiveSessionsPerUser) {
    return `session limit reached: maximum ${override.maxActiveSessionsPerUser} slot-occupying sessions per user allowed (escalation override)`;
  }
  if (override?.maxActiveSessionsTotal !== undefined) {
    const uid = escalation.metadata?.uid;
    const total = occupying.filter((s) => s.metadata?.ownerReferences?.some((ref) => ref.uid === uid)).length;
    if (total >= override.maxActiveSessionsTotal) {
      return `session limit reached: maximum ${override.maxActiveSessionsTotal} total slot-occupying sessions allowed (escalation override)`;
    }
  }
  if (override?.maxActiveSessionsPerUser !== undefined) return undefined;

  const limits = input.identityProvider?.spec.sessionLimits;
  if (limits === undefined) return undefined;
  const groupOverride = limits.groupOverrides?.find((o) => input.groups.some((g) => globMatches(o.group, g)));
  if (groupOverride?.unlimited === true) return undefined;
  if (groupOverride?.maxActiveSessionsPerUser !== undefined) {
    return ofUser() >= groupOverride.maxActiveSessionsPerUser
      ? `session limit reached: maximum ${groupOverride.maxActiveSessionsPerUser} slot-occupying sessions per user allowed (IDP group override (${groupOverride.group}))`
      : undefined;
  }
  if (limits.maxActiveSessionsPerUser !== undefined && ofUser() >= limits.maxActiveSessionsPerUser) {
    return `session limit reached: maximum ${limits.maxActiveSessionsPerUser} slot-occupying sessions per user allowed (IDP default)`;
  }
  return undefined;
}
