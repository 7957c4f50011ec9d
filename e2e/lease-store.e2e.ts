/**
 * KubernetesLeaseStore against a real API server: resourceVersion preconditions, MicroTime
 * round trips, the watch, and request timeouts against a server that never answers.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { expect } from 'chai';
import { CoordinationV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { testCluster } from './harness/cluster.ts';
import { KubernetesLeaseStore } from '../controller/leadership/kubernetes-lease-store.ts';
import { ConflictError } from '../controller/kube/errors.ts';
import type { LeaderElectionRecord, LeaseSnapshot } from '../controller/leadership/lease-store.ts';

function record(holder: string, overrides: Partial<LeaderElectionRecord> = {}): LeaderElectionRecord {
  const now = new Date();
  return { holderIdentity: holder, leaseDurationSeconds: 15, acquireTime: now, renewTime: now, leaseTransitions: 0, ...overrides };
}

async function expectConflict(promise: Promise<unknown>): Promise<void> {
  try {
    await promise;
  } catch (err) {
    expect(err, String(err)).to.be.instanceOf(ConflictError);
    return;
  }
  expect.fail('expected a ConflictError, but the request succeeded');
}

async function eventually(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) expect.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('KubernetesLeaseStore on a real API server', () => {
  let namespace: string;
  before(async () => {
    namespace = await testCluster().createNamespace('le');
  });

  it('creates, reads and updates a Lease; a stale resourceVersion or a second create is a ConflictError', async () => {
    const kc = testCluster().admin.kubeConfig;
    const a = new KubernetesLeaseStore(kc, { namespace, name: 'store-crud', labels: { app: 'breakglass' } });
    const b = new KubernetesLeaseStore(kc, { namespace, name: 'store-crud' });
    expect(await a.get()).to.equal(null);

    const acquired = new Date(Date.UTC(2030, 0, 2, 3, 4, 5, 678));
    const created = await a.create(record('replica-a', { acquireTime: acquired, renewTime: acquired, leaseTransitions: 2 }));
    expect(created.record).to.deep.equal({
      holderIdentity: 'replica-a',
      leaseDurationSeconds: 15,
      acquireTime: acquired,
      renewTime: acquired,
      leaseTransitions: 2,
    });
    await expectConflict(b.create(record('replica-b')));

    const read = await b.get();
    expect(read?.raw).to.equal(created.raw);
    expect(read?.resourceVersion).to.equal(created.resourceVersion);

    const renewed = await a.update(record('replica-a', { acquireTime: acquired, leaseTransitions: 2 }), created.resourceVersion);
    expect(renewed.resourceVersion).to.not.equal(created.resourceVersion);
    expect(renewed.raw).to.not.equal(created.raw);
    await expectConflict(b.update(record('replica-b', { leaseTransitions: 3 }), created.resourceVersion));
    expect((await a.get())?.record.holderIdentity).to.equal('replica-a');

    // The stored object, as kubectl sees it: MicroTime with microseconds, labels from create.
    const lease = await kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ name: 'store-crud', namespace });
    expect(lease.metadata?.labels).to.deep.equal({ app: 'breakglass' });
    const json = await testCluster().kubectl(['get', 'lease', 'store-crud', '-n', namespace, '-o', 'json']);
    expect(json.code, json.stderr).to.equal(0);
    expect(JSON.parse(json.stdout).spec.acquireTime).to.equal('2030-01-02T03:04:05.678000Z');
  });

  it('keeps fields it does not manage when it updates (labels, annotations)', async () => {
    const kc = testCluster().admin.kubeConfig;
    const store = new KubernetesLeaseStore(kc, { namespace, name: 'store-fields' });
    await store.create(record('replica-a'));
    const annotate = await testCluster().kubectl(['annotate', 'lease', 'store-fields', '-n', namespace, 'owner=platform-team']);
    expect(annotate.code, annotate.stderr).to.equal(0);
    const current = await store.get();
    if (!current) expect.fail('lease vanished');
    await store.update(record('replica-a', { leaseTransitions: current.record.leaseTransitions }), current.resourceVersion);
    const lease = await kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ name: 'store-fields', namespace });
    expect(lease.metadata?.annotations?.owner).to.equal('platform-team');
  });

  it('an update at a resourceVersion it did not read itself (seen in the watch) keeps labels, annotations and ownerReferences', async () => {
    const kc = testCluster().admin.kubeConfig;
    const leases = kc.makeApiClient(CoordinationV1Api);
    const store = new KubernetesLeaseStore(kc, { namespace, name: 'store-foreign', labels: { app: 'breakglass' } });
    const seen: Array<LeaseSnapshot | null> = [];
    const stop = new AbortController();
    store.watch((s) => seen.push(s), stop.signal);
    try {
      await store.create(record('replica-a'));
      // Someone else (a platform team's tooling) annotates the Lease and gives it an owner.
      const owner = await kc.makeApiClient(CoreV1Api).createNamespacedConfigMap({ namespace, body: { metadata: { name: 'lease-owner' } } });
      const read = await leases.readNamespacedLease({ name: 'store-foreign', namespace });
      const ownerReference = { apiVersion: 'v1', kind: 'ConfigMap', name: 'lease-owner', uid: owner.metadata?.uid ?? '' };
      read.metadata = { ...read.metadata, annotations: { owner: 'platform-team' }, ownerReferences: [ownerReference] };
      const foreign = await leases.replaceNamespacedLease({ name: 'store-foreign', namespace, body: read });
      const foreignVersion = foreign.metadata?.resourceVersion ?? '';
      // The store learns the new version from its watch only, as the elector's fast path does.
      await eventually(() => seen.some((s) => s?.resourceVersion === foreignVersion), 'the foreign write in the watch');

      const renewed = await store.update(record('replica-a', { leaseTransitions: 0 }), foreignVersion);
      expect(renewed.resourceVersion).to.not.equal(foreignVersion);
      const lease = await leases.readNamespacedLease({ name: 'store-foreign', namespace });
      expect(lease.spec?.holderIdentity).to.equal('replica-a');
      expect(lease.metadata?.labels).to.deep.equal({ app: 'breakglass' });
      expect(lease.metadata?.annotations).to.deep.equal({ owner: 'platform-team' });
      expect(lease.metadata?.ownerReferences?.map((r) => ({ kind: r.kind, name: r.name, uid: r.uid }))).to.deep.equal([
        { kind: 'ConfigMap', name: 'lease-owner', uid: ownerReference.uid },
      ]);

      // A version that is no longer current is refused without a write.
      await expectConflict(store.update(record('replica-b'), foreignVersion));
      expect((await leases.readNamespacedLease({ name: 'store-foreign', namespace })).spec?.holderIdentity).to.equal('replica-a');
    } finally {
      stop.abort();
    }
  });

  it('watch reports the current state, every update and the deletion, and stops with its signal', async () => {
    const kc = testCluster().admin.kubeConfig;
    const store = new KubernetesLeaseStore(kc, { namespace, name: 'store-watch' });
    const seen: Array<LeaseSnapshot | null> = [];
    const stop = new AbortController();
    store.watch((s) => seen.push(s), stop.signal);
    const created = await store.create(record('replica-a'));
    await eventually(() => seen.some((s) => s?.raw === created.raw), 'the created lease');
    const released = await store.update(record('', { leaseDurationSeconds: 1 }), created.resourceVersion);
    await eventually(() => seen.some((s) => s?.raw === released.raw), 'the released lease');
    expect(seen.at(-1)?.record).to.include({ holderIdentity: '', leaseDurationSeconds: 1 });
    expect(seen.at(-1)?.resourceVersion).to.equal(released.resourceVersion);

    await kc.makeApiClient(CoordinationV1Api).deleteNamespacedLease({ name: 'store-watch', namespace });
    await eventually(() => seen.at(-1) === null, 'the deletion');

    stop.abort();
    const count = seen.length;
    await new Promise((r) => setTimeout(r, 300));
    await store.create(record('replica-b'));
    await new Promise((r) => setTimeout(r, 500));
    expect(seen.length, 'events after the watch was stopped').to.equal(count);
  });

  describe('against an API server that accepts connections but never answers', () => {
    let server: Server;
    const sockets = new Set<Socket>();
    let closed = 0;
    let kc: KubeConfig;

    before(async () => {
      server = createServer((socket) => {
        sockets.add(socket);
        socket.resume(); // read (and ignore) the TLS ClientHello, so the client's close is noticed
        socket.on('close', () => {
          closed += 1;
          sockets.delete(socket);
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      kc = new KubeConfig();
      kc.loadFromOptions({
        clusters: [{ name: 'silent', server: `https://127.0.0.1:${port}`, skipTLSVerify: true }],
        users: [{ name: 'nobody', token: 'x' }],
        contexts: [{ name: 'silent', cluster: 'silent', user: 'nobody' }],
        currentContext: 'silent',
      });
    });

    after(async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    it('every request ends at its timeout and its connection is closed', async () => {
      const store = new KubernetesLeaseStore(kc, { namespace: 'x', name: 'y', requestTimeoutMs: 300 });
      const started = Date.now();
      for (const request of [() => store.get(), () => store.create(record('a')), () => store.update(record('a'), '1')]) {
        try {
          await request();
          expect.fail('a request to a silent server succeeded');
        } catch (err) {
          expect(String(err)).to.match(/timed out after 300 ms/);
        }
      }
      expect(Date.now() - started, 'three timed-out requests').to.be.lessThan(20_000);
      await eventually(() => closed >= 3, 'the aborted connections to close');
    });

    it("the caller's signal ends a request early", async () => {
      const store = new KubernetesLeaseStore(kc, { namespace: 'x', name: 'y', requestTimeoutMs: 60_000 });
      const controller = new AbortController();
      const pending = store.get({ signal: controller.signal });
      setTimeout(() => controller.abort(new Error('term ended')), 100);
      try {
        await pending;
        expect.fail('the request succeeded');
      } catch (err) {
        expect((err as Error).message).to.equal('term ended');
      }
    });
  });
});
