import { expect } from 'chai';
import { isValidStateTransition } from './session.ts';
import { NOW, admit, errorLines, escalation, identityProvider, lookupWith, session } from './fixtures.test-support.ts';
import type { BreakglassSession } from '../breakglass-session.ts';

const inMinutes = (minutes: number): string => new Date(NOW.getTime() + minutes * 60_000).toISOString();

function withStatus(base: BreakglassSession, status: BreakglassSession['status']): BreakglassSession {
  return { ...base, status };
}

describe('BreakglassSession admission', () => {
  describe('CREATE', () => {
    it('accepts a plain session', async () => {
      expect((await admit('BreakglassSession', session())).errors).to.deep.equal([]);
    });

    it('rejects blank cluster, user and grantedGroup', async () => {
      const outcome = await admit('BreakglassSession', session({ cluster: ' ', user: ' ', grantedGroup: ' ' }));
      expect(errorLines(outcome)).to.include.members([
        'spec.cluster: cluster is required',
        'spec.user: user is required',
        'spec.grantedGroup: grantedGroup is required',
      ]);
    });

    it('rejects a user identifier with invalid characters', async () => {
      const outcome = await admit('BreakglassSession', session({ user: 'jane doe<script>' }));
      expect(errorLines(outcome)).to.deep.equal(['spec.user: "jane doe<script>" contains invalid characters']);
    });

    it('rejects an idle timeout below one minute or above maxValidFor', async () => {
      expect(errorLines(await admit('BreakglassSession', session({ idleTimeout: '59s' })))).to.deep.equal([
        'spec.idleTimeout: idleTimeout must be at least 1m',
      ]);
      expect(errorLines(await admit('BreakglassSession', session({ maxValidFor: '1h', idleTimeout: '2h' })))).to.deep.equal([
        'spec.idleTimeout: idleTimeout (2h) must not exceed maxValidFor (1h)',
      ]);
    });

    it('rejects a scheduled start in the past or less than 5 minutes ahead', async () => {
      expect(errorLines(await admit('BreakglassSession', session({ scheduledStartTime: inMinutes(-1) })))).to.deep.equal([
        'spec.scheduledStartTime: scheduledStartTime must be in the future',
      ]);
      expect(errorLines(await admit('BreakglassSession', session({ scheduledStartTime: inMinutes(4) })))).to.deep.equal([
        'spec.scheduledStartTime: scheduledStartTime must be at least 5 minutes in the future',
      ]);
      expect((await admit('BreakglassSession', session({ scheduledStartTime: inMinutes(6) }))).errors).to.deep.equal([]);
    });

    it('rejects a name that exists in another namespace', async () => {
      const lookup = lookupWith({ sessions: () => [{ metadata: { name: 'prod-1-prod-admin-abc', namespace: 'team-b' } }] });
      const outcome = await admit('BreakglassSession', session(), { lookup });
      expect(errorLines(outcome)).to.deep.equal(['metadata.name: name must be unique cluster-wide; conflicting namespace=team-b']);
    });

    it('fails closed when the uniqueness lookup fails', async () => {
      const lookup = {
        namespacesWithName: () => Promise.reject(new Error('cache not synced')),
        listIdentityProviders: () => Promise.resolve([]),
        listEscalations: () => Promise.resolve([]),
      };
      const outcome = await admit('BreakglassSession', session(), { lookup });
      expect(errorLines(outcome)).to.deep.equal(['metadata.name: could not check that the name is unique cluster-wide: cache not synced']);
    });

    describe('identity provider', () => {
      const idp = identityProvider();

      it('must exist and be enabled', async () => {
        const missing = await admit('BreakglassSession', session({ identityProviderName: 'corp' }));
        expect(errorLines(missing)).to.deep.equal(['spec.identityProviderName: IdentityProvider "corp" not found']);
        const disabled = lookupWith({ identityProviders: () => [identityProvider({ disabled: true })] });
        expect(errorLines(await admit('BreakglassSession', session({ identityProviderName: 'corp' }), { lookup: disabled }))).to.deep.equal([
          'spec.identityProviderName: referenced IdentityProvider is disabled',
        ]);
      });

      it('must match the recorded issuer (trailing slash ignored)', async () => {
        const lookup = lookupWith({ identityProviders: () => [idp] });
        const ok = await admit(
          'BreakglassSession',
          session({ identityProviderName: 'corp', identityProviderIssuer: 'https://sso.example.com/realms/corp/' }),
          { lookup },
        );
        expect(ok.errors).to.deep.equal([]);
        const wrong = await admit(
          'BreakglassSession',
          session({ identityProviderName: 'corp', identityProviderIssuer: 'https://evil.example.com' }),
          { lookup },
        );
        expect(errorLines(wrong)).to.deep.equal([
          'spec.identityProviderIssuer: issuer does not match IdentityProvider corp (expected https://sso.example.com/realms/corp)',
        ]);
      });

      it('must be allowed by the escalations granting the group on the cluster', async () => {
        const restricted = escalation({ allowedIdentityProviders: ['partner'] });
        const lookup = lookupWith({ identityProviders: () => [idp], escalations: () => [restricted] });
        const outcome = await admit('BreakglassSession', session({ identityProviderName: 'corp' }), { lookup });
        expect(errorLines(outcome)).to.deep.equal([
          'spec.identityProviderName: IdentityProvider "corp" is not allowed by escalation "prod-admin" (allowed IDPs: partner)',
        ]);
        const open = lookupWith({ identityProviders: () => [idp], escalations: () => [restricted, escalation({}, 'open')] });
        expect((await admit('BreakglassSession', session({ identityProviderName: 'corp' }), { lookup: open })).errors).to.deep.equal([]);
        const otherCluster = lookupWith({ identityProviders: () => [idp], escalations: () => [escalation({ allowed: { clusters: ['dev-*'], groups: ['developers'] }, allowedIdentityProviders: ['partner'] })] });
        expect((await admit('BreakglassSession', session({ identityProviderName: 'corp' }), { lookup: otherCluster })).errors).to.deep.equal([]);
      });
    });
  });

  describe('UPDATE', () => {
    const old = withStatus(session(), { state: 'Pending', activityCount: 3, lastActivity: '2026-03-01T11:00:00Z' });

    it('allows metadata changes with an unchanged spec', async () => {
      const updated = { ...old, metadata: { ...old.metadata, labels: { team: 'a' } } };
      expect((await admit('BreakglassSession', updated, { old })).errors).to.deep.equal([]);
    });

    it('rejects any spec change', async () => {
      const updated = { ...old, spec: { ...old.spec, grantedGroup: 'cluster-admin' } };
      expect(errorLines(await admit('BreakglassSession', updated, { old }))).to.deep.equal(['spec: spec is immutable']);
    });

    it('does not apply create-only rules such as the scheduled start to updates', async () => {
      const scheduled = withStatus(session({ scheduledStartTime: inMinutes(-60) }), { state: 'Approved' });
      expect((await admit('BreakglassSession', scheduled, { old: scheduled })).errors).to.deep.equal([]);
    });

    it('allows the transitions of the state machine and rejects the rest', async () => {
      const approved = withStatus(old, { ...old.status, state: 'Approved' });
      expect((await admit('BreakglassSession', approved, { old })).errors).to.deep.equal([]);
      const back = withStatus(old, { ...old.status, state: 'Pending' });
      expect(errorLines(await admit('BreakglassSession', back, { old: approved }))).to.deep.equal([
        'status.state: invalid state transition from "Approved" to "Pending"',
      ]);
    });

    it('rejects a decreasing activityCount and a lastActivity that is cleared or moves back', async () => {
      const fewer = withStatus(old, { ...old.status, activityCount: 2 });
      expect(errorLines(await admit('BreakglassSession', fewer, { old }))).to.deep.equal([
        'status.activityCount: activityCount must not decrease (from 3 to 2)',
      ]);
      const cleared = withStatus(old, { state: 'Pending', activityCount: 3 });
      expect(errorLines(await admit('BreakglassSession', cleared, { old }))).to.deep.equal(['status.lastActivity: lastActivity must not be cleared']);
      const earlier = withStatus(old, { ...old.status, lastActivity: '2026-03-01T10:00:00Z' });
      expect(errorLines(await admit('BreakglassSession', earlier, { old }))).to.deep.equal([
        'status.lastActivity: lastActivity must not move backwards (from 2026-03-01T11:00:00Z to 2026-03-01T10:00:00Z)',
      ]);
    });
  });

  describe('isValidStateTransition', () => {
    it('follows the admission table of the reference', () => {
      expect(isValidStateTransition(undefined, 'Pending')).to.equal(true);
      expect(isValidStateTransition('Pending', 'WaitingForScheduledTime')).to.equal(true);
      expect(isValidStateTransition('WaitingForScheduledTime', 'Expired')).to.equal(true);
      expect(isValidStateTransition('Approved', 'IdleExpired')).to.equal(true);
      expect(isValidStateTransition('Expired', 'Expired')).to.equal(true);
      expect(isValidStateTransition('Pending', 'Expired')).to.equal(false);
      expect(isValidStateTransition('Rejected', 'Approved')).to.equal(false);
      expect(isValidStateTransition('Approved', '')).to.equal(false);
      expect(isValidStateTransition(undefined, 'Approved')).to.equal(false);
    });
  });
});
