import { expect } from 'chai';
import type { BreakglassSession } from '../../crds/index.ts';
import { InMemorySessionRepository } from '../sessions/in-memory-session-repository.ts';
import { SessionActivityWriter } from './activity-writer.ts';
import type { ActivityWrite } from './activity.ts';

const T = Date.parse('2030-01-01T00:00:00Z');

function approved(status: Partial<NonNullable<BreakglassSession['status']>> = {}): BreakglassSession {
  return {
    metadata: { name: 's1', namespace: 'team' },
    spec: { cluster: 'prod', user: 'alice', grantedGroup: 'ops' },
    status: { state: 'Approved', expiresAt: '2030-01-01T01:00:00Z', ...status },
  };
}

function activity(stored: BreakglassSession, overrides: Partial<ActivityWrite> = {}): ActivityWrite {
  return {
    namespace: 'team',
    name: 's1',
    uid: stored.metadata?.uid ?? '',
    resourceVersion: stored.metadata?.resourceVersion ?? '',
    lastActivity: new Date(T + 30_000),
    increment: 3,
    attemptedAt: new Date(T + 30_000),
    ...overrides,
  };
}

describe('SessionActivityWriter', () => {
  it('adds the count and sets lastActivity on the live object, with its resourceVersion', async () => {
    const repo = new InMemorySessionRepository();
    const stored = repo.put(approved({ activityCount: 4, lastActivity: '2029-12-31T23:58:10Z' }));
    repo.modify('team', 's1', (s) => (s.metadata = { ...s.metadata, labels: { changed: 'yes' } })); // informer copy now stale
    expect(await new SessionActivityWriter(repo).writeActivity(activity(stored))).to.equal('written');
    const status = repo.get('team', 's1')?.status;
    expect([status?.lastActivity, status?.activityCount, status?.state]).to.deep.equal(['2030-01-01T00:00:30Z', 7, 'Approved']);
  });

  it('defers when the live session already holds activity within the interval (another replica wrote it after this one\'s informer copy)', async () => {
    const repo = new InMemorySessionRepository();
    const stored = repo.put(approved({ activityCount: 4 }));
    // Replica A wrote 50 ms before this replica's write; this replica's informer has not seen it.
    repo.modify('team', 's1', (s) => (s.status = { ...s.status, lastActivity: '2030-01-01T00:00:29Z', activityCount: 5 }));
    const writes = repo.writes.length;
    expect(await new SessionActivityWriter(repo).write(activity(stored))).to.equal('deferred');
    expect(repo.writes, 'one write per session per interval across replicas').to.have.length(writes);
    expect(repo.get('team', 's1')?.status?.activityCount).to.equal(5);
    expect(await new SessionActivityWriter(repo, { intervalMs: 1000 }).write(activity(stored)), 'a shorter interval has passed').to.equal(undefined);
  });

  it('writes a decision counted just after its own last write once the interval has passed since, though no decision came after it', async () => {
    const repo = new InMemorySessionRepository();
    const stored = repo.put(approved({ activityCount: 1, lastActivity: '2030-01-01T00:00:00Z' }));
    // Its decision came 10 s after that write; traffic stopped; the attempt is a minute after the write.
    const late = activity(stored, { lastActivity: new Date(T + 10_000), increment: 2, attemptedAt: new Date(T + 60_000) });
    expect(await new SessionActivityWriter(repo).writeActivity(late)).to.equal('written');
    const status = repo.get('team', 's1')?.status;
    expect([status?.lastActivity, status?.activityCount]).to.deep.equal(['2030-01-01T00:00:10Z', 3]);
  });

  it('never moves lastActivity backwards', async () => {
    const repo = new InMemorySessionRepository();
    const stored = repo.put(approved({ lastActivity: '2030-01-01T00:05:00Z' }));
    await new SessionActivityWriter(repo).writeActivity(activity(stored));
    expect(repo.get('team', 's1')?.status?.lastActivity).to.equal('2030-01-01T00:05:00Z');
  });

  it('skips sessions that ended, were deleted or replaced', async () => {
    const repo = new InMemorySessionRepository();
    const writer = new SessionActivityWriter(repo);
    const stored = repo.put(approved());
    repo.modify('team', 's1', (s) => (s.status = { ...s.status, state: 'Withdrawn' }));
    expect(await writer.writeActivity(activity(stored))).to.equal('ended');
    repo.remove('team', 's1');
    expect(await writer.writeActivity(activity(stored))).to.equal('gone');
    const replaced = repo.put(approved());
    expect(await writer.writeActivity(activity(stored))).to.equal('gone');
    expect(replaced.metadata?.uid).to.not.equal(stored.metadata?.uid);
    expect(repo.writes).to.have.length(0);
  });

  it('fails rather than overwrite a transition that raced it', async () => {
    const repo = new InMemorySessionRepository();
    const stored = repo.put(approved());
    repo.beforeWrite = (namespace, name) => {
      repo.beforeWrite = undefined;
      repo.modify(namespace, name, (s) => (s.status = { ...s.status, state: 'Expired' }));
    };
    let failed = false;
    await new SessionActivityWriter(repo).write(activity(stored)).catch(() => (failed = true));
    expect(failed).to.equal(true);
    expect(repo.get('team', 's1')?.status?.state).to.equal('Expired');
  });
});
