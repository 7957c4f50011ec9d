import { expect } from 'chai';
import type { BreakglassEscalation, BreakglassSession, ClusterConfig, DenyPolicy } from '../../crds/index.ts';
import type { CacheChange } from '../kube/restarting-informer.ts';
import { AmbiguousClusterError, CacheNotSyncedError } from './decision.ts';
import { DenyPolicyCache, EscalationCache, InformerClusterDirectory, SessionIndex, requestableBy, type ChangeSource } from './webhook-caches.ts';

class Source<T> implements ChangeSource<T> {
  synced = true;
  items: T[] = [];
  lists = 0;
  private readonly listeners: ((change: CacheChange<T>) => void)[] = [];
  hasSynced = () => this.synced;
  list = (): readonly T[] => {
    this.lists++;
    return this.items;
  };
  subscribe(listener: (change: CacheChange<T>) => void): () => void {
    this.listeners.push(listener);
    return () => {};
  }
  emit(change: CacheChange<T>): void {
    if (change.type === 'add') this.items.push(change.object);
    if (change.type === 'delete') this.items = this.items.filter((i) => i !== change.object);
    for (const l of this.listeners) l(change);
  }
}

const session = (name: string, cluster: string, user: string, rv = '1'): BreakglassSession =>
  ({ metadata: { name, namespace: 'ns', resourceVersion: rv }, spec: { cluster, user, grantedGroup: 'g' } }) as BreakglassSession;

describe('webhook caches', () => {
  it('SessionIndex finds sessions by cluster and user, follows add/update/delete without relisting', () => {
    const source = new Source<BreakglassSession>();
    for (let i = 0; i < 10_000; i++) source.items.push(session(`s${i}`, `c${i % 10}`, `u${i % 1000}`));
    const index = new SessionIndex(source);
    expect(index.forClusterUser('c3', 'u3').map((s) => s.metadata?.name)).to.have.members(['s3', 's1003', 's2003', 's3003', 's4003', 's5003', 's6003', 's7003', 's8003', 's9003']);
    expect(index.forClusterUser('c3', 'u4')).to.deep.equal([]);
    const lists = source.lists;

    const added = session('new', 'c3', 'u4');
    source.emit({ type: 'add', object: added });
    expect(index.forClusterUser('c3', 'u4')).to.deep.equal([added]);
    const updated = session('new', 'c3', 'u4', '2');
    source.emit({ type: 'update', object: updated });
    expect(index.forClusterUser('c3', 'u4')).to.deep.equal([updated]);
    source.emit({ type: 'delete', object: updated });
    expect(index.forClusterUser('c3', 'u4')).to.deep.equal([]);
    expect(source.lists, 'incremental changes need no relist').to.equal(lists);

    source.items = [session('only', 'c3', 'u4')];
    source.emit({ type: 'reset' });
    expect(index.forClusterUser('c3', 'u4').map((s) => s.metadata?.name)).to.deep.equal(['only']);
    expect(index.forClusterUser('c3', 'u3')).to.deep.equal([]);
    expect(index.size()).to.equal(1);
  });

  it('throws CacheNotSyncedError before the first list', () => {
    const sessions = new Source<BreakglassSession>();
    sessions.synced = false;
    expect(() => new SessionIndex(sessions).forClusterUser('c', 'u')).to.throw(CacheNotSyncedError);
    const clusters = new Source<ClusterConfig>();
    clusters.synced = false;
    expect(() => new InformerClusterDirectory(clusters).get('c')).to.throw(CacheNotSyncedError);
    const policies = new Source<DenyPolicy>();
    policies.synced = false;
    expect(() => new DenyPolicyCache(policies).current()).to.throw(CacheNotSyncedError);
  });

  it('ClusterConfig names are unique across namespaces or ambiguous', () => {
    const source = new Source<ClusterConfig>();
    source.items = [{ metadata: { name: 'a', namespace: 'x' }, spec: {} }];
    const directory = new InformerClusterDirectory(source);
    expect(directory.get('a')?.metadata?.namespace).to.equal('x');
    expect(directory.get('b')).to.equal(undefined);
    source.emit({ type: 'add', object: { metadata: { name: 'a', namespace: 'y' }, spec: {} } });
    expect(() => directory.get('a')).to.throw(AmbiguousClusterError);
  });

  it('DenyPolicyCache recompiles once after a change, not per read', () => {
    const source = new Source<DenyPolicy>();
    const cache = new DenyPolicyCache(source);
    const first = cache.current();
    expect(cache.current()).to.equal(first);
    source.emit({ type: 'add', object: { metadata: { name: 'p' }, spec: { rules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['secrets'] }] } } as DenyPolicy });
    const second = cache.current();
    expect(second).to.not.equal(first);
    expect(second.size).to.equal(1);
  });

  it('EscalationCache: requestable by cluster glob and group, owner by controller uid', () => {
    const source = new Source<BreakglassEscalation>();
    const escalation = {
      metadata: { name: 'oncall', namespace: 'ns', uid: 'e1' },
      spec: { escalatedGroup: 'admin', allowed: { clusters: ['prod-*'], groups: ['dev'] }, approvers: { users: ['bob'] } },
    } as BreakglassEscalation;
    const notReady = {
      metadata: { name: 'broken', namespace: 'ns', uid: 'e2' },
      spec: { escalatedGroup: 'root', allowed: { clusters: ['prod-1'], groups: ['dev'] }, approvers: { users: ['bob'] } },
      status: { conditions: [{ type: 'Ready', status: 'False', reason: 'X', message: '', lastTransitionTime: '2026-01-01T00:00:00Z' }] },
    } as BreakglassEscalation;
    source.items = [escalation, notReady];
    const cache = new EscalationCache(source);
    expect(cache.forUser('prod-1', 'alice', ['dev'])).to.deep.equal([{ name: 'oncall', escalatedGroup: 'admin' }]);
    expect(cache.forUser('prod-1', 'alice', ['ops'])).to.deep.equal([]);
    expect(cache.forUser('staging', 'alice', ['dev'])).to.deep.equal([]);
    const owned = { ...session('s', 'prod-1', 'alice'), metadata: { name: 's', ownerReferences: [{ apiVersion: 'v', kind: 'BreakglassEscalation', name: 'oncall', uid: 'e1', controller: true }] } } as BreakglassSession;
    expect(cache.ownerOf(owned)).to.equal(escalation);
  });

  it('EscalationCache: the precompiled matching equals requestableBy for every cluster and group mix, and follows changes', () => {
    const patterns = [['prod-*'], ['prod-1', 'stage-?'], ['*'], [], ['[ps]*-2']];
    const refs = [undefined, ['edge-1'], ['prod-*']];
    const groupSets = [['dev'], ['ops', 'dev'], []];
    const escalations: BreakglassEscalation[] = [];
    let n = 0;
    for (const clusters of patterns) {
      for (const clusterConfigRefs of refs) {
        for (const groups of groupSets) {
          for (const ready of ['True', 'False', undefined]) {
            escalations.push({
              metadata: { name: `e${n}`, namespace: 'ns', uid: `u${n}` },
              spec: { escalatedGroup: `g${n++ % 7}`, allowed: { clusters, groups }, ...(clusterConfigRefs ? { clusterConfigRefs } : {}), approvers: { users: ['bob'] } },
              ...(ready ? { status: { conditions: [{ type: 'Ready', status: ready, reason: 'X', message: '', lastTransitionTime: '2026-01-01T00:00:00Z' }] } } : {}),
            } as BreakglassEscalation);
          }
        }
      }
    }
    const source = new Source<BreakglassEscalation>();
    source.items = [...escalations];
    const cache = new EscalationCache(source);
    const expected = (cluster: string, groups: string[]) =>
      source.items.filter((e) => requestableBy(e, cluster, groups)).map((e) => ({ name: e.metadata?.name, escalatedGroup: e.spec.escalatedGroup }));
    const check = () => {
      for (const cluster of ['prod-1', 'prod-2', 'stage-3', 'edge-1', 'other', 's-2', '']) {
        for (const groups of [['dev'], ['ops'], ['dev', 'ops'], ['nobody'], []]) {
          expect(cache.forUser(cluster, 'alice', groups), `${cluster} ${groups.join(',')}`).to.deep.equal(expected(cluster, groups));
        }
      }
    };
    check();
    expect(cache.forUser('prod-1', 'alice', ['dev']).length).to.be.greaterThan(3);
    // A change is seen on the next read (the memo per cluster is dropped with the compiled set).
    const removed = source.items.find((e) => requestableBy(e, 'prod-1', ['dev'])) as BreakglassEscalation;
    source.emit({ type: 'delete', object: removed });
    source.emit({
      type: 'add',
      object: { metadata: { name: 'late', namespace: 'ns', uid: 'late' }, spec: { escalatedGroup: 'late', allowed: { clusters: ['other'], groups: ['nobody'] }, approvers: { users: ['bob'] } } } as BreakglassEscalation,
    });
    check();
    expect(cache.forUser('other', 'alice', ['nobody'])).to.deep.include({ name: 'late', escalatedGroup: 'late' });
  });
});
