import { expect } from 'chai';
import { InMemoryLeaseServer, UnreachableError } from './in-memory-lease-store.ts';
import { ConflictError } from '../kube/errors.ts';
import type { LeaderElectionRecord, LeaseSnapshot } from './lease-store.ts';

const record = (holder: string, transitions = 0): LeaderElectionRecord => ({
  holderIdentity: holder,
  leaseDurationSeconds: 15,
  acquireTime: new Date('2030-01-01T00:00:00Z'),
  renewTime: new Date('2030-01-01T00:00:00Z'),
  leaseTransitions: transitions,
});

describe('InMemoryLeaseStore (test double with API-server semantics)', () => {
  it('creates once, then refuses a second create and a stale update with ConflictError', async () => {
    const server = new InMemoryLeaseServer();
    const a = server.client('a');
    const b = server.client('b');
    expect(await a.get()).to.equal(null);
    const created = await a.create(record('a'));
    try {
      await b.create(record('b'));
      expect.fail('second create succeeded');
    } catch (err) {
      expect(err).to.be.instanceOf(ConflictError);
    }
    const updated = await a.update(record('a', 0), created.resourceVersion);
    expect(updated.resourceVersion).to.not.equal(created.resourceVersion);
    try {
      await b.update(record('b', 1), created.resourceVersion);
      expect.fail('stale update succeeded');
    } catch (err) {
      expect(err).to.be.instanceOf(ConflictError);
    }
    expect(server.peek()?.record.holderIdentity).to.equal('a');
  });

  it('reports the current state on watch, then every change; a partitioned client sees nothing until healed', async () => {
    const server = new InMemoryLeaseServer();
    const a = server.client('a');
    const b = server.client('b');
    const seen: Array<string | null> = [];
    const stop = new AbortController();
    b.watch((s: LeaseSnapshot | null) => seen.push(s ? s.record.holderIdentity : null), stop.signal);
    await Promise.resolve();
    const created = await a.create(record('a'));
    await new Promise((r) => setImmediate(r));
    expect(seen).to.deep.equal([null, 'a']);
    b.partition();
    await a.update(record(''), created.resourceVersion);
    await new Promise((r) => setImmediate(r));
    expect(seen).to.deep.equal([null, 'a']);
    try {
      await b.get();
      expect.fail('partitioned get succeeded');
    } catch (err) {
      expect(err).to.be.instanceOf(UnreachableError);
    }
    b.heal();
    await new Promise((r) => setImmediate(r));
    expect(seen).to.deep.equal([null, 'a', '']);
    stop.abort();
  });

  it('a hanging client only returns when its request signal aborts', async () => {
    const server = new InMemoryLeaseServer();
    const a = server.client('a');
    a.hang();
    const controller = new AbortController();
    const pending = a.get({ signal: controller.signal });
    let settled = false;
    pending.then(() => (settled = true), () => (settled = true));
    await new Promise((r) => setImmediate(r));
    expect(settled).to.equal(false);
    controller.abort(new Error('deadline'));
    try {
      await pending;
      expect.fail('hanging request resolved');
    } catch (err) {
      expect((err as Error).message).to.equal('deadline');
    }
  });
});
