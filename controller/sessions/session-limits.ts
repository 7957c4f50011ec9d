/**
 * Session limits (reference §8.15), checked when a session is requested: the escalation's
 * override first, then the identity provider's limits with its first matching group override.
 *
 * Checked twice: before the object is created (from the cache, so a refusal writes nothing) and
 * again right after (from the API server), because a session another replica created a moment
 * ago may not be cached yet, and two requests racing on two replicas each see only themselves
 * before they create. See `SessionRequests` for why the second check keeps at most the limit.
 */
import type { BreakglassEscalation, BreakglassSession, IdentityProvider } from '../../crds/index.ts';
import { globMatches } from '../../crds/validation/checks.ts';
import { occupiesSlot } from './predicates.ts';

/** One limit that applies to a request, with the words its refusal message uses. */
interface Limit {
  scope: 'user' | 'escalation';
  max: number;
  /** e.g. `escalation override`, `IDP group override (oncall-*)`, `IDP default`. */
  source: string;
}

/** The limits a request is held to, in the order the reference checks them. */
export interface SessionLimits {
  limits: readonly Limit[];
}

/** What the limits of a request depend on: the escalation, the requester's groups and identity provider. */
export function sessionLimitsFor(
  escalation: BreakglassEscalation,
  groups: readonly string[],
  identityProvider: IdentityProvider | undefined,
): SessionLimits {
  const override = escalation.spec.sessionLimitsOverride;
  if (override?.unlimited === true) return { limits: [] };
  const limits: Limit[] = [];
  if (override?.maxActiveSessionsPerUser !== undefined) {
    limits.push({ scope: 'user', max: override.maxActiveSessionsPerUser, source: 'escalation override' });
  }
  if (override?.maxActiveSessionsTotal !== undefined) {
    limits.push({ scope: 'escalation', max: override.maxActiveSessionsTotal, source: 'escalation override' });
  }
  // A per-user override replaces the identity provider's limits.
  if (override?.maxActiveSessionsPerUser !== undefined) return { limits };

  const idpLimits = identityProvider?.spec.sessionLimits;
  if (idpLimits === undefined) return { limits };
  const groupOverride = idpLimits.groupOverrides?.find((o) => groups.some((g) => globMatches(o.group, g)));
  if (groupOverride?.unlimited === true) return { limits };
  if (groupOverride?.maxActiveSessionsPerUser !== undefined) {
    limits.push({ scope: 'user', max: groupOverride.maxActiveSessionsPerUser, source: `IDP group override (${groupOverride.group})` });
  } else if (idpLimits.maxActiveSessionsPerUser !== undefined) {
    limits.push({ scope: 'user', max: idpLimits.maxActiveSessionsPerUser, source: 'IDP default' });
  }
  return { limits };
}

export interface LimitCheck {
  limits: SessionLimits;
  escalation: BreakglassEscalation;
  /** The requester's identifier as it is (or will be) written to spec.user. */
  user: string;
  /** Sessions other than the one requested. */
  sessions: readonly BreakglassSession[];
  /** Whether a session holds a slot. @default occupiesSlot */
  occupies?: (session: BreakglassSession) => boolean;
  now: Date;
}

/** The message of the first limit the request would exceed, or undefined when it is within all limits. */
export function limitViolation(check: LimitCheck): string | undefined {
  const occupies = check.occupies ?? ((s: BreakglassSession) => occupiesSlot(s, check.now));
  const occupying = check.sessions.filter(occupies);
  const user = check.user.toLowerCase();
  const uid = check.escalation.metadata?.uid;
  for (const limit of check.limits.limits) {
    const count =
      limit.scope === 'user'
        ? occupying.filter((s) => s.spec.user.toLowerCase() === user).length
        : occupying.filter((s) => s.metadata?.ownerReferences?.some((ref) => ref.uid === uid)).length;
    if (count < limit.max) continue;
    return limit.scope === 'user'
      ? `session limit reached: maximum ${limit.max} slot-occupying sessions per user allowed (${limit.source})`
      : `session limit reached: maximum ${limit.max} total slot-occupying sessions allowed (${limit.source})`;
  }
  return undefined;
}
