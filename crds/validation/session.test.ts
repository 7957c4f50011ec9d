import { expect } from 'chai';
import { NOW, admit, emptyLookup, errorLines, escalation, identityProvider, lookupWith, session } from './fixtures.test-support.ts';
import type { BreakglassSession } from '../breakglass-session.ts';
import { REQUESTER_EMAIL_ANNOTATION } from '../index.ts';

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

    it('rejects a duration beyond the Go maximum, naming the field', async () => {
      expect(errorLines(await admit('BreakglassSession', session({ maxValidFor: '99999999999h' })))).to.deep.equal([
        'spec.maxValidFor: duration "99999999999h" exceeds the maximum of 2562047h47m16.854775807s',
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
    const relabelled = (base: BreakglassSession): BreakglassSession => ({ ...base, metadata: { ...base.metadata, labels: { team: 'a' } } });

    it('allows metadata changes with an unchanged spec', async () => {
      expect((await admit('BreakglassSession', relabelled(old), { old })).errors).to.deep.equal([]);
    });

    it('rejects any spec change', async () => {
      const updated = { ...old, spec: { ...old.spec, grantedGroup: 'cluster-admin' } };
      expect(errorLines(await admit('BreakglassSession', updated, { old }))).to.deep.equal(['spec: spec is immutable']);
    });

    it('rejects changing or removing the requester email recorded at creation, and allows other annotations', async () => {
      const key = REQUESTER_EMAIL_ANNOTATION;
      const recorded = { ...old, metadata: { ...old.metadata, annotations: { [key]: 'alice@example.com' } } };
      const withAnnotations = (annotations: Record<string, string>) => ({ ...recorded, metadata: { ...recorded.metadata, annotations } });
      const field = `metadata.annotations[${key}]: is recorded at creation and cannot be changed or removed`;
      expect(errorLines(await admit('BreakglassSession', withAnnotations({ [key]: 'mallory@example.com' }), { old: recorded }))).to.deep.equal([field]);
      expect(errorLines(await admit('BreakglassSession', withAnnotations({}), { old: recorded }))).to.deep.equal([field]);
      expect((await admit('BreakglassSession', withAnnotations({ [key]: 'alice@example.com', note: 'reviewed' }), { old: recorded })).errors).to.deep.equal([]);
    });

    it('does not re-apply create-time rules: a past scheduled start or a since-tightened field rule', async () => {
      const scheduled = withStatus(session({ scheduledStartTime: inMinutes(-60) }), { state: 'Approved' });
      expect((await admit('BreakglassSession', relabelled(scheduled), { old: scheduled })).errors).to.deep.equal([]);
      const shortIdle = session({ idleTimeout: '30s', identityProviderName: 'gone' });
      expect((await admit('BreakglassSession', relabelled(shortIdle), { old: shortIdle })).errors).to.deep.equal([]);
    });

    it('allows an update while a duplicate name exists elsewhere, without a cluster-wide lookup', async () => {
      let lookups = 0;
      const lookup = {
        ...emptyLookup,
        namespacesWithName: async () => {
          lookups++;
          return ['team-b'];
        },
      };
      expect((await admit('BreakglassSession', relabelled(old), { old, lookup })).errors).to.deep.equal([]);
      expect(lookups).to.equal(0);
    });

    it('lets the finalizers of a session being deleted go, and still refuses a spec change then', async () => {
      const deleting = { ...old, metadata: { ...old.metadata, deletionTimestamp: '2026-03-01T12:00:00Z', finalizers: ['breakglass/cleanup'] } };
      const released = { ...deleting, metadata: { ...deleting.metadata, finalizers: [] } };
      expect((await admit('BreakglassSession', released, { old: deleting })).errors).to.deep.equal([]);
      const edited = { ...released, spec: { ...old.spec, cluster: 'changed' } };
      expect((await admit('BreakglassSession', edited, { old: deleting })).errors).to.not.deep.equal([]);
    });
  });
});
