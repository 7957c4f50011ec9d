/**
 * `npm run demo`: breakglass on a local control plane, nothing to install but Node and Go.
 *
 * Starts etcd + kube-apiserver, installs the CRDs and samples, runs three controller replicas,
 * and shows what operators would see: one leader, sessions expiring on time, and a new leader
 * taking over when the current one is stopped. Runs until Ctrl-C (or DEMO_SECONDS).
 */
import { CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { installCrds } from '../crds/install.ts';
import { GROUP, VERSION, plurals } from '../crds/index.ts';
import { loadSamples } from '../crds/samples/load.ts';
import { startControlPlane } from './controlplane/controlplane.ts';
import { currentLeader, Replica, type LogLine } from './harness/replicas.ts';
import { createSession, isoSeconds } from './harness/sessions.ts';

const NAMESPACE = 'breakglass-system';
const SHOWN = new Set(['is now the leader', 'lost leader status', 'released leader lease', 'Session state transition']);

function say(text: string): void {
  process.stdout.write(`[demo] ${text}\n`);
}

const cp = await startControlPlane({ log: say });
const admin = cp.identities.find((i) => i.name === 'admin');
if (!admin) throw new Error('no admin identity');
const kc = new KubeConfig();
kc.loadFromFile(admin.kubeconfigPath);
const replicas: Replica[] = [];
let stopping = false;

async function stopAll(code: number): Promise<never> {
  stopping = true;
  await Promise.all(replicas.map((r) => r.stop()));
  await cp.stop();
  process.exit(code);
}
process.once('SIGINT', () => void stopAll(0));
process.once('SIGTERM', () => void stopAll(0));

try {
  await installCrds(kc);
  await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: NAMESPACE } } });
  const objects = kc.makeApiClient(CustomObjectsApi);
  for (const { object } of loadSamples()) {
    const kind = object.kind as keyof typeof plurals;
    const plural = plurals[kind];
    if (kind === 'BreakglassSession' || kind === 'BreakglassEscalation' || kind === 'ClusterConfig') {
      await objects.createNamespacedCustomObject({ group: GROUP, version: VERSION, plural, namespace: NAMESPACE, body: object });
    } else {
      await objects.createClusterCustomObject({ group: GROUP, version: VERSION, plural, body: object });
    }
  }
  say(`CRDs and ${loadSamples().length} sample objects installed`);

  for (let i = 0; i < 3; i++) {
    const replica = await Replica.start({
      name: `breakglass-${i}`,
      kubeconfigPath: admin.kubeconfigPath,
      env: { POD_NAMESPACE: NAMESPACE, ENABLE_WEBHOOKS: 'false', CLEANUP_INTERVAL: '2s' },
    });
    replicas.push(replica);
    say(`replica ${replica.name} started (probes on :${replica.ports.probes}, metrics on :${replica.ports.metrics})`);
  }
  // Echo the lines operators grep for, as they happen.
  const printed = new Map<Replica, number>();
  setInterval(() => {
    for (const r of replicas) {
      const from = printed.get(r) ?? 0;
      for (const line of r.logs.slice(from).filter((l: LogLine) => SHOWN.has(l.msg))) {
        const detail = line.session ? ` ${String(line.session)} ${String(line.from)} -> ${String(line.to)}` : line.reason ? ` (${String(line.reason)})` : '';
        say(`${r.name}: ${line.msg}${detail}`);
      }
      printed.set(r, r.logs.length);
    }
  }, 200).unref();

  for (let i = 0; i < 3; i++) {
    await createSession(kc, NAMESPACE, {
      name: `demo-session-${i}`,
      state: 'Approved',
      status: { approvedAt: isoSeconds(Date.now()), expiresAt: isoSeconds(Date.now() + 8000 + i * 4000) },
    });
  }
  say('3 approved sessions created; they expire 8, 12 and 16 seconds from now');
  await new Promise((r) => setTimeout(r, 20_000));

  const leader = currentLeader(replicas);
  if (leader && !stopping) {
    say(`stopping the leader ${leader.name} with SIGTERM: it releases the lease and another replica takes over`);
    await leader.stop();
    await new Promise((r) => setTimeout(r, 3000));
    say(`the leader is now ${currentLeader(replicas)?.name ?? 'nobody'}`);
  }
  say(`KUBECONFIG=${admin.kubeconfigPath} ${cp.binaries.kubectl} get bgs -n ${NAMESPACE}`);
  const seconds = Number(process.env.DEMO_SECONDS ?? 0);
  if (seconds > 0) {
    await new Promise((r) => setTimeout(r, seconds * 1000));
    await stopAll(0);
  }
  say('running; press Ctrl-C to stop everything');
} catch (err) {
  process.stderr.write(`[demo] failed: ${String(err)}\n`);
  await stopAll(1);
}
