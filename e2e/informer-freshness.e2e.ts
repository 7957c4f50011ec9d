/**
 * A session cache must not freeze unseen (issue 11 item 1), on the real API server: one
 * controller process reaches the API server through a TCP proxy. The proxy answers the first
 * list and watch, then drops the watch and black-holes every new connection, as a broken
 * network or a stuck proxy does. The replica must notice: /readyz goes red with a stale-cache
 * reason and the cache-age metric exceeds --cache-max-age. Once the proxy forwards again the
 * cache recovers: /readyz is green and cleanup handles a session created while it was cut off.
 *
 * Before the fix, the re-watch (or relist) waited forever and /readyz stayed green.
 */
import { expect } from 'chai';
import { installCrds } from '../crds/install.ts';
import { testCluster, writeKubeconfigWithServer } from './harness/cluster.ts';
import { Replica } from './harness/replicas.ts';
import { createSession, isoSeconds, listSessions } from './harness/sessions.ts';
import { TcpProxy } from './harness/tcp-proxy.ts';
import { eventually } from './harness/wait.ts';

const MAX_AGE_S = 6;

async function get(port: number, path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: await res.text() };
}

function cacheAge(metrics: string): number | undefined {
  const match = /^breakglass_informer_cache_age_seconds\{informer="sessions"\} (\S+)$/m.exec(metrics);
  return match ? Number(match[1]) : undefined;
}

describe('informer freshness: a cache cut off from the API server', function () {
  this.timeout(180_000);
  let proxy: TcpProxy | undefined;
  let replica: Replica | undefined;

  afterEach(async () => {
    await replica?.stop();
    await proxy?.close();
  });

  it('turns /readyz red when the watch is dropped and the API server stops answering, and recovers after', async () => {
    const cluster = testCluster();
    const kc = cluster.admin.kubeConfig;
    await installCrds(kc);
    const ns = await cluster.createNamespace('freshness');
    proxy = await TcpProxy.forUrl(cluster.server).start();
    replica = await Replica.start({
      name: 'freshness',
      kubeconfigPath: await writeKubeconfigWithServer(kc, proxy.url()),
      env: {
        ENABLE_LEADER_ELECTION: 'false',
        ENABLE_WEBHOOKS: 'false',
        CLEANUP_INTERVAL: '1s',
        CACHE_MAX_AGE: `${MAX_AGE_S}s`,
        LOG_LEVEL: 'info',
      },
    });
    const { probes, metrics } = replica.ports;
    await eventually('the replica to be ready', 30_000, async () => ((await get(probes, '/readyz')).status === 200 ? true : undefined));

    // The first list and watch were answered; now the watch is dropped and nothing answers.
    proxy.partition();
    const cutAt = Date.now();
    await createSession(kc, ns, {
      name: 'unseen',
      state: 'Approved',
      status: { approvedAt: isoSeconds(Date.now() - 60_000), expiresAt: isoSeconds(Date.now() - 1000) },
    });

    // Every cache of the replica is cut off; wait for the session cache's own line (another
    // cache, e.g. the IdentityProviders, may go stale a moment earlier).
    const red = await eventually('/readyz to fail on the stale session cache', (MAX_AGE_S + 15) * 1000, async () => {
      const res = await get(probes, '/readyz');
      return res.status === 503 && res.body.includes('informer-sync:sessions failed') ? res : undefined;
    });
    const redAfterS = (Date.now() - cutAt) / 1000;
    expect(red.body).to.match(/\[-\]informer-sync:sessions failed: cache is stale: no event, watch or list for \d+s \(limit 6s\)/);
    expect(redAfterS, 'seconds from the cut to red readiness').to.be.at.least(MAX_AGE_S - 1);
    expect(cacheAge((await get(metrics, '/metrics')).body)).to.be.greaterThan(MAX_AGE_S);
    // The replica kept trying: a bounded list or watch start failed, and was retried.
    expect(replica.logs.some((l) => /^informer (watch failed; restarting|list\/watch failed; retrying)$/.test(l.msg))).to.equal(true);
    // While cut off, the session was not handled (the replica cannot even see it).
    expect((await listSessions(kc, ns)).map((s) => s.status?.state)).to.deep.equal(['Approved']);

    proxy.heal();
    // Up to one backoff (at most 30 s) plus a list.
    await eventually('/readyz to recover', 45_000, async () => ((await get(probes, '/readyz')).status === 200 ? true : undefined));
    expect(cacheAge((await get(metrics, '/metrics')).body)).to.be.lessThan(MAX_AGE_S);
    await eventually('cleanup to handle the session created while cut off', 20_000, async () => {
      const sessions = await listSessions(kc, ns);
      return sessions[0]?.status?.state === 'Expired' ? sessions : undefined;
    });
  });
});
