import { expect } from 'chai';
import { formatFieldErrors, validateAdmission, type AdmissionKind } from './index.ts';
import type { ObjectLookup } from './lookup.ts';
import { NOW, admit, clusterConfig, denyPolicy, emptyLookup, errorLines, escalation, identityProvider, lookupWith, session } from './fixtures.test-support.ts';

type Labelled = { kind?: string; metadata?: Record<string, unknown>; spec: Record<string, unknown> };

/** The same object with a new label: what `kubectl label` sends. */
function relabelled<T extends Labelled>(object: T): T {
  return { ...object, metadata: { ...object.metadata, labels: { reviewed: 'yes' } } };
}

/** A lookup that counts cluster-wide name lookups and reports every name as taken elsewhere. */
function countingLookup(base: ObjectLookup = emptyLookup): ObjectLookup & { nameLookups: number } {
  const lookup = {
    ...base,
    nameLookups: 0,
    namespacesWithName: async () => {
      lookup.nameLookups++;
      return ['elsewhere'];
    },
  };
  return lookup;
}

const kinds: AdmissionKind[] = ['BreakglassSession', 'BreakglassEscalation', 'ClusterConfig', 'IdentityProvider', 'DenyPolicy'];

describe('validateAdmission', () => {
  it('always allows DELETE and CONNECT, even of garbage', async () => {
    for (const operation of ['DELETE', 'CONNECT'] as const) {
      const outcome = await validateAdmission({ kind: 'BreakglassEscalation', operation, object: 'garbage' }, emptyLookup, NOW);
      expect(outcome).to.deep.equal({ errors: [], warnings: [] });
    }
  });

  it('answers garbage with field errors instead of throwing', async () => {
    const garbage: unknown[] = [null, 42, 'text', [], {}, { spec: null }, { spec: [] }, { spec: { allowed: 'x' } }, { metadata: 5, spec: {} }];
    for (const kind of kinds) {
      for (const object of garbage) {
        const outcome = await validateAdmission({ kind, operation: 'CREATE', object }, emptyLookup, NOW);
        expect(outcome.errors, `${kind} ${JSON.stringify(object)}`).to.not.be.empty;
        for (const e of outcome.errors) expect(e.message).to.be.a('string').and.not.equal('');
      }
    }
  });

  it('reports every structural error with a dotted path', async () => {
    const object = { ...escalation(), spec: { ...escalation().spec, allowed: { groups: ['developers', 7] }, maxValidFor: 3 } };
    const outcome = await validateAdmission({ kind: 'BreakglassEscalation', operation: 'CREATE', object }, emptyLookup, NOW);
    expect(outcome.errors).to.deep.equal([
      { field: 'spec.allowed.groups[1]', message: 'must be of type string' },
      { field: 'spec.maxValidFor', message: 'must be of type string' },
    ]);
  });

  it('rejects an unknown kind and operation', async () => {
    const kind = await validateAdmission({ kind: 'Pod' as AdmissionKind, operation: 'CREATE', object: {} }, emptyLookup, NOW);
    expect(kind.errors).to.deep.equal([{ field: 'kind', message: 'unsupported kind "Pod"' }]);
  });

  it('uses the request name when the object has only generateName', async () => {
    const object = { ...escalation(), metadata: { generateName: 'prod-', namespace: 'team-a' } };
    const lookup = { ...emptyLookup, namespacesWithName: async () => ['team-b'] };
    const outcome = await validateAdmission({ kind: 'BreakglassEscalation', operation: 'CREATE', object, name: 'prod-x1', namespace: 'team-a' }, lookup, NOW);
    expect(outcome.errors).to.deep.equal([{ field: 'metadata.name', message: 'name must be unique cluster-wide; conflicting namespace=team-b' }]);
  });
});

describe('validateAdmission of an UPDATE', () => {
  it('allows a metadata-only update of a stored object that no longer passes the rules, for every kind', async () => {
    const stale: Labelled[] = [
      escalation({ idleTimeout: '10s', approvers: { users: [] } }),
      clusterConfig({ identityProviderRefs: ['disabled-since'] }),
      identityProvider({ oidc: { authority: 'http://sso.example.com', clientID: 'ui', expectedAudience: 'bg' } }),
      denyPolicy({ rules: [{ verbs: ['  '], apiGroups: [], resources: [] }] }),
      session({ idleTimeout: '30s' }),
    ];
    for (const old of stale) {
      const kind = old.kind as AdmissionKind;
      expect((await admit(kind, old)).errors, `${kind} CREATE`).to.not.be.empty;
      expect((await admit(kind, relabelled(old), { old })).errors, `${kind} UPDATE`).to.deep.equal([]);
    }
  });

  it('checks the names of new objects only: no cluster-wide lookup on UPDATE, even after a spec change', async () => {
    const lookup = countingLookup();
    const old = escalation();
    const changed = { ...old, spec: { ...old.spec, approvalTimeout: '1h' } };
    expect(errorLines(await admit('BreakglassEscalation', old, { lookup }))).to.deep.equal([
      'metadata.name: name must be unique cluster-wide; conflicting namespace=elsewhere',
    ]);
    expect(lookup.nameLookups).to.equal(1);
    expect((await admit('BreakglassEscalation', changed, { old, lookup })).errors).to.deep.equal([]);
    const cluster = clusterConfig();
    expect((await admit('ClusterConfig', { ...cluster, spec: { ...cluster.spec, clusterID: 'prod-1b' } }, { old: cluster, lookup })).errors).to.deep.equal([]);
    expect((await admit('BreakglassSession', relabelled(session()), { old: session(), lookup })).errors).to.deep.equal([]);
    expect(lookup.nameLookups).to.equal(1);
  });

  it('validates the whole new spec again when an update changes it', async () => {
    const old = escalation();
    const broken = { ...old, spec: { ...old.spec, idleTimeout: '10s' } };
    expect(errorLines(await admit('BreakglassEscalation', broken, { old }))).to.deep.equal(['spec.idleTimeout: idleTimeout must be at least 1m']);
    const stale = escalation({ idleTimeout: '10s' });
    const stillBroken = { ...stale, spec: { ...stale.spec, approvalTimeout: '1h' } };
    expect(errorLines(await admit('BreakglassEscalation', stillBroken, { old: stale }))).to.deep.equal([
      'spec.idleTimeout: idleTimeout must be at least 1m',
    ]);
    const idp = identityProvider({}, 'second');
    const lookup = lookupWith({ identityProviders: () => [identityProvider({ issuer: 'https://sso.example.com/realms/other' }), idp] });
    const sameIssuer = { ...idp, spec: { ...idp.spec, issuer: 'https://sso.example.com/realms/other' } };
    expect(errorLines(await admit('IdentityProvider', sameIssuer, { old: idp, lookup }))).to.deep.equal([
      'spec.issuer: issuer must be unique cluster-wide; conflicting IdentityProvider=corp',
    ]);
  });

  it('lets the finalizers of an object being deleted go even when its spec breaks a rule, but checks a spec change', async () => {
    const deleting = (object: Labelled): Labelled => ({
      ...object,
      metadata: { ...object.metadata, deletionTimestamp: '2026-03-01T12:00:00Z', finalizers: ['example.com/hold'] },
    });
    // Admitted before a stricter rule existed: its spec would be refused today.
    const old = deleting(escalation({ idleTimeout: '10s' }));
    const released = { ...old, metadata: { ...old.metadata, finalizers: [] } };
    expect((await admit('BreakglassEscalation', released, { old })).errors).to.deep.equal([]);
    // A terminating object may wait for a foreign finalizer for ever, its spec still in use.
    const edited = { ...old, spec: { ...old.spec, idleTimeout: '1h', allowed: { clusters: ['prod-['], groups: ['developers'] } } };
    expect(errorLines(await admit('BreakglassEscalation', edited, { old }))).to.deep.equal([
      'spec.allowed.clusters[0]: "prod-[" is not a valid glob pattern: it has an unterminated or malformed character class',
    ]);
  });

  it('refuses an UPDATE that carries no old object instead of guessing', async () => {
    const outcome = await validateAdmission({ kind: 'DenyPolicy', operation: 'UPDATE', object: denyPolicy() }, emptyLookup, NOW);
    expect(outcome.errors).to.deep.equal([{ field: 'oldObject', message: 'an UPDATE must carry the old object' }]);
  });
});

describe('formatFieldErrors', () => {
  it('lists every error as "<field>: <message>"', () => {
    const text = formatFieldErrors('BreakglassEscalation', 'prod-admin', [
      { field: 'spec.approvers', message: 'at least one approver user or group must be specified' },
      { field: 'spec.approvalTimeout', message: 'approvalTimeout (2h) must be less than or equal to maxValidFor (1h)' },
    ]);
    expect(text).to.equal(
      'BreakglassEscalation "prod-admin" is invalid: spec.approvers: at least one approver user or group must be specified; ' +
        'spec.approvalTimeout: approvalTimeout (2h) must be less than or equal to maxValidFor (1h)',
    );
  });
});
