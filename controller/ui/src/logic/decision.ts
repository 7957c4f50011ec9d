/**
 * Who decided about a session and why, labelled by what the decision was. The server keeps one
 * `status.approver` and one `status.approvalReason` for every decision
 * (controller/sessions/state-machine.ts): approve (T2/T3) writes approver and reason, reject
 * (T7) the rejecter and the rejection reason, cancel (T11) the canceller and keeps the approval's
 * reason; withdraw and drop before approval (T8/T9) clear the approver.
 */
import type { BreakglassSession } from '../api-types.ts';

export interface DecisionLabels {
  /** Label of status.approver. */
  by: string;
  /** Label of status.approvalReason. */
  reason: string;
}

export function decisionLabels(session: BreakglassSession): DecisionLabels {
  const status = session.status;
  if (status?.state === 'Rejected' || status?.reasonEnded === 'rejected') return { by: 'Rejected by', reason: 'Rejection reason' };
  // T11 leaves approvalReason as the approver wrote it.
  if (status?.reasonEnded === 'canceled') return { by: 'Canceled by', reason: 'Approval reason' };
  if (status?.approvedAt) return { by: 'Approved by', reason: 'Approval reason' };
  return { by: 'Decided by', reason: 'Decision reason' };
}

/**
 * What became of a request that this approver could no longer decide (another approver, or the
 * requester, acted first), as the rest of "Session <name> ...".
 */
export function raceOutcome(session: BreakglassSession | undefined): string {
  const status = session?.status;
  const by = status?.approver ? ` by ${status.approver}` : '';
  switch (status?.state) {
    case 'Approved':
    case 'WaitingForScheduledTime':
      return `was already approved${by}`;
    case 'Rejected':
      return `was already rejected${by}`;
    case 'Withdrawn':
      return 'was withdrawn by its requester';
    case 'ApprovalTimeout':
      return 'timed out before it was approved';
    case undefined:
      return session === undefined ? 'is gone' : 'could not be decided';
    default:
      return `is ${status?.state ?? "undecided"} now`;
  }
}
