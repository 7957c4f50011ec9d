/**
 * `npm run bench:sar`: SubjectAccessReview decisions over loopback HTTP against one webhook server
 * (e2e/bench/sar-server.ts, a child process run with the image's node flags and a real info-level
 * logger) holding 10,000 sessions and 50 DenyPolicies in its caches, with grant checks made by the
 * replica's spoke clients (client-node, the kubeconfig of a ClusterConfig Secret) and answered by
 * a fake spoke API server over loopback HTTPS (e2e/bench/sar-spoke.ts, a third process).
 *
 * Latency phases are open-loop at a fixed rate (BENCH_RATE, default 1,000/s): request i is due at
 * start + i/rate and is sent then whether or not earlier ones have returned, and its latency runs
 * from that due time, not from when it was actually sent. So a server (or a load generator) that
 * falls behind shows up as latency of every request it delayed, never as a quietly lower rate
 * (no coordinated omission).
 * - warm-up: BENCH_WARMUP_SECONDS of the cached mix at the rate, not measured (JIT, heap);
 * - cached: BENCH_SECONDS of the same mix at the rate, measured; its latencies are reported per
 *   kind: allow (a user with an approved session, the grant cache warm) and deny (a user without
 *   a session; the hint's dry runs come from the grant cache). The two kinds are interleaved, as
 *   a spoke sends them: measured one after the other, the deny answers aged unused through the
 *   allow phase and expired together at its start, so "cached deny" measured a burst of spoke
 *   calls instead;
 * - uncached (BENCH_UNCACHED_RATE, default 200/s): a session user, a new pod name per request,
 *   so every grant check goes to the spoke.
 * Then, separately, a closed loop (BENCH_CONCURRENCY in flight, default 32) for the maximum
 * decisions per second; its latencies are not reported, they are queueing at saturation.
 * Prints a table and, last, one JSON line. BENCH_CPU_PROF=<dir> writes the server's CPU profile.
 */
import { fork } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createCa, createServingCert } from '../controlplane/certs.ts';
import { imageNodeFlags } from './image-command.ts';
import { runBench } from './run-bench.ts';
import { round } from './stats.ts';
import type { ServerMessage } from './sar-server.ts';

const here = dirname(fileURLToPath(import.meta.url));
const RATE = Number(process.env.BENCH_RATE ?? 1000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 3);
const UNCACHED_RATE = Number(process.env.BENCH_UNCACHED_RATE ?? 200);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const CPU_PROF = process.env.BENCH_CPU_PROF;
const TOKEN = 'bench-webhook-token';
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
  readonly kind?: string;
}

function latenciesOf(values: Float64Array): Latencies {
  values.sort();
  return { p50: percentile(values, 50), p99: percentile(values, 99), max: values[values.length - 1] ?? 0 };
}

interface Latencies {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

interface PhaseResult extends Latencies {
  readonly sent: number;
  readonly achievedPerS: number;
  /** Latencies of the requests of each kind (Decision.kind), when the phase mixes kinds. */
  readonly byKind: ReadonlyMap<string, Latencies>;
  /** How late the generator sent its latest request (included in the latencies). */
  readonly maxSendLagMs: number;
  readonly errors: number;
}

class Resources {
  dir: string | undefined;
  child: ReturnType<typeof fork> | undefined;
  spoke: ReturnType<typeof fork> | undefined;
  agent = new Agent({ keepAlive: true, maxSockets: 256 });
  logBytes = 0;
  logLines = 0;
  private cleaned: Promise<void> | undefined;

  cleanup(): Promise<void> {
    this.cleaned ??= (async () => {
      this.agent.destroy();
      for (const child of [this.child, this.spoke]) {
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

/** The generator's own stalls: they delay sends and reads, and count as latency. */
const generatorDelay = monitorEventLoopDelay({ resolution: 1 });
generatorDelay.enable();

async function main(res: Resources): Promise<void> {
  res.dir = await mkdtemp(join(tmpdir(), 'bench-sar-'));
  const ca = await createCa(res.dir, 'bench-spoke-ca');
  const serving = await createServingCert(res.dir, ca, 'bench-spoke', { ips: ['127.0.0.1'] });
  const spoke = fork(join(here, 'sar-spoke.ts'), [serving.certFile, serving.keyFile], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  res.spoke = spoke;
  const spokePort = await new Promise<number>((resolve, reject) => {
    spoke.once('exit', (code) => reject(new Error(`the fake spoke exited (${code})`)));
    spoke.once('message', (m) => resolve((m as { port: number }).port));
  });
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
  const execArgv = [...nodeFlags, '--import', 'tsx', ...(CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF}`] : [])];
  log(`server node flags: ${execArgv.join(' ')}`);
  const child = fork(join(here, 'sar-server.ts'), [], {
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
  const ask = (message: ServerMessage['type']) =>
    new Promise<ServerMessage>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`bench server exited (${code})`));
      child.once('exit', onExit);
      child.once('message', (m) => {
        child.off('exit', onExit);
        resolve(m as ServerMessage);
      });
      if (message !== 'ready') child.send(message);
    });
  const ready = await ask('ready');
  if (ready.type !== 'ready') throw new Error('the bench server did not report its port');
  const port = ready.port;

  /** One decision; calls back with the HTTP status and `status.allowed`. */
  const send = (decision: Decision, done: (error: Error | undefined, allowed: boolean) => void): void => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: `/api/breakglass/webhook/authorize/${decision.cluster}`,
        method: 'POST',
        agent: res.agent,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}`, 'content-length': decision.body.length },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          if (response.statusCode !== 200) done(new Error(`HTTP ${response.statusCode}: ${text}`), false);
          else done(undefined, (JSON.parse(text) as { status: { allowed: boolean } }).status.allowed);
        });
      },
    );
    req.on('error', (error) => done(error, false));
    req.end(decision.body);
  };
  const decideOnce = (decision: Decision) =>
    new Promise<boolean>((resolve, reject) => send(decision, (error, allowed) => (error ? reject(error) : resolve(allowed))));

  const stats = async () => {
    const s = await ask('stats');
    if (s.type !== 'stats') throw new Error('the bench server did not report its stats');
    return s;
  };
  /** Runs a phase and prints the server's garbage collection during it. */
  const measured = async <T>(phase: () => Promise<T>): Promise<T> => {
    const before = await stats();
    generatorDelay.reset();
    const result = await phase();
    const generator = `generator event-loop delay p99 ${(generatorDelay.percentile(99) / 1e6).toFixed(1)} ms, max ${(generatorDelay.max / 1e6).toFixed(1)} ms`;
    const after = await stats();
    const decisions = after.decisions - before.decisions;
    const scavenges = after.gc.scavenges - before.gc.scavenges;
    print(
      `${''.padEnd(13)} server: ${decisions} decisions, ${((after.cpuMicros - before.cpuMicros) / Math.max(1, decisions)).toFixed(0)} µs CPU each, ${scavenges} scavenges (${(after.gc.scavengeMs - before.gc.scavengeMs).toFixed(0)} ms, ` +
        `${((1000 * scavenges) / Math.max(1, decisions)).toFixed(0)} per 1,000 decisions), ${after.gc.markSweeps - before.gc.markSweeps} mark-sweeps; ${generator}`,
    );
    return result;
  };

  /** Open loop: request i is due at start + i/rate; its latency is measured from that due time. */
  const openLoop = (label: string, rate: number, seconds: number, next: (i: number) => Decision): Promise<PhaseResult> =>
    measured(() => openLoopPhase(label, rate, seconds, next));
  const openLoopPhase = (label: string, rate: number, seconds: number, next: (i: number) => Decision): Promise<PhaseResult> =>
    new Promise<PhaseResult>((resolve, reject) => {
      const total = Math.round(rate * seconds);
      const latencies = new Float64Array(total);
      const interval = 1000 / rate;
      const start = performance.now() + 5;
      let sent = 0;
      let completed = 0;
      let wrong = 0;
      // Failed answers (an empty 500 when a spoke call timed out, the fail-closed outcome) are
      // counted and reported with their latency; a wrong decision is a bug and ends the run.
      let errors = 0;
      let firstError = '';
      let maxSendLagMs = 0;
      const kinds: (string | undefined)[] = new Array(total);
      const finish = () => {
        const elapsed = (performance.now() - start) / 1000;
        if (wrong > 0) return reject(new Error(`${label}: ${wrong} decisions were not as expected`));
        const byKind = new Map<string, Latencies>();
        for (const kind of new Set(kinds)) {
          if (kind === undefined) continue;
          byKind.set(kind, latenciesOf(Float64Array.from(latencies.filter((_, i) => kinds[i] === kind))));
        }
        const result = { sent: total, achievedPerS: total / elapsed, ...latenciesOf(latencies), byKind, maxSendLagMs, errors };
        const line = (name: string, l: Latencies, count: string) =>
          `${name.padEnd(13)} ${count}  p50 ${l.p50.toFixed(2)} ms  p99 ${l.p99.toFixed(2)} ms  max ${l.max.toFixed(1)} ms`;
        print(
          line(label, result, `${String(total).padStart(6)} req at ${rate}/s (achieved ${result.achievedPerS.toFixed(0)}/s)`) +
            `  (generator lag max ${maxSendLagMs.toFixed(1)} ms)` +
            (errors > 0 ? `  ${errors} failed answers, first: ${firstError}` : ''),
        );
        for (const [kind, l] of byKind) print(line(`  ${kind}`, l, `${String(kinds.filter((k) => k === kind).length).padStart(6)} of them`));
        resolve(result);
      };
      const tick = () => {
        const now = performance.now();
        while (sent < total && start + sent * interval <= now) {
          const i = sent++;
          const due = start + i * interval;
          if (now - due > maxSendLagMs) maxSendLagMs = now - due;
          const decision = next(i);
          kinds[i] = decision.kind;
          send(decision, (error, allowed) => {
            latencies[i] = performance.now() - due;
            if (error !== undefined) {
              if (errors++ === 0) firstError = error.message.slice(0, 200);
            } else if (allowed !== decision.expect) wrong++;
            if (++completed === total) finish();
          });
        }
        if (sent < total) setTimeout(tick, Math.max(0, start + sent * interval - performance.now()));
      };
      setTimeout(tick, 5);
    });

  const cachedAllow = (i: number): Decision => {
    const s = sessionUser(i % 200);
    return { cluster: s.cluster, body: review(s.user, developers, pods()), expect: true, kind: 'allow' };
  };
  const cachedDeny = (i: number): Decision => {
    const s = sessionUser(i % 200);
    return { cluster: s.cluster, body: review(`nobody-${i % 200}@example.com`, developers, pods()), expect: false, kind: 'deny' };
  };
  // The request bodies of the cached phases, built before the clock runs (the generator stays cheap).
  const allowBodies = Array.from({ length: 200 }, (_, k) => cachedAllow(k));
  const denyBodies = Array.from({ length: 200 }, (_, k) => cachedDeny(k));

  // Warm-up: connections and grant cache, then the cached mix at the rate (JIT, steady heap).
  for (let k = 0; k < 200; k++) {
    await decideOnce(allowBodies[k] as Decision);
    await decideOnce(denyBodies[k] as Decision);
  }
  const mix = (i: number) => ((i & 1) === 0 ? allowBodies : denyBodies)[(i >> 1) % 200] as Decision;
  if (WARMUP_SECONDS > 0) await openLoop('warm-up', RATE, WARMUP_SECONDS, mix);

  const cached = await openLoop('cached', RATE, SECONDS, mix);
  const allow = cached.byKind.get('allow') as Latencies;
  const deny = cached.byKind.get('deny') as Latencies;
  const uncached = await openLoop('uncached', UNCACHED_RATE, SECONDS, (i) => {
    const s = sessionUser(i % 1000);
    return { cluster: s.cluster, body: review(s.user, developers, pods(`pod-${i}-${Date.now()}`)), expect: true };
  });

  // Closed loop: the most decisions per second the server sustains (cached allow).
  let done = 0;
  let closedErrors = 0;
  let loopEnd = 0;
  const loopStart = performance.now();
  const until = loopStart + SECONDS * 1000;
  await measured(() =>
    Promise.all(
      Array.from({ length: CONCURRENCY }, async (_, w) => {
        for (let i = w; performance.now() < until; i += CONCURRENCY) {
          const allowed = await decideOnce(allowBodies[i % 200] as Decision).catch(() => undefined);
          if (allowed === false) throw new Error('closed loop: a cached allow was denied');
          if (allowed === undefined) closedErrors++;
          else done++;
        }
      }),
    ).then(() => {
      loopEnd = performance.now();
      print(`closed loop   ${done} decisions, ${(done / ((loopEnd - loopStart) / 1000)).toFixed(0)}/s (${CONCURRENCY} in flight)${closedErrors > 0 ? `, ${closedErrors} failed answers` : ''}`);
    }),
  );
  const decisionsPerS = done / ((loopEnd - loopStart) / 1000);
  const final = await stats();
  const decisions = final.decisions;
  print(`server RSS    ${final.rssMiB.toFixed(0)} MiB (10,000 sessions, 50 DenyPolicies); ${decisions} decisions, ${res.logLines} log lines (${(res.logLines / decisions).toFixed(3)} per decision)`);
  print(`server GC     ${final.gc.scavenges} scavenges (${final.gc.scavengeMs.toFixed(0)} ms), ${final.gc.markSweeps} mark-sweeps (${final.gc.markSweepMs.toFixed(0)} ms), longest pause ${final.gc.maxPauseMs.toFixed(1)} ms`);
  console.log(
    JSON.stringify({
      decisionsPerS: round(decisionsPerS, 0),
      cachedAllowP50Ms: round(allow.p50, 3),
      cachedAllowP99Ms: round(allow.p99, 3),
      cachedDenyP50Ms: round(deny.p50, 3),
      cachedDenyP99Ms: round(deny.p99, 3),
      uncachedP50Ms: round(uncached.p50, 3),
      uncachedP99Ms: round(uncached.p99, 3),
      rssMiB: round(final.rssMiB, 0),
    }),
  );
}

await runBench(new Resources(), main, log);
