import { expect } from 'chai';
import type { BreakglassEscalationSpec, BreakglassSession } from '../../crds/index.ts';
import { escalation, identityProvider } from '../api/testing/fixtures.ts';
import { limitViolation, sessionLimitsFor } from './session-limits.ts';

const NOW = new Date('2026-06-01T12:00:00Z');

function session(user: string, state: string, owner = 'uid-prod-admin', extra: Partial<BreakglassSession['status']> = {}): BreakglassSession {
  return {
    apiVersion: 'breakglass.t-caas.telekom.com/v1alpha1',
    kind: 'BreakglassSession',
    metadata: { name: `${user}-${state}`, namespace: 'breakglass', ownerReferences: [{ apiVersion: 'v1', kind: 'BreakglassEscalation', name: 'x', uid: owner }] },
    spec: { cluster: 'prod-eu', user, grantedGroup: 'cluster-admin' },
    status: { state, timeoutAt: '2026-06-01T13:00:00Z', expiresAt: '2026-06-01T13:00:00Z', ...extra },
  } as BreakglassSession;
}

describe('session limits (reference §8.15)', () => {
  const prodAdmin = (override?: BreakglassEscalationSpec['sessionLimitsOverride']) =>
    escalation('prod-admin', override === undefined ? {} : { sessionLimitsOverride: override });
  const check = (esc: ReturnType<typeof prodAdmin>, sessions: BreakglassSession[], groups: string[] = ['developers'], idp = identityProvider('corp')) =>
    limitViolation({ limits: sessionLimitsFor(esc, groups, idp), escalation: esc, user: 'Alice@example.com', sessions, now: NOW });

  it('an escalation override per user counts the user slot-occupying sessions of every escalation, case-insensitively', () => {
    const esc = prodAdmin({ maxActiveSessionsPerUser: 2 });
    const one = [session('alice@example.com', 'Approved', 'uid-other')];
    expect(check(esc, one)).to.equal(undefined);
    expect(check(esc, [...one, session('ALICE@example.com', 'Pending')])).to.equal(
      'session limit reached: maximum 2 slot-occupying sessions per user allowed (escalation override)',
    );
  });

  it('ended, expired and timed-out sessions hold no slot', () => {
    const esc = prodAdmin({ maxActiveSessionsPerUser: 1 });
    expect(check(esc, [session('alice@example.com', 'Expired'), session('alice@example.com', 'Withdrawn')])).to.equal(undefined);
    expect(check(esc, [session('alice@example.com', 'Approved', 'uid-prod-admin', { expiresAt: '2026-06-01T11:59:00Z' })])).to.equal(undefined);
    expect(check(esc, [session('alice@example.com', 'Pending', 'uid-prod-admin', { timeoutAt: '2026-06-01T11:59:00Z' })])).to.equal(undefined);
  });

  it('an escalation total counts the sessions it owns (by uid), whoever holds them', () => {
    const esc = prodAdmin({ maxActiveSessionsTotal: 2 });
    const sessions = [session('bob@example.com', 'Approved'), session('carol@example.com', 'Approved', 'uid-other')];
    expect(check(esc, sessions)).to.equal(undefined);
    expect(check(esc, [...sessions, session('dave@example.com', 'Pending')])).to.equal(
      'session limit reached: maximum 2 total slot-occupying sessions allowed (escalation override)',
    );
  });

  it('unlimited, or a per-user override, puts the identity provider limits aside; a total alone does not', () => {
    const idp = identityProvider('corp', { sessionLimits: { maxActiveSessionsPerUser: 1 } });
    const mine = [session('alice@example.com', 'Approved', 'uid-other')];
    expect(check(prodAdmin({ unlimited: true, maxActiveSessionsPerUser: 0 }), mine, [], idp)).to.equal(undefined);
    expect(check(prodAdmin({ maxActiveSessionsPerUser: 5 }), mine, [], idp)).to.equal(undefined);
    expect(check(prodAdmin({ maxActiveSessionsTotal: 5 }), mine, [], idp)).to.match(/\(IDP default\)$/);
  });

  it('the first identity provider group override whose glob matches a group wins; without a number the default applies', () => {
    const idp = identityProvider('corp', {
      sessionLimits: {
        maxActiveSessionsPerUser: 1,
        groupOverrides: [
          { group: 'oncall-*', maxActiveSessionsPerUser: 3 },
          { group: 'sre', unlimited: true },
          { group: 'auditors' },
        ],
      },
    });
    const two = [session('alice@example.com', 'Approved', 'uid-a'), session('alice@example.com', 'Approved', 'uid-b')];
    expect(check(prodAdmin(), two, ['sre', 'oncall-db'], idp), 'oncall-* comes first').to.equal(undefined);
    expect(check(prodAdmin(), [...two, session('alice@example.com', 'Pending')], ['oncall-db'], idp)).to.equal(
      'session limit reached: maximum 3 slot-occupying sessions per user allowed (IDP group override (oncall-*))',
    );
    expect(check(prodAdmin(), two, ['sre'], idp)).to.equal(undefined);
    expect(check(prodAdmin(), two, ['auditors'], idp)).to.equal('session limit reached: maximum 1 slot-occupying sessions per user allowed (IDP default)');
    expect(check(prodAdmin(), two, [], identityProvider('corp'))).to.equal(undefined);
  });

  it('a caller-supplied occupancy rule decides what holds a slot (a session under creation)', () => {
    const esc = prodAdmin({ maxActiveSessionsPerUser: 1 });
    const stateless = { ...session('alice@example.com', 'Pending'), status: {} } as BreakglassSession;
    expect(check(esc, [stateless])).to.equal(undefined);
    const limits = sessionLimitsFor(esc, [], undefined);
    expect(limitViolation({ limits, escalation: esc, user: 'alice@example.com', sessions: [stateless], occupies: () => true, now: NOW })).to.match(
      /maximum 1 slot-occupying/,
    );
  });
});
