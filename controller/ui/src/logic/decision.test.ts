import { expect } from 'chai';
import type { BreakglassSession } from '../api-types.ts';
import { decisionLabels, raceOutcome } from './decision.ts';

function session(status: BreakglassSession['status']): BreakglassSession {
  return {
    apiVersion: 'breakglass.t-caas.telekom.com/v1alpha1',
    kind: 'BreakglassSession',
    metadata: { name: 's', namespace: 'default' },
    spec: { cluster: 'prod-1', user: 'alice@example.com', grantedGroup: 'cluster-admin' },
    ...(status ? { status } : {}),
  } as BreakglassSession;
}

const approvedAt = '2026-12-01T11:00:00Z';

describe('UI decision labels', () => {
  it('names a rejection as one, never as an approval (T7 writes the rejecter into approver)', () => {
    expect(decisionLabels(session({ state: 'Rejected', reasonEnded: 'rejected', rejectedAt: approvedAt, approver: 'bob' }))).to.deep.equal({
      by: 'Rejected by',
      reason: 'Rejection reason',
    });
  });

  it('names the canceller of an approved session (T11), whose reason stays the approval reason', () => {
    expect(decisionLabels(session({ state: 'Expired', reasonEnded: 'canceled', approvedAt, approver: 'carol' }))).to.deep.equal({
      by: 'Canceled by',
      reason: 'Approval reason',
    });
  });

  it('names the approver of approved, scheduled and later ended sessions', () => {
    for (const status of [
      { state: 'Approved', approvedAt },
      { state: 'WaitingForScheduledTime', approvedAt },
      { state: 'Expired', reasonEnded: 'timeExpired', approvedAt },
      { state: 'Expired', reasonEnded: 'dropped', approvedAt },
      { state: 'IdleExpired', reasonEnded: 'idleTimeout', approvedAt },
    ] as const) {
      expect(decisionLabels(session({ ...status, approver: 'bob' })), JSON.stringify(status)).to.deep.equal({ by: 'Approved by', reason: 'Approval reason' });
    }
  });

  it('stays neutral when the status does not say what the decision was', () => {
    expect(decisionLabels(session({ state: 'Pending' })).by).to.equal('Decided by');
    expect(decisionLabels(session(undefined)).by).to.equal('Decided by');
  });
});

describe('raceOutcome', () => {
  it('says who acted first', () => {
    expect(raceOutcome(session({ state: 'Approved', approver: 'bob@example.com' }))).to.equal('was already approved by bob@example.com');
    expect(raceOutcome(session({ state: 'Rejected', approver: 'carol@example.com' }))).to.equal('was already rejected by carol@example.com');
    expect(raceOutcome(session({ state: 'Withdrawn' }))).to.equal('was withdrawn by its requester');
    expect(raceOutcome(session({ state: 'ApprovalTimeout' }))).to.equal('timed out before it was approved');
    expect(raceOutcome(undefined)).to.equal('is gone');
  });
});
