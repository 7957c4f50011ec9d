import { expect } from 'chai';
import type { BreakglassEscalation } from '../api-types.ts';
import { escalationOptions, knownClusters, preselectedOption } from './escalation-options.ts';

function escalation(name: string, spec: Partial<BreakglassEscalation['spec']> & { escalatedGroup: string }): BreakglassEscalation {
  return {
    apiVersion: 'breakglass.t-caas.telekom.com/v1alpha1',
    kind: 'BreakglassEscalation',
    metadata: { name, namespace: 'default' },
    spec: { allowed: { clusters: [], groups: ['developers'] }, approvers: { users: ['bob@example.com'] }, ...spec },
  } as BreakglassEscalation;
}

describe('ui escalation options', () => {
  const admin = escalation('admin', {
    escalatedGroup: 'cluster-admin',
    allowed: { clusters: ['prod-1', 'prod-2'], groups: ['developers'] },
    maxValidFor: '2h',
    requestReason: { mandatory: true, description: 'ticket number' },
  });
  const viewer = escalation('viewer', { escalatedGroup: 'viewer', allowed: { clusters: ['prod-*'], groups: ['developers'] } });
  const ops = escalation('ops', { escalatedGroup: 'ops', allowed: { clusters: ['staging'], groups: ['developers'] }, clusterConfigRefs: ['prod-1'] });

  it('lists named clusters only while no cluster is typed', () => {
    const options = escalationOptions([admin, viewer, ops], '');
    expect(options.map((o) => o.label)).to.deep.equal(['cluster-admin on prod-1', 'ops on prod-1', 'cluster-admin on prod-2', 'ops on staging']);
  });

  it('offers every escalation whose cluster names or globs match the typed cluster, under that name', () => {
    const options = escalationOptions([admin, viewer, ops], 'prod-1');
    expect(options.map((o) => o.label)).to.deep.equal(['cluster-admin on prod-1', 'ops on prod-1', 'viewer on prod-1']);
    expect(escalationOptions([admin, viewer, ops], 'prod-9').map((o) => o.label)).to.deep.equal(['viewer on prod-9']);
    expect(escalationOptions([admin, viewer, ops], 'dev')).to.deep.equal([]);
    // A glob does not cross "/" (Go path.Match), and surrounding blanks are ignored.
    expect(escalationOptions([viewer], 'prod-a/b')).to.deep.equal([]);
    expect(escalationOptions([viewer], ' prod-3 ').map((o) => o.cluster)).to.deep.equal(['prod-3']);
  });

  it('carries the reason rule and the maximum duration (default 1h)', () => {
    const [adminOption] = escalationOptions([admin], 'prod-1');
    expect(adminOption).to.include({ reasonMandatory: true, reasonDescription: 'ticket number', maxValidForMs: 2 * 3_600_000 });
    const [viewerOption] = escalationOptions([viewer], 'prod-1');
    expect(viewerOption).to.include({ reasonMandatory: false, maxValidForMs: 3_600_000 });
    expect(viewerOption?.reasonDescription).to.equal(undefined);
  });

  it('merges escalations of the same group and cluster strictly', () => {
    const lax = escalation('admin-lax', { escalatedGroup: 'cluster-admin', allowed: { clusters: ['prod-*'], groups: ['developers'] }, maxValidFor: '30m' });
    const options = escalationOptions([lax, admin], 'prod-1');
    expect(options).to.have.length(1);
    expect(options[0]).to.include({ reasonMandatory: true, maxValidForMs: 30 * 60_000, reasonDescription: 'ticket number' });
  });

  it('pre-selects the deny link group on its cluster, else a single option, else nothing', () => {
    const options = escalationOptions([admin, viewer, ops], 'prod-1');
    expect(preselectedOption(options, 'viewer', 'prod-1')?.label).to.equal('viewer on prod-1');
    expect(preselectedOption(options, 'viewer', undefined)?.label).to.equal('viewer on prod-1');
    expect(preselectedOption(options, 'nope', 'prod-1')).to.equal(undefined);
    expect(preselectedOption(options, undefined, 'prod-1')).to.equal(undefined);
    expect(preselectedOption(escalationOptions([viewer], 'prod-4'), undefined, 'prod-4')?.label).to.equal('viewer on prod-4');
    expect(preselectedOption(options, 'cluster-admin', 'prod-2')).to.equal(undefined);
  });

  it('suggests the clusters the escalations name', () => {
    expect(knownClusters([admin, viewer, ops])).to.deep.equal(['prod-1', 'prod-2', 'staging']);
  });
});
