/**
 * `npm run bench:scale`: one replica of the image's program (`node build/image/main.mjs`
 * with the node flags of the Dockerfile's ENTRYPOINT, as the image runs it; `npm run build:controller` comes
 * first) against 10,000 BreakglassSessions, on a local control plane or E2E_KUBECONFIG.
 *
 * Seeds BENCH_SESSIONS (default 10,000) sessions with bounded concurrency: BENCH_DUE (default
 * 100) Approved sessions already past expiresAt, the rest Approved or Pending far from any
 * deadline. Then starts the replica and measures:
 * - readyS: spawn -> first 200 from /readyz (the session cache synced); startedS of it is
 *   spawn -> the `controller started` log line (Node loading the modules, before any list),
 * - rssPeakMiB: the process's peak resident set (VmHWM) over the whole run,
 * - rssSteadyMiB: median RSS over a 10 s window once the due sessions are handled and a few
 *   cleanup passes (every 2 s) have run over the full cache,
 * - statusWrites: status writes seen on a watch of the API server after seeding (every
 *   MODIFIED event); `transitions` of them changed the state, `rewrites` did not. With a
 *   correct controller statusWrites = transitions = BENCH_DUE.
 * Prints progress on stderr and, last, one JSON line.
 *
 * Diagnosis: BENCH_HEAP_SNAPSHOT=<dir> starts the replica with --heapsnapshot-signal=SIGUSR2
 * --diagnostic-dir=<dir> and, after the figures, has it write a heap snapshot there.
 */
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { installCrds } from '../../crds/install.ts';
import { startControlPlane, type ControlPlane } from '../controlplane/controlplane.ts';
import { isoSeconds, SessionWriteRecorder, type SessionSeed } from '../harness/sessions.ts';
import { eventually, sleep, waitGone } from '../harness/wait.ts';
import { BulkSessionWriter } from './bulk-create.ts';
import { median, round } from './stats.ts';
import { heapSnapshot, heapSnapshotFlags, memoryBreakdown } from './replica-memory.ts';
import { runBench } from './run-bench.ts';
import { ENTRY, imageNodeFlags, MAIN, root } from './image-command.ts';

const CONCURRENCY = 32;
const STEADY_WINDOW_MS = 10_000;
const TARGETS = { rssSteadyMiB: 128, rssPeakMiB: 160, readyS: 3 };

const log = (text: string): void => void process.stderr.write(`[bench] ${text}\n`);

function intFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name}: "${raw}" is not a non-negative integer`);
  return value;
}

/** Everything the bench started, so cleanup can stop it on success, error and Ctrl-C. */
class Resources {
  controlPlane: ControlPlane | undefined;
  replica: ChildProcess | undefined;
  recorder: SessionWriteRecorder | undefined;
  cleanupNamespace: (() => Promise<void>) | undefined;
  private cleaned: Promise<void> | undefined;

  cleanup(): Promise<void> {
    this.cleaned ??= (async () => {
      this.recorder?.stop();
      const replica = this.replica;
      if (replica && replica.exitCode === null && replica.signalCode === null) {
        const exited = new Promise((resolve) => replica.once('exit', resolve));
        replica.kill('SIGTERM');
        const timer = setTimeout(() => replica.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      await this.cleanupNamespace?.().catch((err: unknown) => log(`deleting the namespace failed: ${String(err)}`));
      await this.controlPlane?.stop().catch((err: unknown) => log(`stopping the control plane failed: ${String(err)}`));
      await waitGone(this.controlPlane?.supervisorPids ?? [], 15_000);
    })();
    return this.cleaned;
  }
}

async function connect(res: Resources): Promise<{ kc: KubeConfig; path: string }> {
  const external = process.env.E2E_KUBECONFIG;
  if (external) {
    log(`using the cluster of E2E_KUBECONFIG (${external})`);
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

function seedOf(index: number, due: number): SessionSeed {
  const name = `s-${String(index).padStart(5, '0')}`;
  const now = Date.now();
  if (index < due) {
    return { name, state: 'Approved', status: { approvedAt: isoSeconds(now - 3_600_000), expiresAt: isoSeconds(now - 60_000) } };
  }
  if (index % 2 === 0) {
    return { name, state: 'Approved', status: { approvedAt: isoSeconds(now), expiresAt: isoSeconds(now + 86_400_000) } };
  }
  return { name, state: 'Pending', status: { timeoutAt: isoSeconds(now + 86_400_000) } };
}

/** Creates `count` sessions, CONCURRENCY at a time over kept-alive connections. */
async function seed(kc: KubeConfig, namespace: string, count: number, due: number): Promise<void> {
  const writer = await BulkSessionWriter.forKubeConfig(kc, CONCURRENCY);
  let next = 0;
  let done = 0;
  const started = Date.now();
  const worker = async (): Promise<void> => {
    while (next < count) {
      const index = next++;
      await writer.create(namespace, seedOf(index, due));
      if (++done % 1000 === 0) log(`seeded ${done}/${count} sessions (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, count) }, worker));
  } finally {
    writer.close();
  }
}

/** VmRSS and VmHWM of `pid` in MiB, from /proc. */
async function memory(pid: number): Promise<{ rss: number; hwm: number } | undefined> {
  try {
    const text = await readFile(`/proc/${pid}/status`, 'utf8');
    const kib = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(text)?.[1] ?? NaN);
    return { rss: kib('VmRSS') / 1024, hwm: kib('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

interface Ports {
  probes: number;
  metrics: number;
}

function startReplica(res: Resources, kubeconfigPath: string, namespace: string, nodeFlags: readonly string[]): { child: ChildProcess; ports: Promise<Ports> } {
  // The image's command (Dockerfile ENTRYPOINT), with ports of our choosing.
  const child = spawn(
    process.execPath,
    [
      ...nodeFlags,
      MAIN,
      '--api-bind-address=127.0.0.1:0',
      '--metrics-bind-address=127.0.0.1:0',
      '--health-probe-bind-address=127.0.0.1:0',
      '--enable-webhooks=false',
      `--leader-elect-namespace=${namespace}`,
      '--cleanup-interval=2s',
    ],
    {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH, HOME: process.env.HOME, KUBECONFIG: kubeconfigPath, POD_NAME: 'bench-scale', NODE_ENV: 'production' },
    },
  );
  res.replica = child;
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const ports = new Promise<Ports>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (text) => {
      try {
        const line = JSON.parse(text) as { msg?: string; ports?: Ports; level?: string | number };
        if (line.msg === 'controller started' && line.ports) resolve(line.ports);
        if (line.level === 'warn' || line.level === 'error' || line.level === 40 || line.level === 50) log(`replica: ${text}`);
      } catch {
        // not a log line
      }
    });
    child.once('exit', (code, signal) => reject(new Error(`the replica exited (${code ?? signal}): ${stderr}`)));
  });
  return { child, ports };
}

async function main(res: Resources): Promise<void> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build:controller\` first (npm run bench:scale does)`);
  const count = intFromEnv('BENCH_SESSIONS', 10_000);
  const due = Math.min(count, intFromEnv('BENCH_DUE', 100));
  const { kc, path } = await connect(res);
  await installCrds(kc);
  const namespace = `bench-scale-${randomBytes(3).toString('hex')}`;
  const core = kc.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  if (process.env.E2E_KUBECONFIG) res.cleanupNamespace = async () => void (await core.deleteNamespace({ name: namespace }));

  const seedStarted = Date.now();
  await seed(kc, namespace, count, due);
  log(`seeded ${count} sessions (${due} due) in ${((Date.now() - seedStarted) / 1000).toFixed(1)} s`);

  // The recorder's watch first replays every session (ADDED), so later MODIFIED events are writes.
  const recorder = new SessionWriteRecorder(kc, namespace);
  res.recorder = recorder;
  await recorder.start();
  await sleep(3000);

  const nodeFlags = await imageNodeFlags();
  const snapshotDir = process.env.BENCH_HEAP_SNAPSHOT || undefined;
  const replicaFlags = snapshotDir ? [...nodeFlags, ...heapSnapshotFlags(snapshotDir)] : nodeFlags;
  log(`starting the replica: node ${[...replicaFlags, MAIN].join(' ')}`);
  const spawnedAt = performance.now();
  const { child, ports } = startReplica(res, path, namespace, replicaFlags);
  const pid = child.pid;
  if (pid === undefined) throw new Error('the replica did not start');
  const samples: { at: number; rss: number }[] = [];
  let peak = 0;
  const sampler = setInterval(() => {
    void memory(pid).then((m) => {
      if (!m) return;
      samples.push({ at: performance.now(), rss: m.rss });
      peak = Math.max(peak, m.hwm, m.rss);
    });
  }, 100);
  try {
    const { probes } = await ports;
    const startedS = (performance.now() - spawnedAt) / 1000;
    await eventually('/readyz to answer 200', 120_000, async () => {
      const res = await fetch(`http://127.0.0.1:${probes}/readyz`).catch(() => undefined);
      return res?.status === 200 ? true : undefined;
    });
    const readyS = (performance.now() - spawnedAt) / 1000;
    log(`ready after ${readyS.toFixed(2)} s`);
    await eventually(`${due} transitions`, 120_000, () => (recorder.changes.length >= due ? true : undefined));
    log(`${due} due sessions handled ${((performance.now() - spawnedAt) / 1000).toFixed(1)} s after spawn; settling`);
    // Several more cleanup passes over the full cache before the steady window.
    await sleep(10_000);
    const windowStart = performance.now();
    await sleep(STEADY_WINDOW_MS);
    const steady = median(samples.filter((s) => s.at >= windowStart).map((s) => s.rss));
    const final = await memory(pid);
    log(await memoryBreakdown((await ports).metrics, pid));
    peak = Math.max(peak, final?.hwm ?? 0);
    const result = {
      sessions: count,
      readyS: round(readyS),
      startedS: round(startedS),
      rssPeakMiB: round(peak, 1),
      rssSteadyMiB: round(steady, 1),
      statusWrites: recorder.changes.length + recorder.rewrites.length,
      transitions: recorder.changes.length,
      rewrites: recorder.rewrites.length,
      due,
      nodeFlags: nodeFlags.join(' '),
    };
    const met = (ok: boolean): string => (ok ? 'met' : 'NOT met');
    process.stdout.write(
      [
        '',
        `${count} sessions, one replica: node ${[...nodeFlags, ENTRY].join(' ')}`,
        `ready ${result.readyS} s (target <= ${TARGETS.readyS} s: ${met(readyS <= TARGETS.readyS)}), of which ${result.startedS} s until the process started (module loading)`,
        `RSS peak ${result.rssPeakMiB} MiB (target <= ${TARGETS.rssPeakMiB}: ${met(peak <= TARGETS.rssPeakMiB)})`,
        `RSS steady ${result.rssSteadyMiB} MiB (target <= ${TARGETS.rssSteadyMiB}: ${met(steady <= TARGETS.rssSteadyMiB)})`,
        `status writes ${result.statusWrites}: ${result.transitions} transitions, ${result.rewrites} rewrites (${due} due)`,
        '',
      ].join('\n') + '\n',
    );
    if (snapshotDir) log(`heap snapshot written to ${await heapSnapshot((signal) => child.kill(signal), snapshotDir)}`);
    process.stdout.write(JSON.stringify(result) + '\n');
  } finally {
    clearInterval(sampler);
  }
}

await runBench(new Resources(), main, log);
