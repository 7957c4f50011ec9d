import { expect } from 'chai';
import type { BreakglassEscalation } from '../../crds/index.ts';
import { findCondition } from '../sessions/conditions.ts';
import { approverGroups, computeGroupSyncStatus, MEMBERS_RESOLVED, type GroupResult } from './group-sync-status.ts';

const now = new Date('2026-12-01T10:00:00Z');

function escalation(groups: string[], status?: BreakglassEscalation['status']): BreakglassEscalation {
  return {
    metadata: { name: 'e', namespace: 'hub', generation: 3 },
    spec: { escalatedGroup: 'admin', allowed: {}, approvers: { groups } },
    ...(status ? { status } : {}),
  };
}

function results(table: Record<string, GroupResult>): (idp: string, group: string) => GroupResult {
  return (idp, group) => table[`${idp}/${group}`] ?? { kind: 'error', reason: 'Unreachable', message: 'down' };
}

describe('computeGroupSyncStatus', () => {
  it('unions members across identity providers and keeps the per-provider view', () => {
    const outcome = computeGroupSyncStatus({
      escalation: escalation(['sre']),
      identityProviders: ['a', 'b'],
      result: results({ 'a/sre': { kind: 'members', members: ['Bob@x.io', 'carol@x.io'] }, 'b/sre': { kind: 'members', members: ['bob@x.io', ' dave@x.io '] } }),
      now,
    });
    expect(outcome.status.approverGroupMembers).to.deep.equal({ sre: ['bob@x.io', 'carol@x.io', 'dave@x.io'] });
    expect(outcome.status.idpGroupMemberships).to.deep.equal({ a: { sre: ['bob@x.io', 'carol@x.io'] }, b: { sre: ['bob@x.io', 'dave@x.io'] } });
    expect(outcome.condition).to.include({ status: 'True', reason: 'GroupMembersResolved' });
    expect(findCondition(outcome.status.conditions, MEMBERS_RESOLVED)).to.include({ observedGeneration: 3, lastTransitionTime: '2026-12-01T10:00:00Z' });
    expect(outcome.changed).to.equal(true);
  });

  it('a group missing in one realm but present in another is fine; missing everywhere is GroupNotFound', () => {
    const partial = computeGroupSyncStatus({
      escalation: escalation(['sre']),
      identityProviders: ['a', 'b'],
      result: results({ 'a/sre': { kind: 'members', members: ['bob@x.io'] }, 'b/sre': { kind: 'notFound' } }),
      now,
    });
    expect(partial.condition.reason).to.equal('GroupMembersResolved');
    const missing = computeGroupSyncStatus({
      escalation: escalation(['sre']),
      identityProviders: ['a'],
      result: results({ 'a/sre': { kind: 'notFound' } }),
      now,
    });
    expect(missing.condition).to.include({ status: 'False', reason: 'GroupNotFound' });
    expect(missing.status.approverGroupMembers).to.deep.equal({ sre: [] });
  });

  it('on a failure keeps the last known members of that provider; a never-resolved group gets no entry', () => {
    const previous = { idpGroupMemberships: { a: { sre: ['bob@x.io'] } }, approverGroupMembers: { sre: ['bob@x.io'] } };
    const outcome = computeGroupSyncStatus({
      escalation: escalation(['sre', 'auditors'], previous),
      identityProviders: ['a'],
      result: results({}),
      now,
    });
    expect(outcome.status.approverGroupMembers).to.deep.equal({ sre: ['bob@x.io'] });
    expect(outcome.condition).to.include({ status: 'False', reason: 'GroupSyncFailed' });
    expect(outcome.condition.message).to.include('Kept last known members of: sre.');
  });

  it('some lookups failing is GroupSyncPartialFailure', () => {
    const outcome = computeGroupSyncStatus({
      escalation: escalation(['sre', 'auditors']),
      identityProviders: ['a'],
      result: results({ 'a/sre': { kind: 'members', members: [] } }),
      now,
    });
    expect(outcome.condition).to.include({ status: 'False', reason: 'GroupSyncPartialFailure' });
  });

  it('a group without members is True GroupMembersEmpty, naming the group', () => {
    const outcome = computeGroupSyncStatus({
      escalation: escalation(['sre', 'auditors']),
      identityProviders: ['a'],
      result: results({ 'a/sre': { kind: 'members', members: ['bob@x.io'] }, 'a/auditors': { kind: 'members', members: [] } }),
      now,
    });
    expect(outcome.condition).to.include({ status: 'True', reason: 'GroupMembersEmpty' });
    expect(outcome.condition.message).to.include('Groups without members: auditors.');
  });

  it('reports no change when the stored status already says the same, in any key order', () => {
    const first = computeGroupSyncStatus({
      escalation: escalation(['b', 'a']),
      identityProviders: ['x'],
      result: results({ 'x/a': { kind: 'members', members: ['u1'] }, 'x/b': { kind: 'members', members: ['u2'] } }),
      now,
    });
    const stored = JSON.parse(JSON.stringify(first.status)) as BreakglassEscalation['status'];
    const again = computeGroupSyncStatus({
      escalation: escalation(['a', 'b'], stored),
      identityProviders: ['x'],
      result: results({ 'x/a': { kind: 'members', members: ['u1'] }, 'x/b': { kind: 'members', members: ['u2'] } }),
      now: new Date(now.getTime() + 60_000),
    });
    expect(again.changed).to.equal(false);
  });

  it('approverGroups trims, drops empties and duplicates', () => {
    expect(approverGroups(escalation([' sre ', '', 'sre', 'ops']))).to.deep.equal(['sre', 'ops']);
  });
});
