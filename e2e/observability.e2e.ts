/**
 * What an operator scrapes and probes, on three real controller processes: /healthz and
 * /readyz on every replica, and the Prometheus metrics that tell the leader from the followers,
 * show the loops working and count session transitions. Also the exit code and message of a
 * controller started with a bad flag.
 */
import { expect } from 'chai';
import { CoordinationV1Api, type KubeConfig } from '@kubernetes/client-node';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { installCrds } from '../crds/install.ts';
import { testCluster } from './harness/cluster.ts';
import { currentLeader, Replica } from './harness/replicas.ts';
import { createSession, isoSeconds, listSessions } from './harness/sessions.ts';
import { eventually } from './harness/wait.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const LEASE_NAME = 'breakglass.telekom.io';


async function get(port: number, path: string): Promise<{ status: number; body: string; type: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: await res.text(), type: res.headers.get('content-type') ?? '' };
}

async function scrape(replica: Replica): Promise<string> {
  const res = await get(replica.ports.metrics, '/metrics');
  expect(res.status, `${replica.name} /metrics`).to.equal(200);
  return res.body;
}

/**
 * The value of the sample `name` whose labels include `labels`, from Prometheus text format;
 * undefined when there is no such sample.
 */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(match[3]);
  }
  return undefined;
}

const TRANSITION = { from: 'Approved', to: 'Expired' };

describe('observability: probes and metrics of the controller replicas', function () {
  this.timeout(180_000);
  const replicas: Replica[] = [];
  let leader: Replica;
  let followers: Replica[];
  let kc: KubeConfig;

  before(async () => {
    const cluster = testCluster();
    kc = cluster.admin.kubeConfig;
    await installCrds(kc);
    const leaseNamespace = await cluster.createNamespace('observability');
    const started = await Replica.startMany(
      [0, 1, 2].map((i) => ({
          name: `obs-${i}`,
          kubeconfigPath: cluster.admin.kubeconfigPath,
          env: {
            LEADER_ELECT_LEASE_DURATION: '3s',
            LEADER_ELECT_RENEW_DEADLINE: '2s',
            LEADER_ELECT_RETRY_PERIOD: '500ms',
            LEADER_ELECT_NAMESPACE: leaseNamespace,
            CLEANUP_INTERVAL: '1s',
            ENABLE_WEBHOOKS: 'false',
            LOG_LEVEL: 'info',
          },
        }),
      ),
    );
    replicas.push(...started);
    const coordination = kc.makeApiClient(CoordinationV1Api);
    leader = await eventually('one leader holding the lease', 30_000, async () => {
      const l = currentLeader(replicas);
      if (!l) return undefined;
      const lease = await coordination.readNamespacedLease({ name: LEASE_NAME, namespace: leaseNamespace });
      return lease.spec?.holderIdentity === l.identity ? l : undefined;
    });
    await leader.waitForLog((l) => l.msg === 'Finished breakglass session cleanup task', 15_000);
    followers = replicas.filter((r) => r !== leader);
  });

  after(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
  });

  it('/healthz answers 200 "ok" on the leader and on the followers', async () => {
    for (const replica of replicas) {
      const res = await get(replica.ports.probes, '/healthz');
      expect(res.status, `${replica.name} /healthz`).to.equal(200);
      expect(res.body).to.equal('ok');
    }
  });

  it('/readyz answers 200 with no failed check on every replica once its cache synced', async () => {
    for (const replica of replicas) {
      const res = await eventually(`${replica.name} ready`, 15_000, async () => {
        const r = await get(replica.ports.probes, '/readyz');
        return r.status === 200 ? r : undefined;
      });
      expect(res.body).to.equal('ok');
      expect(res.body).to.not.include('[-]');
    }
  });

  it('leader_election_master_status is 1 on the leader and 0 on the followers', async () => {
    expect(sample(await scrape(leader), 'leader_election_master_status', { name: LEASE_NAME })).to.equal(1);
    for (const follower of followers) {
      expect(sample(await scrape(follower), 'leader_election_master_status', { name: LEASE_NAME }), follower.name).to.equal(0);
    }
  });

  it('the cleanup loop shows successful runs and a duration histogram on the leader only', async () => {
    const text = await scrape(leader);
    expect(sample(text, 'breakglass_loop_runs_total', { loop: 'cleanup', result: 'success' })).to.be.greaterThan(0);
    expect(sample(text, 'breakglass_loop_duration_seconds_bucket', { loop: 'cleanup', le: '+Inf' })).to.be.greaterThan(0);
    expect(sample(text, 'breakglass_loop_duration_seconds_count', { loop: 'cleanup' })).to.be.greaterThan(0);
    for (const follower of followers) {
      const runs = sample(await scrape(follower), 'breakglass_loop_runs_total', { loop: 'cleanup', result: 'success' });
      expect(runs ?? 0, `${follower.name} cleanup runs`).to.equal(0);
    }
  });

  it('the Node process metrics are exported in Prometheus text format', async () => {
    const res = await get(leader.ports.metrics, '/metrics');
    expect(res.type).to.include('text/plain');
    expect(sample(res.body, 'process_cpu_seconds_total')).to.be.greaterThan(0);
    expect(sample(res.body, 'process_resident_memory_bytes')).to.be.greaterThan(0);
    expect(sample(res.body, 'nodejs_heap_size_used_bytes')).to.be.greaterThan(0);
    expect(res.body).to.include('# TYPE process_cpu_seconds_total counter');
  });

  it('an expired session is counted once as Approved -> Expired on the leader, on no follower', async () => {
    const cluster = testCluster();
    const ns = await cluster.createNamespace('obs-sessions');
    // Other suites' sessions may live in the cluster: count from a baseline, not from zero.
    const before = sample(await scrape(leader), 'breakglass_session_transitions_total', TRANSITION) ?? 0;
    const followersBefore = await Promise.all(
      followers.map(async (f) => sample(await scrape(f), 'breakglass_session_transitions_total', TRANSITION) ?? 0),
    );
    await createSession(kc, ns, {
      name: 'expired-already',
      state: 'Approved',
      status: { approvedAt: isoSeconds(Date.now() - 3_600_000), expiresAt: isoSeconds(Date.now() - 60_000) },
    });
    await eventually('the session expired', 20_000, async () => {
      const [session] = await listSessions(kc, ns);
      return session?.status?.state === 'Expired' ? session : undefined;
    });
    const counted = await eventually('the transition counted', 10_000, async () => {
      const value = sample(await scrape(leader), 'breakglass_session_transitions_total', TRANSITION) ?? 0;
      return value > before ? value : undefined;
    });
    // A few more passes must not count it again.
    await new Promise((r) => setTimeout(r, 3000));
    const after = sample(await scrape(leader), 'breakglass_session_transitions_total', TRANSITION) ?? 0;
    expect(counted - before).to.equal(1);
    expect(after - before).to.equal(1);
    const followersAfter = await Promise.all(
      followers.map(async (f) => sample(await scrape(f), 'breakglass_session_transitions_total', TRANSITION) ?? 0),
    );
    expect(followersAfter).to.deep.equal(followersBefore);
  });
});

describe('observability: a controller started with a bad flag', function () {
  this.timeout(60_000);

  function runController(args: string[]): Promise<{ code: number | null; stderr: string; stdout: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'controller/main.ts', ...args], {
        cwd: root,
        // Only PATH and HOME: leader-election variables of the caller must not mask the flags.
        env: { PATH: process.env.PATH, HOME: process.env.HOME },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 45_000);
      child.once('error', reject);
      child.once('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, stderr, stdout });
      });
    });
  }

  it('exits 2 naming the lease duration when it is not above the renew deadline, without a stack trace', async () => {
    const res = await runController(['--leader-elect-lease-duration=5s', '--leader-elect-renew-deadline=10s']);
    expect(res.code).to.equal(2);
    expect(res.stderr).to.include('--leader-elect-lease-duration');
    expect(res.stderr).to.include('--leader-elect-renew-deadline');
    expect(res.stderr).to.not.match(/^\s+at /m);
    expect(res.stdout).to.equal('');
  });

  it('exits 2 naming --enable-cleanup when its value is not a boolean, without a stack trace', async () => {
    const res = await runController(['--enable-cleanup=maybe']);
    expect(res.code).to.equal(2);
    expect(res.stderr).to.include('--enable-cleanup');
    expect(res.stderr).to.include('maybe');
    expect(res.stderr).to.not.match(/^\s+at /m);
  });
});
