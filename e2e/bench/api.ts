/**
 * `npm run bench:api`: REST API latency and memory with 10,000 sessions in the API server.
 *
 * A real API server (a local control plane, or the cluster of E2E_KUBECONFIG), one real
 * controller replica, tokens from a local HTTPS OIDC provider. BENCH_SESSIONS sessions (default
 * 10,000) of 100 users on 10 clusters are written directly to the API server; once the replica's
 * cache holds them all, sequential requests measure: `GET ?mine=true` (100 sessions each),
 * `GET ?approver=true&state=pending` (an approver's inbox: the approver check over every
 * session, 1 % of them pending), and `POST` (a new session each).
 * Prints progress on stderr and, last, one JSON line on stdout.
 */
import { CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { API_VERSION, GROUP, VERSION, plurals } from '../../crds/index.ts';
import { installCrds } from '../../crds/install.ts';
import { sessionLabels } from '../../controller/sessions/session-labels.ts';
import { createCa } from '../controlplane/certs.ts';
import { startControlPlane, type ControlPlane } from '../controlplane/controlplane.ts';
import { TestOidcProvider } from '../harness/oidc-provider.ts';
import { Replica } from '../harness/replicas.ts';
import { eventually, sleep, waitGone } from '../harness/wait.ts';
import { round } from './stats.ts';
import { heapSnapshot, heapSnapshotFlags, memoryBreakdown } from './replica-memory.ts';
import { runBench } from './run-bench.ts';
import { BulkSessionWriter } from './bulk-create.ts';
import { imageCommand } from './image-command.ts';

const log = (text: string): void => void process.stderr.write(`[bench] ${text}\n`);
const USERS = 100;
const CLUSTERS = 10;
const AUDIENCE = 'breakglass';

function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

class Resources {
  controlPlane: ControlPlane | undefined;
  replica: Replica | undefined;
  oidc: TestOidcProvider | undefined;
  dir: string | undefined;
  private cleaned: Promise<void> | undefined;

  cleanup(): Promise<void> {
    this.cleaned ??= (async () => {
      await this.replica?.stop();
      await this.oidc?.close();
      await this.controlPlane?.stop().catch((err: unknown) => log(`stopping the control plane failed: ${String(err)}`));
      await waitGone(this.controlPlane?.supervisorPids ?? [], 15_000);
      if (this.dir) await rm(this.dir, { recursive: true, force: true });
    })();
    return this.cleaned;
  }
}

async function connect(res: Resources): Promise<{ kc: KubeConfig; path: string }> {
  const external = process.env.E2E_KUBECONFIG;
  if (external) {
    const kc = new KubeConfig();
    kc.loadFromFile(external);
    return { kc, path: external };
  }
  res.controlPlane = await startControlPlane({ log });
  const admin = res.controlPlane.identities.find((i) => i.name === 'admin');
  if (!admin) throw new Error('the local control plane has no admin identity');
  const kc = new KubeConfig();
  kc.loadFromFile(admin.kubeconfigPath);
  return { kc, path: admin.kubeconfigPath };
}

/** Runs `work` over `items` with at most `limit` in flight. */
async function pool<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await work(items[next++] as T);
    }),
  );
}

async function main(res: Resources): Promise<void> {
  const total = Number(process.env.BENCH_SESSIONS ?? '10000');
  const { kc, path } = await connect(res);
  await installCrds(kc);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const suffix = randomBytes(3).toString('hex');
  const namespace = `bench-api-${suffix}`;
  await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: namespace } } });
  res.dir = await mkdtemp(join(tmpdir(), 'bench-api-'));
  const ca = await createCa(res.dir);
  res.oidc = await TestOidcProvider.start({ dir: res.dir, ca, realmPath: '/realms/bench' });
  await res.oidc.addKey('ES256');
  const oidc = res.oidc;
  const idpName = `bench-api-${suffix}`;
  await custom.createClusterCustomObject({
    group: GROUP,
    version: VERSION,
    plural: plurals.IdentityProvider,
    body: {
      apiVersion: API_VERSION,
      kind: 'IdentityProvider',
      metadata: { name: idpName },
      spec: { issuer: oidc.issuer, oidc: { authority: oidc.issuer, clientID: 'ui', expectedAudience: AUDIENCE, certificateAuthority: await readFile(ca.certFile, 'utf8') } },
    },
  });
  const escalation = (await custom.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    plural: plurals.BreakglassEscalation,
    namespace,
    body: {
      apiVersion: API_VERSION,
      kind: 'BreakglassEscalation',
      metadata: { name: 'bench' },
      spec: {
        escalatedGroup: 'bench-admin',
        allowed: { clusters: ['bench-*'], groups: ['developers'] },
        approvers: { groups: ['approvers'] },
        sessionLimitsOverride: { unlimited: true },
      },
    },
  })) as { metadata: { uid: string } };

  log(`writing ${total} sessions into ${namespace}`);
  const started = performance.now();
  const states = ['Pending', 'Approved', 'Expired', 'Withdrawn'] as const;
  const now = Date.now();
  const iso = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
  const writer = await BulkSessionWriter.forKubeConfig(kc, 16);
  try {
    await pool(
      Array.from({ length: total }, (_, i) => i),
      32,
      async (i) => {
        const user = `user-${i % USERS}@example.com`;
        const cluster = `bench-${Math.floor(i / USERS) % CLUSTERS}`;
        const group = `bench-admin`;
        // History accumulates: most sessions have ended; 1 % wait for approval, 4 % are active.
        const state = i % 100 === 0 ? 'Pending' : i % 100 < 5 ? 'Approved' : (states[2 + (i % 2)] as 'Expired' | 'Withdrawn');
        await writer.create(
          namespace,
          {
            name: `s-${i}`,
            state,
            spec: { cluster, user, grantedGroup: group, requestReason: `bench ${i}` },
            status: {
              timeoutAt: iso(now + 3600_000),
              ...(state === 'Approved' ? { approvedAt: iso(now), expiresAt: iso(now + 3600_000), approver: 'approver-0@example.com' } : {}),
            },
          },
          {
            labels: sessionLabels(cluster, user, group),
            ownerReferences: [{ apiVersion: API_VERSION, kind: 'BreakglassEscalation', name: 'bench', uid: escalation.metadata.uid, controller: true }],
          },
        );
        if ((i + 1) % 2000 === 0) log(`  ${i + 1} written (${Math.round((performance.now() - started) / 1000)} s)`);
      },
    );
  } finally {
    writer.close();
  }

  // The replica runs as the image runs it (bundle and node flags of the Dockerfile ENTRYPOINT),
  // so rssMiB is what a production pod would use.
  const snapshotDir = process.env.BENCH_HEAP_SNAPSHOT || undefined;
  const image = await imageCommand();
  const command = snapshotDir ? [...image.slice(0, -1), ...heapSnapshotFlags(snapshotDir), ...image.slice(-1)] : image;
  log(`starting the replica: node ${command.join(' ')}`);
  res.replica = await Replica.start({
    name: `bench-api-${suffix}`,
    kubeconfigPath: path,
    command,
    env: { NODE_ENV: 'production', POD_NAMESPACE: namespace, ENABLE_WEBHOOKS: 'false', ENABLE_CLEANUP: 'false', ENABLE_LEADER_ELECTION: 'false', DISABLE_SESSION_RATE_LIMIT: 'true' },
  });
  const port = res.replica.ports.api;
  const token = (who: string, groups: string[]) => oidc.sign({ sub: who, email: who, aud: AUDIENCE, groups, exp: Math.floor(Date.now() / 1000) + 3600 });
  const users = await Promise.all(Array.from({ length: USERS }, (_, i) => token(`user-${i}@example.com`, ['developers'])));
  const approvers = await Promise.all(Array.from({ length: 10 }, (_, i) => token(`approver-${i}@example.com`, ['approvers'])));
  async function timed(method: string, url: string, auth: string, body?: unknown): Promise<{ ms: number; status: number; json: { total?: number; error?: string } }> {
    const t0 = performance.now();
    const response = await fetch(`http://127.0.0.1:${port}${url}`, {
      method,
      headers: { authorization: `Bearer ${auth}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const json = (await response.json()) as { total?: number };
    return { ms: performance.now() - t0, status: response.status, json };
  }
  let last = '';
  const replica = res.replica;
  const problems = () =>
    replica.logs
      .filter((l) => l.level === 'warn' || l.level === 'error' || l.level === 'fatal')
      .slice(-10)
      .map((l) => JSON.stringify(l).slice(0, 600))
      .concat(JSON.stringify(Object.fromEntries(replica.logs.reduce((m, l) => m.set(l.msg, (m.get(l.msg) ?? 0) + 1), new Map<string, number>()))))
      .join('\n');
  await eventually('the replica cache to hold every session', Number(process.env.BENCH_SYNC_TIMEOUT_MS ?? 300_000), async () => {
    const answer = await timed('GET', '/api/breakglassSessions?mine=true', users[0] as string).catch((err: unknown) => ({ ms: 0, status: 0, json: { error: String(err) } as { total?: number; error?: string } }));
    const seen = `HTTP ${answer.status}, total ${String(answer.json.total)}`;
    if (seen !== last) log(`  waiting for the cache: ${(last = seen)}${answer.status === 200 ? '' : ` ${JSON.stringify(answer.json)}`}`);
    if (answer.status !== 200) await sleep(1000);
    return answer.status === 200 && answer.json.total === total / USERS ? true : undefined;
  }).catch((err: unknown) => {
    throw new Error(`${String(err)}; the replica's last warnings:\n${problems()}`);
  });
  log(`cache synced; measuring`);

  const rounds = Number(process.env.BENCH_REQUESTS ?? '300');
  const measure = async (what: string, run: (i: number) => Promise<{ ms: number; status: number }>) => {
    for (let i = 0; i < 20; i++) await run(i); // warm-up
    const samples: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const { ms, status } = await run(i);
      if (status >= 300) throw new Error(`${what}: HTTP ${status}`);
      samples.push(ms);
    }
    log(`${what}: p50 ${percentile(samples, 50).toFixed(1)} ms, p99 ${percentile(samples, 99).toFixed(1)} ms`);
    return samples;
  };
  const mine = await measure('list mine', (i) => timed('GET', '/api/breakglassSessions?mine=true', users[i % USERS] as string));
  // What an approver's inbox asks for: the pending requests they may approve.
  const approver = await measure('list as approver', (i) => timed('GET', '/api/breakglassSessions?approver=true&state=pending', approvers[i % 10] as string));
  let created = 0;
  const create = await measure('create', () => {
    const n = created++;
    return timed('POST', '/api/breakglassSessions', users[n % USERS] as string, { cluster: `bench-new-${n}`, group: 'bench-admin', reason: 'bench' });
  });
  // Where the memory is (stderr only).
  const pid = res.replica.child.pid ?? 0;
  log(await memoryBreakdown(res.replica.ports.metrics, pid));
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  // Diagnosis (BENCH_HEAP_SNAPSHOT=<dir>): a heap snapshot of the replica after the figures,
  // which also shows the live heap (writing a snapshot runs a full GC first).
  if (snapshotDir) {
    const replica = res.replica;
    const file = await heapSnapshot((signal) => replica.signal(signal), snapshotDir);
    const after = await (await fetch(`http://127.0.0.1:${res.replica.ports.metrics}/metrics`)).text();
    const used = Number(/^nodejs_heap_size_used_bytes (\S+)$/m.exec(after)?.[1] ?? Number.NaN);
    log(`heap snapshot written to ${file}; live heap after its full GC: ${(used / 1048576).toFixed(1)} MiB`);
  }
  const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  process.stdout.write(
    JSON.stringify({
      sessions: total,
      listMineP50Ms: round(percentile(mine, 50)),
      listMineP99Ms: round(percentile(mine, 99)),
      listApproverP50Ms: round(percentile(approver, 50)),
      listApproverP99Ms: round(percentile(approver, 99)),
      createP50Ms: round(percentile(create, 50)),
      createP99Ms: round(percentile(create, 99)),
      rssMiB: round(rssKiB / 1024, 1),
    }) + '\n',
  );
}

await runBench(new Resources(), main, log);
