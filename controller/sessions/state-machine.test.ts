import { expect } from 'chai';
import type { BreakglassSession, BreakglassSessionStatus } from '../../crds/index.ts';
import { transition, TransitionRefusedError, type SessionEvent } from './state-machine.ts';

const T0 = new Date('2026-01-01T00:00:00Z');
const at = (offsetMs: number) => new Date(T0.getTime() + offsetMs);
const MIN = 60_000;
const HOUR = 60 * MIN;
const iso = (offsetMs: number) => at(offsetMs).toISOString().replace('.000Z', 'Z');

function session(status?: BreakglassSessionStatus, spec: Partial<BreakglassSession['spec']> = {}): BreakglassSession {
  return {
    metadata: { name: 's1', namespace: 'ns', generation: 3 },
    spec: { cluster: 'prod', user: 'alice@example.com', grantedGroup: 'admins', ...spec },
    ...(status ? { status } : {}),
  };
}

function refused(s: BreakglassSession, event: SessionEvent, now: Date): TransitionRefusedError {
  try {
    transition(s, event, now);
  } catch (err) {
    expect(err).to.be.instanceOf(TransitionRefusedError);
    return err as TransitionRefusedError;
  }
  throw new Error('transition was not refused');
}

const pending = (extra: BreakglassSessionStatus = {}): BreakglassSessionStatus => ({
  state: 'Pending',
  timeoutAt: iso(HOUR),
  conditions: [
    { type: 'Idle', status: 'True', reason: 'EditedByApprover', message: 'x', lastTransitionTime: iso(0) },
  ],
  ...extra,
});

const approved = (extra: BreakglassSessionStatus = {}): BreakglassSessionStatus => ({
  state: 'Approved',
  approvedAt: iso(0),
  actualStartTime: iso(0),
  expiresAt: iso(HOUR),
  approver: 'bob@example.com',
  approvers: ['bob@example.com'],
  ...extra,
});

describe('session state machine', () => {
  describe('T1 request', () => {
    it('creates a Pending session with an approval deadline and the Idle condition', () => {
      const result = transition(session(), { type: 'request', username: 'alice', approvalTimeoutMs: 30 * MIN }, at(500));
      expect(result).to.include({ id: 'T1', from: '', to: 'Pending' });
      expect(result.status).to.deep.equal({
        state: 'Pending',
        timeoutAt: '2026-01-01T00:30:00Z',
        observedGeneration: 3,
        conditions: [
          {
            type: 'Idle',
            status: 'True',
            reason: 'EditedByApprover',
            message: 'User "alice" requested session.',
            lastTransitionTime: '2026-01-01T00:00:00Z',
            observedGeneration: 3,
          },
        ],
      });
    });

    it('defaults the approval timeout to 1h', () => {
      expect(transition(session(), { type: 'request', username: 'a' }, T0).status.timeoutAt).to.equal(iso(HOUR));
    });

    it('is refused for a session that already has a state', () => {
      expect(refused(session(pending()), { type: 'request', username: 'a' }, T0).kind).to.equal('InvalidState');
    });
  });

  describe('T2/T3 approve', () => {
    it('T2 approves immediately: start now, expiry after maxValidFor, deadline and rejection cleared', () => {
      const s = session(pending({ rejectedAt: iso(-1), retainedUntil: iso(5) }), { maxValidFor: '2h' });
      const result = transition(s, { type: 'approve', approver: 'bob@example.com', reason: ' ticket 1 ' }, at(10 * MIN));
      expect(result).to.include({ id: 'T2', from: 'Pending', to: 'Approved' });
      const st = result.status;
      expect(st).to.include({
        state: 'Approved',
        approvedAt: iso(10 * MIN),
        actualStartTime: iso(10 * MIN),
        expiresAt: iso(2 * HOUR + 10 * MIN),
        approver: 'bob@example.com',
        approvalReason: 'ticket 1',
        observedGeneration: 3,
      });
      expect(st.approvers).to.deep.equal(['bob@example.com']);
      expect(st).to.not.have.any.keys('timeoutAt', 'rejectedAt', 'retainedUntil', 'reasonEnded');
      expect(result.condition).to.include({
        type: 'Approved',
        status: 'True',
        reason: 'EditedByApprover',
        message: 'User "bob@example.com" set session to Approved',
        lastTransitionTime: iso(10 * MIN),
      });
      // The Idle condition of the request stays.
      expect(st.conditions?.map((c) => c.type)).to.deep.equal(['Idle', 'Approved']);
    });

    it('T3 waits for the scheduled start: expiry counted from the start, no actual start yet', () => {
      const s = session(pending(), { scheduledStartTime: iso(3 * HOUR), maxValidFor: '1h' });
      const result = transition(s, { type: 'approve', approver: 'bob@example.com' }, at(MIN));
      expect(result).to.include({ id: 'T3', to: 'WaitingForScheduledTime' });
      expect(result.status).to.include({ approvedAt: iso(MIN), expiresAt: iso(4 * HOUR) });
      expect(result.status).to.not.have.any.keys('actualStartTime', 'timeoutAt', 'approvalReason');
      expect(result.condition.message).to.equal('User "bob@example.com" set session to WaitingForScheduledTime');
    });

    it('falls back to 1h for an unusable maxValidFor', () => {
      const result = transition(session(pending(), { maxValidFor: 'garbage' }), { type: 'approve', approver: 'b' }, T0);
      expect(result.status.expiresAt).to.equal(iso(HOUR));
    });

    it('adds the approver to the history once', () => {
      const s = session(pending({ approvers: ['bob@example.com', 'carol@example.com'] }));
      const result = transition(s, { type: 'approve', approver: 'bob@example.com' }, T0);
      expect(result.status.approvers).to.deep.equal(['bob@example.com', 'carol@example.com']);
    });

    it('is refused after the approval deadline', () => {
      const error = refused(session(pending()), { type: 'approve', approver: 'b' }, at(HOUR));
      expect(error.kind).to.equal('PreconditionFailed');
      expect(error.message).to.contain('timed out');
    });

    it('is refused without a reason when the escalation makes it mandatory', () => {
      const s = session(pending(), { approvalReasonConfig: { mandatory: true, description: 'Ticket ID' } });
      const error = refused(s, { type: 'approve', approver: 'b', reason: '  ' }, T0);
      expect(error.kind).to.equal('ReasonRequired');
      expect(error.message).to.equal('reason is required (Ticket ID)');
      expect(transition(s, { type: 'approve', approver: 'b', reason: 'INC-1' }, T0).to).to.equal('Approved');
    });

    for (const state of ['Approved', 'Withdrawn', 'Rejected', 'Expired', 'ApprovalTimeout'] as const) {
      it(`is refused in state ${state} (e.g. Withdrawn -> Approved never happens)`, () => {
        const error = refused(session({ state }), { type: 'approve', approver: 'b' }, T0);
        expect(error).to.include({ kind: 'InvalidState', state, event: 'approve' });
        expect(error.message).to.equal(`cannot approve a session in state ${state}`);
      });
    }
  });

  describe('T4/T5/T6 activateScheduled', () => {
    const waiting = (extra: BreakglassSessionStatus = {}): BreakglassSessionStatus => ({
      state: 'WaitingForScheduledTime',
      approvedAt: iso(-HOUR),
      expiresAt: iso(2 * HOUR),
      ...extra,
    });

    it('T4 activates once the start is reached', () => {
      const s = session(waiting(), { scheduledStartTime: iso(HOUR) });
      const result = transition(s, { type: 'activateScheduled' }, at(HOUR));
      expect(result).to.include({ id: 'T4', from: 'WaitingForScheduledTime', to: 'Approved' });
      expect(result.status).to.include({ state: 'Approved', actualStartTime: iso(HOUR), expiresAt: iso(2 * HOUR) });
      expect(result.status).to.not.have.property('reasonEnded');
      expect(result.status).to.not.have.property('retainedUntil');
      expect(result.condition).to.include({
        type: 'ScheduledStartTimeReached',
        status: 'True',
        reason: 'ActivationTriggered',
      });
    });

    it('T4 is refused before the start', () => {
      const s = session(waiting(), { scheduledStartTime: iso(HOUR) });
      expect(refused(s, { type: 'activateScheduled' }, at(HOUR - 1000)).kind).to.equal('PreconditionFailed');
    });

    it('T5 expires a waiting session without a scheduled start', () => {
      const s = session(waiting(), { retainFor: '1h' });
      const result = transition(s, { type: 'activateScheduled' }, at(MIN));
      expect(result).to.include({ id: 'T5', to: 'Expired' });
      expect(result.status).to.include({
        expiresAt: iso(MIN),
        retainedUntil: iso(HOUR + MIN),
        reasonEnded: 'missingScheduledStartTime',
      });
      expect(result.condition).to.include({ type: 'Expired', status: 'True', reason: 'MissingScheduledStartTime' });
    });

    it('T6 expires a waiting session whose validity ended before activation, keeping an earlier expiresAt', () => {
      const s = session(waiting({ expiresAt: iso(HOUR) }), { scheduledStartTime: iso(30 * MIN) });
      const result = transition(s, { type: 'activateScheduled' }, at(2 * HOUR));
      expect(result).to.include({ id: 'T6', to: 'Expired' });
      expect(result.status).to.include({
        expiresAt: iso(HOUR),
        retainedUntil: iso(2 * HOUR + 720 * HOUR),
        reasonEnded: 'scheduledSessionExpiredBeforeActivation',
      });
      expect(result.condition.reason).to.equal('ScheduledSessionExpiredBeforeActivation');
    });
  });

  describe('T7 reject', () => {
    it('rejects with actor, reason and retention', () => {
      const s = session(pending(), { retainFor: '2d' });
      const result = transition(s, { type: 'reject', approver: 'bob@example.com', reason: 'no' }, at(MIN));
      expect(result).to.include({ id: 'T7', to: 'Rejected' });
      expect(result.status).to.include({
        rejectedAt: iso(MIN),
        retainedUntil: iso(MIN + 48 * HOUR),
        approver: 'bob@example.com',
        approvalReason: 'no',
        reasonEnded: 'rejected',
        timeoutAt: iso(HOUR),
      });
      expect(result.condition).to.include({ type: 'Rejected', reason: 'EditedByApprover' });
    });
  });

  describe('T8 withdraw and T9/T10 drop', () => {
    it('T8 withdraws a pending request and forgets approvers', () => {
      const result = transition(session(pending({ approver: 'x', approvers: ['x'] })), { type: 'withdraw' }, at(MIN));
      expect(result).to.include({ id: 'T8', to: 'Withdrawn' });
      expect(result.status).to.include({ withdrawnAt: iso(MIN), retainedUntil: iso(MIN + 720 * HOUR), reasonEnded: 'withdrawn' });
      expect(result.status).to.not.have.any.keys('approver', 'approvers');
      expect(result.condition).to.include({ type: 'Canceled', message: 'Session withdrawn by requester' });
    });

    it('T8 is refused once the approval deadline passed', () => {
      expect(refused(session(pending()), { type: 'withdraw' }, at(HOUR + 1000)).kind).to.equal('PreconditionFailed');
    });

    it('T9 drops a never-approved session as Withdrawn', () => {
      const result = transition(session(pending()), { type: 'drop' }, at(MIN));
      expect(result).to.include({ id: 'T9', to: 'Withdrawn' });
      expect(result.condition.message).to.equal('Session dropped by owner');
    });

    it('T10 drops an approved session as Expired now', () => {
      const result = transition(session(approved()), { type: 'drop' }, at(MIN));
      expect(result).to.include({ id: 'T10', to: 'Expired' });
      expect(result.status).to.include({ expiresAt: iso(MIN), reasonEnded: 'dropped', retainedUntil: iso(MIN + 720 * HOUR) });
    });

    it('drop is refused for an ended session', () => {
      expect(refused(session({ state: 'Expired' }), { type: 'drop' }, T0).kind).to.equal('InvalidState');
    });
  });

  describe('T11 cancel', () => {
    it('cancels an approved session as the approver', () => {
      const result = transition(session(approved()), { type: 'cancel', approver: 'carol@example.com' }, at(MIN));
      expect(result).to.include({ id: 'T11', to: 'Expired' });
      expect(result.status).to.include({ expiresAt: iso(MIN), approver: 'carol@example.com', reasonEnded: 'canceled' });
      expect(result.status.approvers).to.deep.equal(['bob@example.com', 'carol@example.com']);
      expect(result.condition.message).to.equal('Session canceled by approver');
    });

    it('is refused for a pending session', () => {
      expect(refused(session(pending()), { type: 'cancel', approver: 'c' }, T0).kind).to.equal('InvalidState');
    });
  });

  describe('cleanup transitions', () => {
    it('T12 times out a pending session at its deadline', () => {
      const result = transition(session(pending()), { type: 'approvalTimeout' }, at(HOUR));
      expect(result).to.include({ id: 'T12', to: 'ApprovalTimeout' });
      expect(result.status).to.include({ retainedUntil: iso(HOUR + 720 * HOUR), reasonEnded: 'approvalTimeout' });
      expect(result.condition).to.include({
        type: 'Expired',
        status: 'True',
        reason: 'ApprovalTimeout',
        message: 'Session approval timed out.',
      });
    });

    it('T12 is refused before the deadline', () => {
      expect(refused(session(pending()), { type: 'approvalTimeout' }, at(HOUR - 1000)).kind).to.equal('PreconditionFailed');
    });

    it('T13 expires an approved session after expiresAt', () => {
      const result = transition(session(approved()), { type: 'expire' }, at(HOUR + 1000));
      expect(result).to.include({ id: 'T13', to: 'Expired' });
      expect(result.status).to.include({ reasonEnded: 'timeExpired', retainedUntil: iso(HOUR + 1000 + 720 * HOUR) });
      expect(result.status.expiresAt).to.equal(iso(HOUR));
      expect(result.condition).to.include({ type: 'Expired', reason: 'ExpiredByTime' });
    });

    it('T13 is refused at expiresAt (expiry is "after")', () => {
      expect(refused(session(approved()), { type: 'expire' }, at(HOUR)).kind).to.equal('PreconditionFailed');
    });

    it('T14 idle-expires after idleTimeout without activity', () => {
      const s = session(approved({ lastActivity: iso(0) }), { idleTimeout: '15m' });
      const result = transition(s, { type: 'idleExpire' }, at(20 * MIN));
      expect(result).to.include({ id: 'T14', to: 'IdleExpired' });
      expect(result.status).to.include({ reasonEnded: 'idleTimeout', retainedUntil: iso(20 * MIN + 720 * HOUR) });
      expect(result.condition).to.include({
        type: 'Idle',
        status: 'True',
        reason: 'IdleTimeout',
        message: 'Session expired after 20m0s of inactivity (idle timeout: 15m0s).',
      });
    });

    it('T14 stamps the Idle condition with the time of the expiry, not the creation time of the request', () => {
      // The whole life of a session: requested at T0 (T1 sets Idle=True), approved, idle-expired.
      const requested = transition(session(), { type: 'request', username: 'alice' }, at(0));
      const approvedResult = transition(session(requested.status), { type: 'approve', approver: 'bob' }, at(MIN));
      const active = session({ ...approvedResult.status, lastActivity: iso(2 * MIN) }, { idleTimeout: '15m' });
      const result = transition(active, { type: 'idleExpire' }, at(30 * MIN));
      expect(result.condition).to.include({ type: 'Idle', reason: 'IdleTimeout', lastTransitionTime: iso(30 * MIN) });
      expect(result.status.conditions?.find((c) => c.type === 'Idle')?.lastTransitionTime).to.equal(iso(30 * MIN));
      // The other conditions keep the times of their own transitions.
      expect(result.status.conditions?.find((c) => c.type === 'Approved')?.lastTransitionTime).to.equal(iso(MIN));
    });

    it('T14 is refused without recorded activity', () => {
      const s = session(approved(), { idleTimeout: '15m' });
      expect(refused(s, { type: 'idleExpire' }, at(50 * MIN)).kind).to.equal('PreconditionFailed');
    });

    it('T15 withdraws a pending duplicate, keeping existing withdrawnAt/retainedUntil', () => {
      const fresh = transition(session(pending()), { type: 'terminateDuplicate', survivor: 'keep' }, at(MIN));
      expect(fresh).to.include({ id: 'T15', to: 'Withdrawn' });
      expect(fresh.status).to.include({ withdrawnAt: iso(MIN), retainedUntil: iso(MIN + 720 * HOUR), reasonEnded: 'withdrawn' });
      expect(fresh.condition).to.include({
        type: 'Canceled',
        reason: 'DuplicateSessionWithdrawn',
        message: 'Withdrawn as a duplicate of session keep.',
      });
      const kept = transition(
        session(pending({ withdrawnAt: iso(-5), retainedUntil: iso(5 * HOUR) })),
        { type: 'terminateDuplicate', survivor: 'keep' },
        at(MIN),
      );
      expect(kept.status).to.include({ withdrawnAt: iso(-5), retainedUntil: iso(5 * HOUR) });
    });

    it('T16 terminates an approved duplicate as Expired now', () => {
      const result = transition(session(approved()), { type: 'terminateDuplicate', survivor: 'keep' }, at(MIN));
      expect(result).to.include({ id: 'T16', to: 'Expired' });
      expect(result.status).to.include({ expiresAt: iso(MIN), reasonEnded: 'duplicateCleanup' });
      expect(result.condition.reason).to.equal('DuplicateSessionTerminated');
    });

    it('T17 expires any open session of a deleted cluster, also a pending one', () => {
      const result = transition(session(pending()), { type: 'clusterDeleted', cluster: 'prod' }, at(MIN));
      expect(result).to.include({ id: 'T17', from: 'Pending', to: 'Expired' });
      expect(result.status).to.include({ expiresAt: iso(MIN), reasonEnded: 'clusterDeleted' });
      expect(result.condition.reason).to.equal('ExpiredByClusterDeletion');
    });

    for (const state of ['Rejected', 'Withdrawn', 'Expired', 'IdleExpired', 'ApprovalTimeout'] as const) {
      it(`no event moves an ended session (${state})`, () => {
        const events: SessionEvent[] = [
          { type: 'approve', approver: 'b' },
          { type: 'reject', approver: 'b' },
          { type: 'withdraw' },
          { type: 'drop' },
          { type: 'cancel', approver: 'b' },
          { type: 'activateScheduled' },
          { type: 'approvalTimeout' },
          { type: 'expire' },
          { type: 'idleExpire' },
          { type: 'terminateDuplicate', survivor: 'x' },
          { type: 'clusterDeleted', cluster: 'prod' },
        ];
        for (const event of events) {
          expect(refused(session({ state, retainedUntil: iso(HOUR) }), event, at(10 * HOUR)).kind).to.equal('InvalidState');
        }
      });
    }
  });

  describe('condition bookkeeping', () => {
    it('a transition stamps its condition with its own time, even when that condition was already True', () => {
      const s = session({
        ...approved(),
        conditions: [{ type: 'Expired', status: 'True', reason: 'Old', message: 'old', lastTransitionTime: iso(-HOUR) }],
      });
      const result = transition(s, { type: 'expire' }, at(2 * HOUR));
      expect(result.condition).to.include({ reason: 'ExpiredByTime', lastTransitionTime: iso(2 * HOUR) });
      expect(result.status.conditions).to.have.length(1);
    });

    it('does not modify the session it was given', () => {
      const s = session(pending());
      const before = structuredClone(s);
      transition(s, { type: 'approve', approver: 'b' }, T0);
      expect(s).to.deep.equal(before);
    });
  });

  describe('absurd durations and times', () => {
    it('an out-of-range retainFor falls back to the default 720h instead of throwing', () => {
      const s = session(approved({ expiresAt: iso(-1000) }), { retainFor: '99999999999h' });
      const result = transition(s, { type: 'expire' }, T0);
      expect(result.status).to.include({ state: 'Expired', retainedUntil: iso(720 * HOUR) });
    });

    it('an out-of-range maxValidFor falls back to the default 1h', () => {
      const result = transition(session(pending(), { maxValidFor: '99999999999h' }), { type: 'approve', approver: 'b' }, T0);
      expect(result.status.expiresAt).to.equal(iso(HOUR));
    });

    it('the longest valid duration is used as given', () => {
      const result = transition(session(pending(), { maxValidFor: '2562047h' }), { type: 'approve', approver: 'b' }, T0);
      expect(result.status.expiresAt).to.equal(iso(2562047 * HOUR));
    });

    it('a time beyond year 9999 is written as 9999-12-31T23:59:59Z', () => {
      const s = session(pending(), { scheduledStartTime: '9999-12-31T00:00:00Z', maxValidFor: '48h' });
      const result = transition(s, { type: 'approve', approver: 'b' }, T0);
      expect(result.status).to.include({ state: 'WaitingForScheduledTime', expiresAt: '9999-12-31T23:59:59Z' });
    });
  });
});
