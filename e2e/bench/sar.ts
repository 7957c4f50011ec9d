/**
 * `npm run bench:sar`: SubjectAccessReview decisions over loopback HTTP against one webhook server
 * (e2e/bench/sar-server.ts, a child process running a bundle built as the image's program is
 * (controller/build/bundle.mjs), with the image's node flags and a real info-level logger)
 * holding 10,000 sessions and 50 DenyPolicies in its caches, with grant checks made by the
 * replica's spoke clients (the kubeconfig of a ClusterConfig Secret) and answered by a fake spoke
 * API server over loopback HTTPS (e2e/bench/sar-spoke.ts, a third process).
 *
 * The load is vegeta (e2e/bench/vegeta.ts, built once from its Go module), open-loop at a fixed
 * rate (BENCH_RATE, default 1,000/s): request i is due at start + i/rate and is sent then by a
 * free worker (vegeta starts another whenever all are waiting), whether or not earlier ones have
 * returned. Latency is counted two ways, both printed:
 * - from each request's due time to its answer (the JSON's figures): a server that falls behind
 *   shows up as latency of every request it delayed, never as a quietly lower rate, and so does
 *   a stall of the whole machine that kept vegeta from sending; but vegeta's own lateness from
 *   sharing the two cores with the server is charged to the server too, which a spoke on a
 *   machine of its own would not see. An upper bound;
 * - from the send (vegeta's own figure): what the server took once a request reached it, but a
 *   stall that delayed the send as well is left out. A lower bound under host steal.
 * "generator late" is the difference: how late vegeta sent.
 * - warm-up: every request of the cached phases once (the grant cache filled), then
 *   BENCH_WARMUP_SECONDS of the cached mix at the rate, not measured (JIT, heap), in the same
 *   vegeta attack as the cached phase (on the connections it goes on with);
 * - cached: BENCH_SECONDS of the same mix at the rate, measured; its latencies are reported per
 *   kind: allow (a user with an approved session, the grant cache warm) and deny (a user without
 *   a session; the hint's dry runs come from the grant cache). The two kinds are interleaved, as
 *   a spoke sends them: measured one after the other, the deny answers aged unused through the
 *   allow phase and expired together at its start, so "cached deny" measured a burst of spoke
 *   calls instead;
 * - floor: the cached mix at the rate against a plain Node server in a process of its own
 *   (sar-floor.ts): what the machine and loopback alone add to a tail at the time of the run;
 *   BENCH_FLOOR_WORK_US adds that much busy work per request to it (default 0), to compare the
 *   webhook with a trivial server that costs as much CPU time;
 * - uncached (BENCH_UNCACHED_RATE, default 200/s): a session user, a new pod name per request,
 *   so every grant check goes to the spoke.
 * Then, separately, a closed loop (BENCH_CONCURRENCY in flight, default 32) for the maximum
 * decisions per second; its latencies are not reported, they are queueing at saturation.
 * Every answer is checked: a wrong decision, a failed answer or requests vegeta did not send in
 * time end the run. Prints a table and, last, one JSON line. BENCH_CPU_PROF=<dir> writes the server's CPU profile.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundle } from '../../controller/build/bundle.mjs';
import { createCa, createServingCert } from '../controlplane/certs.ts';
import { imageNodeFlags, root } from './image-command.ts';
import { runBench } from './run-bench.ts';
import { round } from './stats.ts';
import type { ServerMessage } from './sar-server.ts';
import { attack, latenciesFromDueTimes, stopAttacks, vegetaBinary, type VegetaResult, type VegetaTarget } from './vegeta.ts';

const here = dirname(fileURLToPath(import.meta.url));
const RATE = Number(process.env.BENCH_RATE ?? 1000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 3);
const UNCACHED_RATE = Number(process.env.BENCH_UNCACHED_RATE ?? 200);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const CPU_PROF = process.env.BENCH_CPU_PROF;
const FLOOR_WORK_US = Number(process.env.BENCH_FLOOR_WORK_US ?? 0);
if (!Number.isFinite(FLOOR_WORK_US) || FLOOR_WORK_US < 0) throw new Error(`BENCH_FLOOR_WORK_US must be a number of microseconds >= 0, not "${process.env.BENCH_FLOOR_WORK_US}"`);
const TOKEN = 'bench-webhook-token';
/** The bench server, bundled as the image's program is (no tsx at run time, as in production). */
const SERVER_BUNDLE = join(root, 'build', 'bench', 'sar-server.mjs');
/** The machine's floor (sar-floor.ts), bundled and run the same way. */
const FLOOR_BUNDLE = join(root, 'build', 'bench', 'sar-floor.mjs');
const log = (line: string): void => void process.stderr.write(`[bench:sar] ${line}\n`);
/** The table, on stdout before the JSON line. */
const print = (line: string): void => console.log(line);

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

interface Decision {
  readonly cluster: string;
  readonly body: Buffer;
  readonly expect: boolean;
  /** Which figures the latency counts toward, in a mixed phase. */
  readonly kind: string;
}

interface Latencies {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

function latenciesOf(values: Float64Array): Latencies {
  values.sort();
  return { p50: percentile(values, 50), p99: percentile(values, 99), max: values[values.length - 1] ?? 0 };
}

interface PhaseResult extends Latencies {
  readonly sent: number;
  /** Latencies of the requests of each kind (Decision.kind), as the JSON counts them. */
  readonly byKind: ReadonlyMap<string, Latencies>;
  /** Answered decisions per second over the phase. */
  readonly answeredPerS: number;
}

class Resources {
  dir: string | undefined;
  child: ReturnType<typeof fork> | undefined;
  spoke: ReturnType<typeof fork> | undefined;
  floor: ReturnType<typeof fork> | undefined;
  agent = new Agent({ keepAlive: true, maxSockets: 256 });
  logBytes = 0;
  logLines = 0;
  private cleaned: Promise<void> | undefined;

  cleanup(): Promise<void> {
    this.cleaned ??= (async () => {
      stopAttacks();
      this.agent.destroy();
      for (const child of [this.child, this.spoke, this.floor]) {
        if (child === undefined || child.exitCode !== null || child.signalCode !== null) continue;
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        if (child.connected) child.disconnect();
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      if (this.dir !== undefined) await rm(this.dir, { recursive: true, force: true });
    })();
    return this.cleaned;
  }
}

function review(user: string, groups: string[], resource: Record<string, string>): Buffer {
  return Buffer.from(JSON.stringify({ apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec: { user, groups, resourceAttributes: resource } }));
}

/** user-<k> holds an approved session on cluster-<k mod 10> (sar-server.ts). */
const sessionUser = (k: number) => ({ cluster: `cluster-${k % 10}`, user: `user-${k}@example.com` });
const pods = (name = '') => ({ verb: 'get', resource: 'pods', version: 'v1', namespace: 'payments', ...(name ? { name } : {}) });
const developers = ['developers', 'system:authenticated'];

interface MachineTimes {
  readonly cpus: number;
  /** Summed over CPUs, in clock ticks: busy (user, nice, system, irq, softirq), all, steal. */
  readonly busy: number;
  readonly total: number;
  readonly steal: number;
}

/** The machine's CPU time from /proc/stat (Linux); zeros elsewhere. */
async function machineTimes(): Promise<MachineTimes> {
  const text = await readFile('/proc/stat', 'utf8').catch(() => '');
  const cpus = (text.match(/^cpu\d+ /gm) ?? []).length;
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = (/^cpu +(.*)$/m.exec(text)?.[1] ?? '').split(/\s+/).map(Number);
  return { cpus, busy: user + nice + system + irq + softirq, total: user + nice + system + idle + iowait + irq + softirq + steal, steal };
}

/** A process's CPU time (user and system) in milliseconds, from /proc/<pid>/stat (Linux); 0 elsewhere. */
async function processCpuMs(pid: number | undefined): Promise<number> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  // The fields after the command name, which is in parentheses and may hold spaces.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) * 10;
}

/** Busy share and host steal between two readings (USER_HZ is 100 on Linux). */
function machineDelta(before: MachineTimes, after: MachineTimes): { cpus: number; busyPercent: number; stealMs: number } {
  const total = Math.max(1, after.total - before.total);
  return { cpus: after.cpus, busyPercent: (100 * (after.busy - before.busy)) / total, stealMs: (after.steal - before.steal) * 10 };
}

/** `status.allowed` of a SubjectAccessReview answer, or undefined when the body is not one. */
function allowedOf(body: Buffer): boolean | undefined {
  try {
    const allowed = (JSON.parse(body.toString('utf8')) as { status?: { allowed?: unknown } }).status?.allowed;
    return typeof allowed === 'boolean' ? allowed : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The next IPC message of a child (after sending `request`, when given); rejects when the child
 * exits first, naming it as `what`.
 */
function nextMessage<T>(child: ChildProcess, what: string, request?: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`${what} exited (${code})`));
    child.once('exit', onExit);
    child.once('message', (m) => {
      child.off('exit', onExit);
      resolve(m as T);
    });
    if (request !== undefined) child.send(request);
  });
}

async function main(res: Resources): Promise<void> {
  res.dir = await mkdtemp(join(tmpdir(), 'bench-sar-'));
  const dir = res.dir;
  const [vegeta] = await Promise.all([vegetaBinary(), bundle(join(here, 'sar-server.ts'), SERVER_BUNDLE), bundle(join(here, 'sar-floor.ts'), FLOOR_BUNDLE)]);
  const ca = await createCa(dir, 'bench-spoke-ca');
  const serving = await createServingCert(dir, ca, 'bench-spoke', { ips: ['127.0.0.1'] });
  const spoke = fork(join(here, 'sar-spoke.ts'), [serving.certFile, serving.keyFile], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  res.spoke = spoke;
  const { port: spokePort } = await nextMessage<{ port: number }>(spoke, 'the fake spoke');
  // What a ClusterConfig's kubeconfig Secret holds: the spoke's URL and CA, and the hub's token there.
  const spokeKubeconfig = JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'spoke', cluster: { server: `https://127.0.0.1:${spokePort}`, 'certificate-authority-data': (await readFile(ca.certFile)).toString('base64') } }],
    users: [{ name: 'hub', user: { token: 'bench-hub-token' } }],
    contexts: [{ name: 'spoke', context: { cluster: 'spoke', user: 'hub' } }],
    'current-context': 'spoke',
  });
  const nodeFlags = await imageNodeFlags();
  const execArgv = [...nodeFlags, ...(CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF}`] : [])];
  // The floor first: the server's `ready` must find its listener (ask) attached when it comes.
  const floor = fork(FLOOR_BUNDLE, [String(FLOOR_WORK_US)], { execArgv: nodeFlags, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  res.floor = floor;
  const { port: floorPort } = await nextMessage<{ port: number }>(floor, 'the floor server');
  log(`server: node ${execArgv.join(' ')} ${SERVER_BUNDLE}`);
  const child = fork(SERVER_BUNDLE, [], {
    execArgv,
    env: { ...process.env, BENCH_SPOKE_KUBECONFIG: spokeKubeconfig },
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  res.child = child;
  // The server's info-level log (what a replica writes to its container's stdout), drained and counted.
  child.stdout?.on('data', (chunk: Buffer) => {
    res.logBytes += chunk.length;
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) res.logLines++;
  });
  const ready = await nextMessage<ServerMessage>(child, 'the bench server');
  if (ready.type !== 'ready') throw new Error('the bench server did not report its port');
  const port = ready.port;
  const url = (decision: Decision, at = port) => `http://127.0.0.1:${at}/api/breakglass/webhook/authorize/${decision.cluster}`;
  const headers = { 'Content-Type': 'application/json', Authorization: `Bearer ${TOKEN}` };

  /** One decision over Node's http (the grant cache's first fill); resolves with `status.allowed`. */
  const decideOnce = (decision: Decision) =>
    new Promise<boolean>((resolve, reject) => {
      const req = request(url(decision), { method: 'POST', agent: res.agent, headers: { ...headers, 'content-length': decision.body.length } }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const allowed = allowedOf(Buffer.concat(chunks));
          if (response.statusCode !== 200 || allowed === undefined) reject(new Error(`HTTP ${response.statusCode}: ${Buffer.concat(chunks).toString().slice(0, 200)}`));
          else resolve(allowed);
        });
      });
      req.on('error', reject);
      req.end(decision.body);
    });

  const stats = async () => {
    const s = await nextMessage<ServerMessage>(child, 'the bench server', 'stats');
    if (s.type !== 'stats') throw new Error('the bench server did not report its stats');
    return s;
  };
  /** Reviews the fake spoke has answered so far: grant checks the grant cache could not answer, and its renewals. */
  const spokeReviews = async () => (await nextMessage<{ answered: number }>(spoke, 'the fake spoke', 'count')).answered;
  /** The counters a phase's figures are the difference of (the floor's CPU time and the machine's for the floor). */
  interface Snapshot {
    readonly server?: Extract<ServerMessage, { type: 'stats' }>;
    readonly reviews?: number;
    readonly floorCpuMs?: number;
    readonly machine: MachineTimes;
  }
  type ServerSnapshot = Snapshot & Required<Pick<Snapshot, 'server' | 'reviews'>>;
  const ofServerSnapshot = (s: Snapshot): s is ServerSnapshot => s.server !== undefined && s.reviews !== undefined;
  const snapshot = async (ofServer: boolean): Promise<Snapshot> => ({
    ...(ofServer ? { server: await stats(), reviews: await spokeReviews() } : { floorCpuMs: await processCpuMs(floor.pid) }),
    machine: await machineTimes(),
  });
  const printMachine = (before: Snapshot, after: Snapshot, requests = 0): void => {
    if (before.floorCpuMs !== undefined && after.floorCpuMs !== undefined) {
      // Clock ticks of 10 ms: over a phase's thousands of requests, a few µs each.
      print(`${''.padEnd(13)} floor: ${((1000 * (after.floorCpuMs - before.floorCpuMs)) / Math.max(1, requests)).toFixed(0)} µs CPU per request`);
    }
    const machine = machineDelta(before.machine, after.machine);
    print(`${''.padEnd(13)} machine: ${machine.busyPercent.toFixed(0)}% of ${machine.cpus} CPUs busy, ${machine.stealMs.toFixed(0)} ms stolen by the host`);
  };
  /** The server's CPU, garbage collection, spoke calls, event-loop delay and handling time between two snapshots, and the machine's. */
  const printCounters = (before: ServerSnapshot, after: ServerSnapshot): void => {
    const server = after.server;
    const decisions = server.decisions - before.server.decisions;
    const scavenges = server.gc.scavenges - before.server.gc.scavenges;
    print(
      `${''.padEnd(13)} server: ${decisions} decisions, ${((server.cpuMicros - before.server.cpuMicros) / Math.max(1, decisions)).toFixed(0)} µs CPU each, ${scavenges} scavenges (${(server.gc.scavengeMs - before.server.gc.scavengeMs).toFixed(0)} ms, ` +
        `${((1000 * scavenges) / Math.max(1, decisions)).toFixed(0)} per 1,000 decisions), ${server.gc.markSweeps - before.server.gc.markSweeps} mark-sweeps, ${after.reviews - before.reviews} spoke reviews, ` +
        `event-loop delay p99 ${server.loopDelay.p99Ms.toFixed(1)} ms, max ${server.loopDelay.maxMs.toFixed(1)} ms; handling p50 ${server.handling.p50Ms.toFixed(2)} ms, p99 ${server.handling.p99Ms.toFixed(2)} ms, max ${server.handling.maxMs.toFixed(1)} ms`,
    );
    printMachine(before, after);
  };

  /**
   * One vegeta attack on `decisions` (round-robin): `warmupSeconds` on the same connections, not
   * measured, then `seconds` measured. Every answer is checked: a wrong decision is a bug, and a
   * failed answer (an empty 500 when a spoke call timed out, the fail-closed outcome) or requests
   * vegeta did not send in time make the figures meaningless; each ends the run. `floorPort`
   * sends it to the floor server instead.
   */
  const phase = async (
    label: string,
    decisions: readonly Decision[],
    rate: number,
    seconds: number,
    options: { warmupSeconds?: number; maxWorkers?: number; floorPort?: number } = {},
  ): Promise<PhaseResult> => {
    const warmupSeconds = rate > 0 ? (options.warmupSeconds ?? 0) : 0;
    const ofServer = options.floorPort === undefined;
    const targets: VegetaTarget[] = decisions.map((d, i) => ({ url: `${url(d, options.floorPort)}?i=${i}`, body: d.body, headers }));
    let before: Snapshot | undefined;
    let after: Snapshot | undefined;
    const all = await attack(vegeta, targets, {
      rate,
      seconds: warmupSeconds + seconds,
      dir,
      ...(options.maxWorkers === undefined ? {} : { maxWorkers: options.maxWorkers }),
      marks: { afterSeconds: warmupSeconds, onMark: async () => void (before = await snapshot(ofServer)), onEnd: async () => void (after = await snapshot(ofServer)) },
    });
    // By the target's index in its URL: vegeta numbers requests (seq) and takes their targets
    // in two steps, so concurrent workers can pair seq n with target n + 1.
    const decisionOf = (r: VegetaResult): Decision => {
      const decision = decisions[Number(new URL(r.url).searchParams.get('i') ?? 'NaN')];
      if (decision === undefined) throw new Error(`${label}: a result names no target of this phase: ${r.url}`);
      return decision;
    };
    const warmup = Math.round(rate * warmupSeconds);
    // Due times come from the whole attack; the warm-up's requests are then left out.
    const due = rate > 0 ? latenciesFromDueTimes(all, rate) : undefined;
    const measuredIndexes = all.flatMap((r, i) => (r.seq >= warmup ? [i] : []));
    const results = measuredIndexes.map((i) => all[i] as VegetaResult);
    // The JSON's figures: from the due time (an open-loop rate), else from the send (closed loop).
    const latencyMs = Float64Array.from(measuredIndexes, (i) => (due === undefined ? (all[i] as VegetaResult).latencyMs : (due.latencyMs[i] as number)));
    const askedAll = all.map(decisionOf);
    const asked = measuredIndexes.map((i) => askedAll[i] as Decision);
    let errors = 0;
    let firstError = '';
    let wrong = 0;
    all.forEach((r, i) => {
      const allowed = r.code === 200 ? allowedOf(r.body) : undefined;
      if (allowed === undefined) {
        if (errors++ === 0) firstError = r.error || `HTTP ${r.code}: ${r.body.toString().slice(0, 200)}`;
      } else if (allowed !== (askedAll[i] as Decision).expect) wrong++;
    });
    if (wrong > 0) throw new Error(`${label}: ${wrong} decisions were not as expected`);
    if (errors > 0) throw new Error(`${label}: ${errors} failed answers, first: ${firstError}`);
    const missing = rate > 0 ? Math.round(rate * seconds) - results.length : 0;
    if (missing > Math.max(1, 0.001 * rate * seconds)) throw new Error(`${label}: vegeta did not send ${missing} of the requests due (it fell behind)`);
    const first = results[0]?.sentAtMs ?? 0;
    const last = results.reduce((end, r) => Math.max(end, r.sentAtMs + r.latencyMs), first);
    const answeredPerS = (results.length * 1000) / Math.max(1, last - first);
    const kinds = [...new Set(decisions.map((d) => d.kind))];
    const ofKind = (values: Float64Array, kind: string) => latenciesOf(values.filter((_, i) => asked[i]?.kind === kind));
    const byKind = new Map(kinds.map((kind) => [kind, ofKind(latencyMs, kind)]));
    const result: PhaseResult = { sent: results.length, ...latenciesOf(Float64Array.from(latencyMs)), byKind, answeredPerS };
    const line = (name: string, l: Latencies, count: string) => `${name.padEnd(13)} ${count}  p50 ${l.p50.toFixed(2)} ms  p99 ${l.p99.toFixed(2)} ms  max ${l.max.toFixed(1)} ms`;
    // The same requests counted from their sends, and how late vegeta sent them.
    const fromSend = due === undefined ? undefined : Float64Array.from(results, (r) => r.latencyMs);
    const sendText = (values: Float64Array) => {
      const l = latenciesOf(values);
      return `  (from the send: p50 ${l.p50.toFixed(2)} ms, p99 ${l.p99.toFixed(2)} ms)`;
    };
    const late = due === undefined ? undefined : latenciesOf(Float64Array.from(measuredIndexes, (i) => due.sendLagMs[i] as number));
    print(
      line(label, result, `${String(results.length).padStart(6)} req ${rate > 0 ? `at ${rate}/s` : `${options.maxWorkers} in flight`} (answered ${answeredPerS.toFixed(0)}/s)`) +
        (fromSend === undefined ? '' : sendText(Float64Array.from(fromSend))) +
        (late === undefined ? '' : `  generator late p99 ${late.p99.toFixed(2)} ms, max ${late.max.toFixed(1)} ms`) +
        (missing > 0 ? `  ${missing} due requests not sent` : ''),
    );
    if (kinds.length > 1) {
      for (const kind of kinds) {
        const count = `${String(asked.filter((d) => d.kind === kind).length).padStart(6)} of them`;
        print(line(`  ${kind}`, byKind.get(kind) as Latencies, count) + (fromSend === undefined ? '' : sendText(fromSend.filter((_, i) => asked[i]?.kind === kind))));
      }
    }
    if (before !== undefined && after !== undefined && ofServerSnapshot(before) && ofServerSnapshot(after)) printCounters(before, after);
    else if (before !== undefined && after !== undefined) printMachine(before, after, results.length);
    return result;
  };

  const cachedAllow = (k: number): Decision => {
    const s = sessionUser(k);
    return { cluster: s.cluster, body: review(s.user, developers, pods()), expect: true, kind: 'allow' };
  };
  const cachedDeny = (k: number): Decision => {
    const s = sessionUser(k);
    return { cluster: s.cluster, body: review(`nobody-${k}@example.com`, developers, pods()), expect: false, kind: 'deny' };
  };
  // The cached mix: allow and deny interleaved over 200 users of each kind.
  const mix = Array.from({ length: 200 }, (_, k) => [cachedAllow(k), cachedDeny(k)]).flat();

  // Warm-up: every request of the mix once (the grant cache filled), then the mix at the rate.
  for (const decision of mix) {
    if ((await decideOnce(decision)) !== decision.expect) throw new Error(`warm-up: ${decision.kind} decision was not as expected`);
  }
  const cached = await phase('cached', mix, RATE, SECONDS, { warmupSeconds: WARMUP_SECONDS });
  const allow = cached.byKind.get('allow') as Latencies;
  const deny = cached.byKind.get('deny') as Latencies;
  // The same load, right after, against a plain Node server: what the machine alone adds now.
  const floorPhase = await phase(FLOOR_WORK_US > 0 ? `floor+${FLOOR_WORK_US}µs` : 'floor', mix, RATE, SECONDS, { warmupSeconds: 1, floorPort });
  const stamp = Date.now();
  const uncached = await phase(
    'uncached',
    Array.from({ length: Math.round(UNCACHED_RATE * SECONDS) }, (_, i) => {
      const s = sessionUser(i % 1000);
      return { cluster: s.cluster, body: review(s.user, developers, pods(`pod-${i}-${stamp}`)), expect: true, kind: 'uncached' };
    }),
    UNCACHED_RATE,
    SECONDS,
  );
  // Closed loop: the most decisions per second the server sustains (cached allow).
  const closed = await phase('closed loop', mix.filter((d) => d.kind === 'allow'), 0, SECONDS, { maxWorkers: CONCURRENCY });

  const final = await stats();
  const decisions = final.decisions;
  print(`server RSS    ${final.rssMiB.toFixed(0)} MiB (10,000 sessions, 50 DenyPolicies); ${decisions} decisions, ${res.logLines} log lines (${(res.logLines / decisions).toFixed(3)} per decision)`);
  print(`server GC     ${final.gc.scavenges} scavenges (${final.gc.scavengeMs.toFixed(0)} ms), ${final.gc.markSweeps} mark-sweeps (${final.gc.markSweepMs.toFixed(0)} ms), longest pause ${final.gc.maxPauseMs.toFixed(1)} ms`);
  console.log(
    JSON.stringify({
      decisionsPerS: round(closed.answeredPerS, 0),
      cachedAllowP50Ms: round(allow.p50, 3),
      cachedAllowP99Ms: round(allow.p99, 3),
      cachedDenyP50Ms: round(deny.p50, 3),
      cachedDenyP99Ms: round(deny.p99, 3),
      uncachedP50Ms: round(uncached.p50, 3),
      uncachedP99Ms: round(uncached.p99, 3),
      rssMiB: round(final.rssMiB, 0),
      // Not a target: the plain server's p99 under the same load, to read the others against.
      floorP99Ms: round(floorPhase.p99, 3),
      ...(FLOOR_WORK_US > 0 ? { floorWorkUs: FLOOR_WORK_US } : {}),
    }),
  );
}

await runBench(new Resources(), main, log);
