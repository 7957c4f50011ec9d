import { expect } from 'chai';
import type { BreakglassSession } from '../../crds/index.ts';
import { duplicateGroups } from './duplicate-groups.ts';

function session(name: string, cluster: string, user: string, grantedGroup: string): BreakglassSession {
  return { apiVersion: 'v1', kind: 'BreakglassSession', metadata: { name }, spec: { cluster, user, grantedGroup } } as BreakglassSession;
}

const names = (groups: BreakglassSession[][]): string[][] => groups.map((g) => g.map((s) => s.metadata?.name ?? ''));

describe('duplicateGroups (cleanup step 4)', () => {
  it('groups equal (cluster, user, grantedGroup), by first member, members in list order; singles are no group', () => {
    const sessions = [
      session('z1', 'prod', 'zoe', 'admin'),
      session('a1', 'prod', 'al', 'admin'),
      session('single', 'prod', 'bo', 'admin'),
      session('z2', 'prod', 'zoe', 'admin'),
      session('a2', 'prod', 'al', 'admin'),
      session('z3', 'prod', 'zoe', 'admin'),
    ];
    expect(names(duplicateGroups(sessions))).to.deep.equal([
      ['z1', 'z2', 'z3'],
      ['a1', 'a2'],
    ]);
  });

  it('sessions differing in any one of cluster, user or group are not duplicates', () => {
    const sessions = [
      session('base', 'prod', 'al', 'admin'),
      session('cluster', 'dev', 'al', 'admin'),
      session('user', 'prod', 'bo', 'admin'),
      session('group', 'prod', 'al', 'view'),
      // A separator inside a field must not make two different triples equal.
      session('joined-1', 'a\u0000b', 'c', 'd'),
      session('joined-2', 'a', 'b\u0000c', 'd'),
    ];
    expect(duplicateGroups(sessions)).to.deep.equal([]);
  });

  it('an empty list has no groups', () => {
    expect(duplicateGroups([])).to.deep.equal([]);
  });
});
