import { expect } from 'chai';
import type { BreakglassSession, BreakglassSessionStatus } from '../../crds/index.ts';
import { ACTIVITY_RECORDING_LAG_MS } from './activity-timing.ts';
import {
  isAccessActive,
  isApprovalTimedOut,
  isExpired,
  isIdle,
  isOrphan,
  isPastRetention,
  isPendingApproval,
  isTerminal,
  isTokenValid,
  isUsableForAuthorization,
  isValid,
  occupiesSlot,
} from './predicates.ts';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const at = (ms: number) => new Date(T0 + ms);
const iso = (ms: number) => at(ms).toISOString();
const HOUR = 3_600_000;

function s(status: BreakglassSessionStatus, spec: Partial<BreakglassSession['spec']> = {}, owned = true): BreakglassSession {
  return {
    metadata: {
      name: 'x',
      namespace: 'ns',
      ...(owned ? { ownerReferences: [{ apiVersion: 'v', kind: 'BreakglassEscalation', name: 'e', uid: 'u' }] } : {}),
    },
    spec: { cluster: 'c', user: 'u', grantedGroup: 'g', ...spec },
    status,
  };
}

describe('session predicates', () => {
  it('terminal states', () => {
    for (const state of ['Rejected', 'Withdrawn', 'Expired', 'IdleExpired', 'ApprovalTimeout'] as const) {
      expect(isTerminal(s({ state })), state).to.equal(true);
    }
    for (const state of ['Pending', 'WaitingForScheduledTime', 'Approved'] as const) {
      expect(isTerminal(s({ state })), state).to.equal(false);
    }
    expect(isTerminal(s({}))).to.equal(false);
  });

  it('approval timeout is reached at timeoutAt; pending approval ends after it', () => {
    const p = s({ state: 'Pending', timeoutAt: iso(HOUR) });
    expect(isApprovalTimedOut(p, at(HOUR - 1))).to.equal(false);
    expect(isApprovalTimedOut(p, at(HOUR))).to.equal(true);
    expect(isPendingApproval(p, at(HOUR))).to.equal(true);
    expect(isPendingApproval(p, at(HOUR + 1))).to.equal(false);
    expect(isApprovalTimedOut(s({ state: 'Pending', timeoutAt: iso(0), approvedAt: iso(0) }), at(HOUR))).to.equal(false);
    expect(isApprovalTimedOut(s({ state: 'Pending' }), at(HOUR))).to.equal(false);
  });

  it('state wins over timestamps', () => {
    const ended = s({ state: 'Withdrawn', expiresAt: iso(10 * HOUR) });
    expect(isValid(ended, at(0))).to.equal(false);
    expect(isExpired(s({ state: 'Expired', expiresAt: iso(10 * HOUR) }), at(0))).to.equal(true);
    expect(isExpired(s({ state: 'Pending', expiresAt: iso(0) }), at(HOUR))).to.equal(false);
  });

  it('access is active for an approved session until expiresAt, not before its scheduled start', () => {
    const a = s({ state: 'Approved', expiresAt: iso(HOUR) });
    expect(isAccessActive(a, at(HOUR))).to.equal(true);
    expect(isAccessActive(a, at(HOUR + 1))).to.equal(false);
    expect(isAccessActive(s({ state: 'Approved', expiresAt: iso(HOUR) }, { scheduledStartTime: iso(10) }), at(0))).to.equal(false);
    expect(isAccessActive(s({ state: 'WaitingForScheduledTime', expiresAt: iso(HOUR) }), at(0))).to.equal(false);
  });

  it('slots: pending until the deadline, waiting until expiry, approved while valid', () => {
    expect(occupiesSlot(s({ state: 'Pending', timeoutAt: iso(HOUR) }), at(HOUR + 1))).to.equal(false);
    expect(occupiesSlot(s({ state: 'WaitingForScheduledTime', expiresAt: iso(HOUR) }), at(HOUR))).to.equal(true);
    expect(occupiesSlot(s({ state: 'WaitingForScheduledTime', expiresAt: iso(HOUR) }), at(HOUR + 1))).to.equal(false);
    expect(occupiesSlot(s({ state: 'Approved', expiresAt: iso(HOUR) }), at(0))).to.equal(true);
    expect(occupiesSlot(s({ state: 'Expired' }), at(0))).to.equal(false);
  });

  it('retention: only ended sessions past retainedUntil may be deleted', () => {
    expect(isPastRetention(s({ state: 'Expired', retainedUntil: iso(HOUR) }), at(HOUR + 1))).to.equal(true);
    expect(isPastRetention(s({ state: 'Expired', retainedUntil: iso(HOUR) }), at(HOUR))).to.equal(false);
    expect(isPastRetention(s({ state: 'Approved', retainedUntil: iso(0) }), at(HOUR))).to.equal(false);
  });

  it('orphans: ended, no owner, no retainedUntil', () => {
    expect(isOrphan(s({ state: 'Expired' }, {}, false))).to.equal(true);
    expect(isOrphan(s({ state: 'Expired' }, {}, true))).to.equal(false);
    expect(isOrphan(s({ state: 'Expired', retainedUntil: iso(0) }, {}, false))).to.equal(false);
    expect(isOrphan(s({ state: 'Approved' }, {}, false))).to.equal(false);
  });

  it('authorization and approval-link validity', () => {
    expect(isUsableForAuthorization(s({ state: 'Approved', expiresAt: iso(HOUR) }), at(0))).to.equal(true);
    expect(isUsableForAuthorization(s({ state: 'Approved', expiresAt: iso(HOUR) }), at(HOUR))).to.equal(false);
    expect(isUsableForAuthorization(s({ state: 'Approved' }), at(0))).to.equal(false);
    expect(isTokenValid(s({ state: 'Pending', timeoutAt: iso(HOUR) }), at(0))).to.equal(true);
    expect(isTokenValid(s({ state: 'Pending', timeoutAt: iso(HOUR) }), at(HOUR))).to.equal(false);
    expect(isTokenValid(s({ state: 'Rejected' }), at(0))).to.equal(false);
  });

  it('idle: needs an idle timeout and recorded activity, and allows for the time activity takes to be recorded', () => {
    const idle = s({ state: 'Approved', lastActivity: iso(0) }, { idleTimeout: '10m' });
    // A decision a second after the recorded one reaches the status up to 65 s later (a write a
    // minute per session, then the next 5 s flush): until then the session may be in use.
    expect(ACTIVITY_RECORDING_LAG_MS).to.equal(65_000);
    expect(isIdle(idle, at(10 * 60_000))).to.equal(false);
    expect(isIdle(idle, at(10 * 60_000 + 65_000 - 1))).to.equal(false);
    expect(isIdle(idle, at(10 * 60_000 + 65_000))).to.equal(true);
    expect(isIdle(s({ state: 'Approved' }, { idleTimeout: '10m' }), at(HOUR))).to.equal(false);
    expect(isIdle(s({ state: 'Approved', lastActivity: iso(0) }), at(HOUR))).to.equal(false);
  });
});
