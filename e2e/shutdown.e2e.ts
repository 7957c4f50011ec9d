/**
 * A leader's shutdown against a slow or unreachable API server, at the default timings: the
 * release has its own budget inside --shutdown-timeout, so a slow API server still gets the
 * release (and followers take over at once instead of after the lease duration), and an
 * unreachable one gets a log line saying the release could not be made, before the process
 * exits within the shutdown timeout.
 */
import { expect } from 'chai';
import { installCrds } from '../crds/install.ts';
import { defaultOptions } from '../controller/options.ts';
import { testCluster, writeKubeconfigWithServer } from './harness/cluster.ts';
import { Replica, type ExitStatus, type LogLine } from './harness/replicas.ts';
import { TcpProxy } from './harness/tcp-proxy.ts';

/** Each request of the leader reaches the API server this much later. */
const API_DELAY_MS = 1500;
const DEFAULTS = defaultOptions();

/** Waits for the exit without Replica.stop()'s 10 s SIGKILL, which is shorter than a shutdown may take. */
async function exitWithin(replica: Replica, ms: number): Promise<ExitStatus & { afterMs: number }> {
  const from = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${replica.name} still running ${ms} ms after SIGTERM`)), ms);
  });
  try {
    const status = await Promise.race([replica.exited, timeout]);
    return { ...status, afterMs: Date.now() - from };
  } finally {
    clearTimeout(timer);
  }
}

describe('leader shutdown with a slow or unreachable API server (default timings)', function () {
  this.timeout(180_000);
  let replicas: Replica[] = [];
  let proxy: TcpProxy | undefined;
  let namespace: string;

  before(async () => {
    await installCrds(testCluster().admin.kubeConfig);
  });

  beforeEach(async () => {
    namespace = await testCluster().createNamespace('shutdown');
    proxy = await TcpProxy.forUrl(testCluster().server).start();
  });

  afterEach(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
    replicas = [];
    await proxy?.close();
  });

  /** A replica behind the proxy that leads, optionally with a follower talking to the API server directly. */
  async function leaderBehindProxy(withFollower: boolean): Promise<{ leader: Replica; follower?: Replica }> {
    const cluster = testCluster();
    const env = { LEADER_ELECT_NAMESPACE: namespace, ENABLE_WEBHOOKS: 'false' };
    const viaProxy = await writeKubeconfigWithServer(cluster.admin.kubeConfig, (proxy as TcpProxy).url());
    const leader = await Replica.start({ name: 'slow-leader', kubeconfigPath: viaProxy, env });
    replicas.push(leader);
    await leader.waitForLog((l) => l.msg === 'is now the leader', 30_000);
    if (!withFollower) return { leader };
    const follower = await Replica.start({ name: 'follower', kubeconfigPath: cluster.admin.kubeconfigPath, env });
    replicas.push(follower);
    await follower.waitForLog((l) => l.msg === 'new leader observed' && l.holder === leader.identity, 30_000);
    return { leader, follower };
  }

  it(`releases the lease before exiting when every request takes ${API_DELAY_MS / 1000} s longer, and the follower takes over at once`, async () => {
    const { leader, follower } = await leaderBehindProxy(true);
    (proxy as TcpProxy).delay(API_DELAY_MS);
    const terminatedAt = Date.now();
    leader.signal('SIGTERM');
    const status = await exitWithin(leader, DEFAULTS.shutdownTimeout + 10_000);
    console.log(`      slow API: leader exited ${(status.afterMs / 1000).toFixed(1)} s after SIGTERM`);
    expect(status.code, 'exit code').to.equal(0);
    expect(status.afterMs, 'exit within the shutdown timeout').to.be.below(DEFAULTS.shutdownTimeout + 2000);
    const released = leader.linesWith('released leader lease');
    expect(released, 'the leader released the lease before it exited').to.have.length(1);
    expect(leader.linesWith('could not release lease before shutdown deadline')).to.have.length(0);
    // The release itself needed at least a GET and an update through the slow link.
    expect((released[0] as LogLine).seenAt - terminatedAt).to.be.at.least(2 * API_DELAY_MS);
    const gained = await (follower as Replica).waitForLog((l) => l.msg === 'is now the leader', 10_000);
    const afterRelease = gained.seenAt - (released[0] as LogLine).seenAt;
    console.log(`      follower led ${(afterRelease / 1000).toFixed(2)} s after the release`);
    expect(afterRelease, 'the follower took over on the release (watch), not after the lease expired').to.be.below(3000);
  });

  it('says that it could not release the lease when the API server does not answer, and still exits in time', async () => {
    const { leader } = await leaderBehindProxy(false);
    (proxy as TcpProxy).partition();
    leader.signal('SIGTERM');
    const status = await exitWithin(leader, DEFAULTS.shutdownTimeout + 10_000);
    console.log(`      unreachable API: leader exited ${(status.afterMs / 1000).toFixed(1)} s after SIGTERM`);
    expect(status.code, 'exit code').to.equal(0);
    expect(status.afterMs, 'exit within the shutdown timeout').to.be.below(DEFAULTS.shutdownTimeout + 2000);
    expect(leader.linesWith('released leader lease')).to.have.length(0);
    const gaveUp = leader.linesWith('could not release lease before shutdown deadline');
    expect(gaveUp, 'a log line says the release could not be made').to.have.length(1);
    expect(gaveUp[0]).to.include({ level: 'warn', releaseTimeoutMs: DEFAULTS.leaderElectReleaseTimeout });
    expect(leader.linesWith('lease release failed').length, 'each failed attempt is logged').to.be.at.least(1);
    expect(leader.linesWith('shutdown complete').at(-1)).to.include({ timedOut: false });
  });
});
