/**
 * Session predicates of reference §3.2, as pure functions of (session, now).
 *
 * State always wins over timestamps ("state-first"): a session in a terminal state is never
 * valid again, whatever its timestamps say.
 */
import type { BreakglassSession, SessionState } from '../../crds/index.ts';
import { idleTimeoutMs } from './session-durations.ts';
import { parseTime } from './timestamps.ts';
import { ACTIVITY_RECORDING_LAG_MS } from './activity-timing.ts';

export const TERMINAL_STATES: ReadonlySet<SessionState> = new Set<SessionState>([
  'Rejected',
  'Withdrawn',
  'Expired',
  'IdleExpired',
  'ApprovalTimeout',
]);

/** The state, or '' when the status was never written. */
export function stateOf(session: BreakglassSession): SessionState | '' {
  return session.status?.state ?? '';
}

export function isTerminal(session: BreakglassSession): boolean {
  const state = stateOf(session);
  return state !== '' && TERMINAL_STATES.has(state);
}

/** Pending, never decided, and its approval deadline has been reached. */
export function isApprovalTimedOut(session: BreakglassSession, now: Date): boolean {
  const status = session.status;
  if (stateOf(session) !== 'Pending') return false;
  if (parseTime(status?.approvedAt) !== undefined || parseTime(status?.rejectedAt) !== undefined) return false;
  const timeoutAt = parseTime(status?.timeoutAt);
  return timeoutAt !== undefined && now.getTime() >= timeoutAt;
}

/** Pending and its approval deadline not yet passed. */
export function isPendingApproval(session: BreakglassSession, now: Date): boolean {
  if (stateOf(session) !== 'Pending') return false;
  const timeoutAt = parseTime(session.status?.timeoutAt);
  return !(timeoutAt !== undefined && now.getTime() > timeoutAt);
}

/** Expired, or Approved with expiresAt in the past. */
export function isExpired(session: BreakglassSession, now: Date): boolean {
  const state = stateOf(session);
  if (state === 'Expired') return true;
  const expiresAt = parseTime(session.status?.expiresAt);
  return state === 'Approved' && expiresAt !== undefined && now.getTime() > expiresAt;
}

/** Not ended, not waiting for its start, and (if Approved) not past expiresAt. */
export function isValid(session: BreakglassSession, now: Date): boolean {
  const state = stateOf(session);
  if (state === '' || isTerminal(session) || state === 'WaitingForScheduledTime') return false;
  const scheduledStart = parseTime(session.spec.scheduledStartTime);
  if (scheduledStart !== undefined && scheduledStart > now.getTime()) return false;
  return !(state === 'Approved' && isExpired(session, now));
}

/** The session currently grants its group. */
export function isAccessActive(session: BreakglassSession, now: Date): boolean {
  return stateOf(session) === 'Approved' && isValid(session, now);
}

/** The session counts against duplicate checks and session limits. */
export function occupiesSlot(session: BreakglassSession, now: Date): boolean {
  switch (stateOf(session)) {
    case 'Pending':
      return isPendingApproval(session, now);
    case 'Approved':
      return isValid(session, now);
    case 'WaitingForScheduledTime': {
      const expiresAt = parseTime(session.status?.expiresAt);
      return expiresAt === undefined || now.getTime() <= expiresAt;
    }
    default:
      return false;
  }
}

/** Terminal and past its retention: the object may be deleted (T18). */
export function isPastRetention(session: BreakglassSession, now: Date): boolean {
  const retainedUntil = parseTime(session.status?.retainedUntil);
  return isTerminal(session) && retainedUntil !== undefined && now.getTime() > retainedUntil;
}

/**
 * Terminal, no owner and no retainedUntil: a legacy or hand-made object the reference deletes at
 * once (T19). Everything the product creates has an owner and a retainedUntil on termination.
 */
export function isOrphan(session: BreakglassSession): boolean {
  const owners = session.metadata?.ownerReferences ?? [];
  return isTerminal(session) && owners.length === 0 && parseTime(session.status?.retainedUntil) === undefined;
}

/** What the authorization webhook may use (§6.4): Approved, not ended, expiresAt in the future. */
export function isUsableForAuthorization(session: BreakglassSession, now: Date): boolean {
  if (stateOf(session) !== 'Approved') return false;
  if (isPastRetention(session, now)) return false;
  if (parseTime(session.status?.rejectedAt) !== undefined) return false;
  const expiresAt = parseTime(session.status?.expiresAt);
  return expiresAt !== undefined && expiresAt > now.getTime();
}

/** Whether an approval link for this session still makes sense. */
export function isTokenValid(session: BreakglassSession, now: Date): boolean {
  const state = stateOf(session);
  if (state === '' || isTerminal(session) || isApprovalTimedOut(session, now)) return false;
  return !(state === 'Approved' && isExpired(session, now));
}

/**
 * Approved with an idle timeout, recorded activity, and at least idleTimeout since that activity
 * plus the time recorded activity may take to reach the status (ACTIVITY_RECORDING_LAG_MS): a
 * session in use is never ended for idleness. Sessions without recorded activity are never
 * idle-expired (§3.5).
 */
export function isIdle(session: BreakglassSession, now: Date): boolean {
  if (stateOf(session) !== 'Approved') return false;
  const idleTimeout = idleTimeoutMs(session);
  const lastActivity = parseTime(session.status?.lastActivity);
  if (idleTimeout === undefined || lastActivity === undefined) return false;
  return now.getTime() - lastActivity >= idleTimeout + ACTIVITY_RECORDING_LAG_MS;
}
