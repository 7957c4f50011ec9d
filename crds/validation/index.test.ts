import { expect } from 'chai';
import { formatFieldErrors, validateAdmission, type AdmissionKind } from './index.ts';
import { NOW, emptyLookup, escalation } from './fixtures.test-support.ts';

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
