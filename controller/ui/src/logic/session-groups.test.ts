import { expect } from 'chai';
import type { BreakglassSession } from '../api-types.ts';
import { approvalInbox, groupSessions, sectionOf, stateLabel } from './session-groups.ts';

const now = new Date('2026-12-01T12:00:00Z');
const later = '2026-12-01T13:00:00Z';
const earlier = '2026-12-01T11:00:00Z';

function session(name: string, status: BreakglassSession['status'], extra: Partial<BreakglassSession['spec']> = {}, created = earlier): BreakglassSession {
  return {
    apiVersion: 'breakglass.t-caas.telekom.com/v1alpha1',
    kind: 'BreakglassSession',
    metadata: { name, namespace: 'default', creationTimestamp: created },
    spec: { cluster: 'prod-1', user: 'alice@example.com', grantedGroup: 'cluster-admin', ...extra },
    ...(status ? { status } : {}),
  } as BreakglassSession;
}

describe('ui session sections', () => {
  it('puts sessions into Pending, Scheduled, Active and Ended by state and deadlines', () => {
    expect(sectionOf(session('a', { state: 'Pending', timeoutAt: later }), now)).to.equal('Pending');
    expect(sectionOf(session('b', { state: 'Pending', timeoutAt: earlier }), now)).to.equal('Ended');
    expect(sectionOf(session('c', undefined), now)).to.equal('Pending');
    expect(sectionOf(session('d', { state: 'WaitingForScheduledTime', expiresAt: later }), now)).to.equal('Scheduled');
    expect(sectionOf(session('e', { state: 'Approved', expiresAt: later }), now)).to.equal('Active');
    expect(sectionOf(session('f', { state: 'Approved', expiresAt: earlier }), now)).to.equal('Ended');
    expect(sectionOf(session('g', { state: 'Approved', expiresAt: later }, { scheduledStartTime: '2026-12-01T12:30:00Z' }), now)).to.equal('Scheduled');
    for (const state of ['Rejected', 'Withdrawn', 'Expired', 'IdleExpired', 'ApprovalTimeout'] as const) {
      expect(sectionOf(session(state, { state }), now), state).to.equal('Ended');
    }
  });

  it('names the state as the API does, and an ended approval as Expired', () => {
    expect(stateLabel(session('a', { state: 'Approved', expiresAt: later }), now)).to.equal('Approved');
    expect(stateLabel(session('a', { state: 'Approved', expiresAt: earlier }), now)).to.equal('Expired');
    expect(stateLabel(session('a', { state: 'Pending', timeoutAt: earlier }), now)).to.equal('ApprovalTimeout');
    expect(stateLabel(session('a', undefined), now)).to.equal('Requested');
  });

  it('groups newest first within each section', () => {
    const groups = groupSessions(
      [
        session('old', { state: 'Pending', timeoutAt: later }, {}, '2026-12-01T10:00:00Z'),
        session('new', { state: 'Pending', timeoutAt: later }, {}, '2026-12-01T11:30:00Z'),
        session('done', { state: 'Rejected' }),
      ],
      now,
    );
    expect(groups.Pending.map((s) => s.metadata?.name)).to.deep.equal(['new', 'old']);
    expect(groups.Ended.map((s) => s.metadata?.name)).to.deep.equal(['done']);
    expect(groups.Active).to.deep.equal([]);
  });

  it("keeps the approver's own and timed-out requests out of the inbox", () => {
    const inbox = approvalInbox(
      [
        session('mine', { state: 'Pending', timeoutAt: later }, { user: 'BOB@example.com' }),
        session('theirs', { state: 'Pending', timeoutAt: later }),
        session('late', { state: 'Pending', timeoutAt: earlier }),
        session('done', { state: 'Approved', expiresAt: later }),
      ],
      ['bob@example.com', 'bob'],
      now,
    );
    expect(inbox.map((s) => s.metadata?.name)).to.deep.equal(['theirs']);
  });
});
