/**
 * `npm run bench:sar`: SubjectAccessReview decisions over loopback HTTP against one webhook server
 * (e2e/bench/sar-server.ts, a child process) holding 10,000 sessions and 50 DenyPolicies in its
 * caches, with grant checks answered by a fake spoke over loopback HTTP.
 *
 * Phases, each an open-loop load at a fixed rate (requests are sent on schedule whether or not
 * earlier ones have returned, so a slow server shows up as latency, not as a lower rate):
 * - cached allow: a user with an approved session, same request (grant cache warm);
 * - cached deny: a user without a session (the hint's dry runs come from the grant cache);
 * - uncached: a session user, a new pod name per request (every grant check goes to the spoke);
 * then a closed loop (32 in flight) for the sustainable decisions per second.
 * Prints a table and, last, one JSON line.
 */
import { fork } from 'node:child_process';
import { Agent, createServer, request } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { round } from './stats.ts';

const here = dirname(fileURLToPath(import.meta.url));
const RATE = Number(process.env.BENCH_RATE ?? 1000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const UNCACHED_RATE = Number(process.env.BENCH_UNCACHED_RATE ?? 200);
const TOKEN = 'bench-webhook-token';

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

// The fake spoke: team groups may get pods; nothing else is allowed.
const spoke = createServer((req, res) => {
  let body = '';
  req.on('data', (chunk: Buffer) => (body += chunk.toString()));
  req.on('end', () => {
    const { groups, attributes } = JSON.parse(body) as { groups: string[]; attributes: { resource?: { resource: string } } };
    const allowed = groups.some((g) => g.startsWith('team-')) && attributes.resource?.resource === 'pods';
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ allowed }));
  });
});
await new Promise<void>((resolve) => spoke.listen(0, '127.0.0.1', resolve));
const spokeUrl = `http://127.0.0.1:${(spoke.address() as { port: number }).port}/sar`;

const child = fork(join(here, 'sar-server.ts'), [], {
  execArgv: ['--import', 'tsx'],
  env: { ...process.env, BENCH_SPOKE_URL: spokeUrl },
  stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
});
const port = await new Promise<number>((resolve, reject) => {
  child.once('exit', (code) => reject(new Error(`bench server exited (${code})`)));
  child.stdout?.once('data', (chunk: Buffer) => resolve((JSON.parse(chunk.toString()) as { port: number }).port));
});
const agent = new Agent({ keepAlive: true, maxSockets: 64 });

function review(user: string, groups: string[], resource: Record<string, string>): string {
  return JSON.stringify({ apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec: { user, groups, resourceAttributes: resource } });
}

async function decide(cluster: string, body: string): Promise<{ ms: number; allowed: boolean }> {
  const started = performance.now();
  const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: `/api/breakglass/webhook/authorize/${cluster}`,
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}`, 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let data = '';
        res.on('data', (chunk: Buffer) => (data += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: data }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
  const ms = performance.now() - started;
  if (status !== 200) throw new Error(`HTTP ${status}: ${text}`);
  return { ms, allowed: (JSON.parse(text) as { status: { allowed: boolean } }).status.allowed };
}

/** user-<k> holds an approved session on cluster-<k mod 10>. */
const sessionUser = (k: number) => ({ cluster: `cluster-${k % 10}`, user: `user-${k}@example.com` });
const pods = (name = '') => ({ verb: 'get', resource: 'pods', version: 'v1', namespace: 'payments', ...(name ? { name } : {}) });

async function openLoop(label: string, rate: number, seconds: number, next: (i: number) => { cluster: string; body: string; expect: boolean }) {
  const total = Math.round(rate * seconds);
  const latencies: number[] = [];
  const started = performance.now();
  const pending: Promise<void>[] = [];
  let wrong = 0;
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const request = next(i);
    pending.push(
      decide(request.cluster, request.body).then((r) => {
        latencies.push(r.ms);
        if (r.allowed !== request.expect) wrong++;
      }),
    );
  }
  await Promise.all(pending);
  const elapsed = (performance.now() - started) / 1000;
  if (wrong > 0) throw new Error(`${label}: ${wrong} decisions were not as expected`);
  latencies.sort((a, b) => a - b);
  const result = { label, sent: total, achievedPerS: total / elapsed, p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies.at(-1) ?? 0 };
  console.log(`${label.padEnd(14)} ${String(total).padStart(6)} req  ${result.achievedPerS.toFixed(0).padStart(5)}/s  p50 ${result.p50.toFixed(2)} ms  p99 ${result.p99.toFixed(2)} ms  max ${result.max.toFixed(1)} ms`);
  return result;
}

try {
  const developers = ['developers', 'system:authenticated'];
  // Warm-up: JIT, connections, grant cache for the cached phases.
  for (let k = 0; k < 200; k++) {
    const s = sessionUser(k);
    await decide(s.cluster, review(s.user, developers, pods()));
    await decide(s.cluster, review(`nobody-${k}@example.com`, developers, pods()));
  }
  const allow = await openLoop('cached allow', RATE, SECONDS, (i) => {
    const s = sessionUser(i % 200);
    return { cluster: s.cluster, body: review(s.user, developers, pods()), expect: true };
  });
  const deny = await openLoop('cached deny', RATE, SECONDS, (i) => {
    const s = sessionUser(i % 200);
    return { cluster: s.cluster, body: review(`nobody-${i % 200}@example.com`, developers, pods()), expect: false };
  });
  const uncached = await openLoop('uncached', UNCACHED_RATE, SECONDS, (i) => {
    const s = sessionUser(i % 1000);
    return { cluster: s.cluster, body: review(s.user, developers, pods(`pod-${i}-${Date.now()}`)), expect: true };
  });

  // Closed loop: how many decisions per second the server sustains.
  let done = 0;
  const until = performance.now() + SECONDS * 1000;
  const loopStart = performance.now();
  await Promise.all(
    Array.from({ length: 32 }, async (_, w) => {
      let i = w;
      while (performance.now() < until) {
        const s = sessionUser(i++ % 200);
        await decide(s.cluster, review(s.user, developers, pods()));
        done++;
      }
    }),
  );
  const decisionsPerS = done / ((performance.now() - loopStart) / 1000);
  console.log(`closed loop    ${done} decisions, ${decisionsPerS.toFixed(0)}/s (32 in flight)`);
  const rssMiB = await new Promise<number>((resolve) => {
    child.once('message', (m) => resolve((m as { rssMiB: number }).rssMiB));
    child.send('rss');
  });
  console.log(`server RSS     ${rssMiB.toFixed(0)} MiB (10,000 sessions, 50 DenyPolicies)`);
  console.log(
    JSON.stringify({
      decisionsPerS: round(decisionsPerS, 0),
      cachedAllowP50Ms: round(allow.p50, 3),
      cachedAllowP99Ms: round(allow.p99, 3),
      cachedDenyP50Ms: round(deny.p50, 3),
      cachedDenyP99Ms: round(deny.p99, 3),
      uncachedP50Ms: round(uncached.p50, 3),
      uncachedP99Ms: round(uncached.p99, 3),
      rssMiB: round(rssMiB, 0),
    }),
  );
} finally {
  child.disconnect();
  agent.destroy();
  spoke.close();
}
