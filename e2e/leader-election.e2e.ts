/**
 * Leader election with several in-process electors against one real Lease: exactly one leader,
 * fast handoff on release, takeover only after expiry without release, and a leader cut off from
 * the API server stepping down at its renew deadline, before anyone else may take over.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { expect } from 'chai';
import { pino } from 'pino';
import { CoordinationV1Api, KubeConfig } from '@kubernetes/client-node';
import { testCluster } from './harness/cluster.ts';
import { LeaderElector, type LeaderElectorConfig } from '../controller/leadership/elector.ts';
import { KubernetesLeaseStore } from '../controller/leadership/kubernetes-lease-store.ts';
import { makeIdentity } from '../controller/leadership/term.ts';

type Timings = Pick<LeaderElectorConfig, 'leaseDurationMs' | 'renewDeadlineMs' | 'retryPeriodMs'>;
const FAST: Timings = { leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 500 };
const DEFAULT: Timings = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

interface Replica {
  identity: string;
  elector: LeaderElector;
  controller: AbortController;
  done: Promise<void>;
  logs: Array<{ msg: string; [key: string]: unknown }>;
  startedAt: number[];
  stopped: Array<{ reason: string; at: number }>;
}

function startReplica(kc: KubeConfig, namespace: string, lease: string, timings: Timings, extra: Partial<LeaderElectorConfig> = {}): Replica {
  const identity = makeIdentity('e2e');
  const logs: Replica['logs'] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => logs.push(JSON.parse(line) as Replica['logs'][number]) });
  const store = new KubernetesLeaseStore(kc, { namespace, name: lease, requestTimeoutMs: timings.renewDeadlineMs / 2 });
  const replica = { identity, logs, startedAt: [], stopped: [], controller: new AbortController() } as unknown as Replica;
  replica.elector = new LeaderElector({
    name: lease,
    identity,
    store,
    logger,
    ...timings,
    ...extra,
    callbacks: {
      onStartedLeading: () => replica.startedAt.push(performance.now()),
      onStoppedLeading: ({ reason }) => {
        replica.stopped.push({ reason, at: performance.now() });
      },
    },
  });
  replica.done = replica.elector.run(replica.controller.signal);
  return replica;
}

async function eventually<T>(probe: () => T | undefined, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) expect.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function leaders(replicas: Replica[]): Replica[] {
  return replicas.filter((r) => r.elector.isLeader());
}

function soleLeader(replicas: Replica[]): Replica | undefined {
  const l = leaders(replicas);
  return l.length === 1 ? l[0] : undefined;
}

async function readLease(namespace: string, name: string) {
  const api = testCluster().admin.kubeConfig.makeApiClient(CoordinationV1Api);
  return (await api.readNamespacedLease({ name, namespace })).spec ?? {};
}

async function stopAll(replicas: Replica[]): Promise<void> {
  for (const r of replicas) r.controller.abort();
  await Promise.all(replicas.map((r) => r.done));
}

/** A TCP proxy to the API server that can black-hole its client (accept, never answer). */
class CuttableProxy {
  private server: Server | undefined;
  private readonly open = new Set<Socket>();
  private cut = false;
  url = '';

  async start(target: URL): Promise<void> {
    this.server = createServer((client) => {
      this.open.add(client);
      client.on('close', () => this.open.delete(client));
      client.on('error', () => undefined);
      if (this.cut) return client.resume();
      const upstream = createConnection({ host: target.hostname, port: Number(target.port) });
      this.open.add(upstream);
      upstream.on('close', () => {
        this.open.delete(upstream);
        client.destroy();
      });
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    this.url = `https://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  }

  /** Drops every connection; new ones are accepted but never answered. */
  blackhole(): void {
    this.cut = true;
    for (const s of this.open) s.destroy();
  }

  heal(): void {
    this.cut = false;
    for (const s of this.open) s.destroy();
  }

  async stop(): Promise<void> {
    for (const s of this.open) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

function kubeConfigVia(base: KubeConfig, server: string): KubeConfig {
  const cluster = base.getCurrentCluster();
  if (!cluster) throw new Error('admin kubeconfig has no cluster');
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ ...cluster, server }],
    users: base.users,
    contexts: base.contexts,
    currentContext: base.getCurrentContext(),
  });
  return kc;
}

describe('leader election against a real API server', () => {
  let namespace: string;
  before(async () => {
    namespace = await testCluster().createNamespace('le');
  });

  it('three electors on one Lease: exactly one leader, renewing, the others follow it', async () => {
    const kc = testCluster().admin.kubeConfig;
    const replicas = ['a', 'b', 'c'].map(() => startReplica(kc, namespace, 'three', FAST));
    try {
      const leader = await eventually(() => soleLeader(replicas), 'a leader');
      const firstRenew = (await readLease(namespace, 'three')).renewTime;
      const until = performance.now() + 6_000;
      while (performance.now() < until) {
        expect(leaders(replicas).length, 'replicas leading at once').to.be.at.most(1);
        expect(replicas.filter((r) => r.elector.currentTerm()?.isValid()).length, 'replicas allowed to write').to.be.at.most(1);
        await new Promise((r) => setTimeout(r, 25));
      }
      expect(leaders(replicas)).to.deep.equal([leader]);
      expect(leader.startedAt).to.have.length(1);
      expect(() => leader.elector.currentTerm()?.assertCanWrite()).to.not.throw();
      const spec = await readLease(namespace, 'three');
      expect(spec.holderIdentity).to.equal(leader.identity);
      expect(spec.leaseDurationSeconds).to.equal(3);
      expect(String(spec.renewTime)).to.not.equal(String(firstRenew));
      for (const r of replicas) expect(r.elector.currentHolder()).to.equal(leader.identity);
      expect(leader.logs.filter((l) => l.msg === 'is now the leader')).to.have.length(1);
    } finally {
      await stopAll(replicas);
    }
  });

  it('on shutdown the leader releases the Lease and a follower takes over at once (watch), not after expiry', async () => {
    const kc = testCluster().admin.kubeConfig;
    const replicas = ['a', 'b', 'c'].map(() => startReplica(kc, namespace, 'handoff', DEFAULT));
    try {
      const leader = await eventually(() => soleLeader(replicas), 'a leader');
      const term = leader.elector.currentTerm();
      const before = await readLease(namespace, 'handoff');
      await new Promise((r) => setTimeout(r, 1_000)); // followers are now in their retry sleep
      const stoppedAt = performance.now();
      leader.controller.abort();
      expect(term?.signal.aborted, 'term ended synchronously with the abort').to.equal(true);
      const others = replicas.filter((r) => r !== leader);
      const next = await eventually(() => soleLeader(others), 'a new leader', 20_000);
      const handoffMs = performance.now() - stoppedAt;
      console.log(`      handoff after release: ${handoffMs.toFixed(0)} ms (lease duration 15 s)`);
      expect(handoffMs, 'handoff well before the 15 s lease could expire').to.be.lessThan(5_000);
      await leader.done;
      expect(leader.stopped.map((s) => s.reason)).to.deep.equal(['shutdown']);
      expect(leader.logs.map((l) => l.msg)).to.include.members(['lost leader status', 'released leader lease']);
      const spec = await readLease(namespace, 'handoff');
      expect(spec.holderIdentity).to.equal(next.identity);
      expect(spec.leaseTransitions).to.equal((before.leaseTransitions ?? 0) + 1);
    } finally {
      await stopAll(replicas);
    }
  });

  it('without a release (crash), followers wait for the lease to expire before taking over', async () => {
    const kc = testCluster().admin.kubeConfig;
    const replicas = ['a', 'b', 'c'].map(() => startReplica(kc, namespace, 'crash', FAST, { releaseOnCancel: false }));
    try {
      const leader = await eventually(() => soleLeader(replicas), 'a leader');
      const before = await readLease(namespace, 'crash');
      const stoppedAt = performance.now();
      leader.controller.abort();
      await leader.done;
      const others = replicas.filter((r) => r !== leader);
      const next = await eventually(() => soleLeader(others), 'a new leader', 20_000);
      const takeoverMs = performance.now() - stoppedAt;
      console.log(`      takeover after a crash: ${takeoverMs.toFixed(0)} ms (lease 3 s, retry 0.5 s)`);
      // The dead leader renewed at most one retry period before it stopped.
      expect(takeoverMs, 'no takeover before the lease expired').to.be.at.least(FAST.leaseDurationMs - FAST.retryPeriodMs - 100);
      const spec = await readLease(namespace, 'crash');
      expect(spec.holderIdentity).to.equal(next.identity);
      expect(spec.leaseTransitions).to.equal((before.leaseTransitions ?? 0) + 1);
    } finally {
      await stopAll(replicas);
    }
  });

  describe('a leader cut off from the API server', () => {
    const proxy = new CuttableProxy();
    before(async () => {
      await proxy.start(new URL(testCluster().server));
    });
    after(async () => {
      await proxy.stop();
    });

    it('ends its term at the renew deadline, before a follower may take over; after recovery there is one leader', async () => {
      const admin = testCluster().admin.kubeConfig;
      const cutOff = startReplica(kubeConfigVia(admin, proxy.url), namespace, 'partition', FAST);
      const replicas = [cutOff];
      try {
        await eventually(() => (cutOff.elector.isLeader() ? true : undefined), 'the proxied replica to lead');
        replicas.push(startReplica(admin, namespace, 'partition', FAST), startReplica(admin, namespace, 'partition', FAST));
        await new Promise((r) => setTimeout(r, 1_500));
        expect(leaders(replicas)).to.deep.equal([cutOff]);
        const term = cutOff.elector.currentTerm();
        proxy.blackhole();
        const others = replicas.slice(1);
        const next = await eventually(() => soleLeader(others), 'a follower to take over', 20_000);
        const takeoverAt = next.startedAt[0] ?? 0;
        expect(cutOff.stopped[0]?.reason).to.equal('renewDeadline');
        expect(term?.signal.aborted).to.equal(true);
        expect(cutOff.stopped[0]?.at ?? Infinity, 'old term ended before the new one began').to.be.lessThan(takeoverAt);
        expect(() => term?.assertCanWrite()).to.throw(/write refused/);

        proxy.heal();
        await new Promise((r) => setTimeout(r, 3_000));
        expect(leaders(replicas)).to.deep.equal([next]);
        await eventually(() => (cutOff.elector.currentHolder() === next.identity ? true : undefined), 'the cut-off replica to follow');
      } finally {
        proxy.heal();
        await stopAll(replicas);
      }
    });
  });
});
