/**
 * vegeta (github.com/tsenart/vegeta), the constant-rate HTTP load generator, as the load of
 * `npm run bench:sar`: built once from its Go module (vegeta.sh), driven with JSON targets, its
 * results read back one by one (`vegeta encode -to=json`).
 *
 * A load generator written in Node cost about 280 µs of CPU per request on this 2-core machine
 * and stalled for up to 10 ms now and then (its own event loop); those stalls were most of the
 * p99 it measured. vegeta's pacer and workers cost a fraction of that.
 *
 * vegeta is open-loop: each request is sent when it is due by a free worker (it starts another
 * whenever all are waiting), whether or not earlier ones have been answered, so a server that
 * stalls cannot hold back the requests behind it. Its latency runs from the send; the bench also
 * counts it from each request's due time (attack start + seq / rate, latenciesFromDueTimes), so
 * that a stall of the machine that kept vegeta from sending is not left out.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** One request of an attack; vegeta sends the targets round-robin. */
export interface VegetaTarget {
  readonly url: string;
  readonly body: Buffer;
  readonly headers: Readonly<Record<string, string>>;
}

/** One answered (or failed) request, as `vegeta encode -to=json` writes it. */
export interface VegetaResult {
  /** The request's number in the attack: 0, 1, 2, ... in send order. */
  readonly seq: number;
  /** When it was sent, in milliseconds since the epoch (sub-millisecond precision). */
  readonly sentAtMs: number;
  /** From sending to the whole answer, in milliseconds. */
  readonly latencyMs: number;
  /** The HTTP status; 0 when there was no answer. */
  readonly code: number;
  readonly url: string;
  readonly body: Buffer;
  /** vegeta's error text ('' when none). */
  readonly error: string;
}

const TIMESTAMP = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/;

/** An RFC 3339 timestamp with up to nanoseconds, in milliseconds since the epoch (Date.parse keeps only milliseconds). */
export function parseTimestampMs(text: string): number {
  const match = TIMESTAMP.exec(text);
  if (match === null) throw new Error(`not an RFC 3339 timestamp: ${text}`);
  const [, seconds, fraction = '', zone] = match;
  return Date.parse(`${seconds}${zone}`) + Number(`0.${fraction || '0'}`) * 1000;
}

/** One line of `vegeta encode -to=json`. */
export function parseResultLine(line: string): VegetaResult {
  const raw = JSON.parse(line) as { seq: number; timestamp: string; latency: number; code: number; url: string; body?: string | null; error?: string };
  return {
    seq: raw.seq,
    sentAtMs: parseTimestampMs(raw.timestamp),
    latencyMs: raw.latency / 1e6,
    code: raw.code,
    url: raw.url,
    body: Buffer.from(raw.body ?? '', 'base64'),
    error: raw.error ?? '',
  };
}

export interface DueLatencies {
  /** Per result (same order): from the request's due time to its answer, in milliseconds. */
  readonly latencyMs: Float64Array;
  /** Per result (same order): how late the generator sent it, in milliseconds. */
  readonly sendLagMs: Float64Array;
}

/**
 * Latencies counted from the due times of a constant-rate attack. Request `seq` is due at
 * start + seq / rate; start is taken as the earliest `sentAt - seq / rate` (no request is sent
 * before it is due), so a generator that fell behind adds its lateness to every request it delayed.
 */
export function latenciesFromDueTimes(results: readonly VegetaResult[], ratePerS: number): DueLatencies {
  const interval = 1000 / ratePerS;
  let start = Number.POSITIVE_INFINITY;
  for (const r of results) start = Math.min(start, r.sentAtMs - r.seq * interval);
  const latencyMs = new Float64Array(results.length);
  const sendLagMs = new Float64Array(results.length);
  results.forEach((r, i) => {
    const lag = r.sentAtMs - (start + r.seq * interval);
    sendLagMs[i] = lag;
    latencyMs[i] = lag + r.latencyMs;
  });
  return { latencyMs, sendLagMs };
}

/** The vegeta binary, built and cached by vegeta.sh on first use. */
export function vegetaBinary(): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [join(here, 'vegeta.sh')], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('error', reject);
    // 'close', not 'exit': stdout may still hold the path when the process has exited.
    child.once('close', (code) => {
      const path = out.trim().split('\n').at(-1) ?? '';
      if (code !== 0 || path === '') reject(new Error(`e2e/bench/vegeta.sh failed (exit ${code}${path === '' ? ', no path printed' : ''})`));
      else resolve(path);
    });
  });
}

/** vegeta processes still running; stopAttacks() kills them (a bench interrupted mid-phase). */
const running = new Set<ChildProcess>();

function run(binary: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'inherit'] });
    running.add(child);
    child.once('error', (error) => {
      running.delete(child);
      reject(error);
    });
    child.once('exit', (code, signal) => {
      running.delete(child);
      if (code === 0) resolve();
      else reject(new Error(`vegeta ${args[0]} failed (${signal ?? `exit ${code}`})`));
    });
  });
}

/** Kills every vegeta process this module started that is still running. */
export function stopAttacks(): void {
  for (const child of running) child.kill('SIGKILL');
}

export interface AttackOptions {
  /** Requests per second; 0 sends as fast as `maxWorkers` requests in flight allow. */
  readonly rate: number;
  readonly seconds: number;
  /** Requests in flight at most (required with rate 0). */
  readonly maxWorkers?: number;
  /** Where the targets and the results are written. */
  readonly dir: string;
  /**
   * Called `afterSeconds` into the attack, on the same connections (a warm-up ends there), and
   * again when the attack has ended, before its results are read: so that what it measures
   * (the server's and the machine's counters) spans the load and nothing else.
   */
  readonly marks?: { readonly afterSeconds: number; readonly onMark: () => Promise<void>; readonly onEnd: () => Promise<void> };
}

/** Runs one attack on `targets` (round-robin) and returns its results in send order. */
export async function attack(binary: string, targets: readonly VegetaTarget[], options: AttackOptions): Promise<VegetaResult[]> {
  const targetFile = join(options.dir, 'targets.jsonl');
  const resultFile = join(options.dir, 'results.bin');
  const jsonFile = join(options.dir, 'results.jsonl');
  await writeFile(
    targetFile,
    targets
      .map((t) => JSON.stringify({ method: 'POST', url: t.url, body: t.body.toString('base64'), header: Object.fromEntries(Object.entries(t.headers).map(([k, v]) => [k, [v]])) }))
      .join('\n') + '\n',
  );
  const attacking = run(binary, [
    'attack',
    '-format=json',
    `-targets=${targetFile}`,
    `-rate=${options.rate}/1s`,
    `-duration=${options.seconds}s`,
    '-keepalive=true',
    '-http2=false',
    '-timeout=10s',
    ...(options.maxWorkers === undefined ? [] : [`-workers=${options.maxWorkers}`, `-max-workers=${options.maxWorkers}`]),
    `-output=${resultFile}`,
  ]);
  const marks = options.marks;
  if (marks !== undefined) {
    // A failed attack rejects `attacking`, awaited below; the mark must not wait for it.
    const ended = attacking.then(
      () => true,
      () => true,
    );
    let timer: NodeJS.Timeout | undefined;
    const early = await Promise.race([ended, new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), marks.afterSeconds * 1000)))]);
    clearTimeout(timer);
    if (early) {
      await attacking;
      throw new Error(`the attack ended before its mark at ${marks.afterSeconds} s`);
    }
    await marks.onMark();
  }
  await attacking;
  await marks?.onEnd();
  await run(binary, ['encode', '-to=json', `-output=${jsonFile}`, resultFile]);
  const results: VegetaResult[] = [];
  for await (const line of createInterface({ input: createReadStream(jsonFile), crlfDelay: Infinity })) {
    if (line.trim() !== '') results.push(parseResultLine(line));
  }
  return results.sort((a, b) => a.seq - b.seq);
}
