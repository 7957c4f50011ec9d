/**
 * My sessions: which section a session belongs to and what its state reads as. Mirrors the
 * server's predicates (controller/sessions/predicates.ts, reference §3.2) on the JSON the API
 * returns, so a session shows as ended the moment its deadline passes, before the cleanup loop
 * writes the terminal state.
 */
import type { BreakglassSession } from '../api-types.ts';

export type SessionSection = 'Pending' | 'Scheduled' | 'Active' | 'Ended';
export const SECTIONS: readonly SessionSection[] = ['Pending', 'Scheduled', 'Active', 'Ended'];

const passed = (time: string | undefined, now: Date): boolean => {
  if (!time) return false;
  const at = Date.parse(time);
  return !Number.isNaN(at) && now.getTime() >= at;
};

export function sectionOf(session: BreakglassSession, now: Date): SessionSection {
  const status = session.status;
  switch (status?.state) {
    case undefined:
    case 'Pending':
      return passed(status?.timeoutAt, now) ? 'Ended' : 'Pending';
    case 'WaitingForScheduledTime':
      return passed(status.expiresAt, now) ? 'Ended' : 'Scheduled';
    case 'Approved':
      if (passed(status.expiresAt, now)) return 'Ended';
      return session.spec.scheduledStartTime && !passed(session.spec.scheduledStartTime, now) ? 'Scheduled' : 'Active';
    default:
      return 'Ended';
  }
}

/** The state as the user reads it: the API's state word, "Expired" once an approval ran out. */
export function stateLabel(session: BreakglassSession, now: Date): string {
  const state = session.status?.state;
  if (state === undefined) return 'Requested';
  if (state === 'Pending' && passed(session.status?.timeoutAt, now)) return 'ApprovalTimeout';
  if (state === 'Approved' && passed(session.status?.expiresAt, now)) return 'Expired';
  return state;
}

/** Sessions per section, each newest first. */
export function groupSessions(sessions: readonly BreakglassSession[], now: Date): Record<SessionSection, BreakglassSession[]> {
  const groups: Record<SessionSection, BreakglassSession[]> = { Pending: [], Scheduled: [], Active: [], Ended: [] };
  for (const session of sessions) groups[sectionOf(session, now)].push(session);
  for (const section of SECTIONS) groups[section].sort(newestFirst);
  return groups;
}

export function newestFirst(a: BreakglassSession, b: BreakglassSession): number {
  return (b.metadata?.creationTimestamp ?? '').localeCompare(a.metadata?.creationTimestamp ?? '');
}

/** The caller's identifiers, lower-cased, as the server compares them (reference §8.5). */
export function isOwnSession(session: BreakglassSession, identifiers: readonly string[]): boolean {
  const user = session.spec.user.toLowerCase();
  return identifiers.some((id) => id.toLowerCase() === user);
}

/** Pending requests shown to an approver: still within the approval window, not their own, newest first. */
export function approvalInbox(sessions: readonly BreakglassSession[], identifiers: readonly string[], now: Date): BreakglassSession[] {
  return sessions
    .filter((s) => s.status?.state === 'Pending' && !passed(s.status.timeoutAt, now) && !isOwnSession(s, identifiers))
    .sort(newestFirst);
}
