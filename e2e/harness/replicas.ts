/**
 * Controller replicas as real OS processes (`controller/main.ts` through tsx), so tests can
 * kill, stop and resume them with real signals and read their structured logs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { controllerBundle } from './controller-bundle.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface LogLine {
  level: string;
  msg: string;
  /** Wall-clock ms in the test process when the line was read. */
  seenAt: number;
  [field: string]: unknown;
}

export interface ReplicaOptions {
  /** POD_NAME of the replica; its leader identity starts with it. */
  name: string;
  kubeconfigPath: string;
  /** Extra environment (CLEANUP_INTERVAL, LEADER_ELECT_LEASE_DURATION, ...). */
  env?: Record<string, string>;
  args?: string[];
  /**
   * `node` arguments that start the controller (flags, then the program); default the e2e
   * bundle with source maps. Benchmarks pass the image's command line (e2e/bench/image-command.ts).
   */
  command?: string[];
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Every replica process this test process started, so none outlives it. */
const liveReplicas = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of liveReplicas) child.kill('SIGKILL');
});

export class Replica {
  readonly logs: LogLine[] = [];
  readonly exited: Promise<ExitStatus>;
  private waiters: { predicate: (line: LogLine) => boolean; resolve: (line: LogLine) => void }[] = [];
  private stderr = '';

  private constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    liveReplicas.add(child);
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        liveReplicas.delete(child);
        resolve({ code, signal });
      }),
    );
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (text) => this.onLine(text));
    child.stderr!.on('data', (chunk: Buffer) => (this.stderr = (this.stderr + chunk.toString()).slice(-8000)));
  }

  static async start(options: ReplicaOptions): Promise<Replica> {
    // Port 0 everywhere: the replica reports what it bound in its `controller started` line.
    // (Picking free ports up front races when several replicas start at once.)
    const child = spawn(
      process.execPath,
      [
        ...(options.command ?? ['--enable-source-maps', await controllerBundle()]),
        '--api-bind-address=127.0.0.1:0',
        '--metrics-bind-address=127.0.0.1:0',
        '--health-probe-bind-address=127.0.0.1:0',
        ...(options.args ?? []),
      ],
      {
        cwd: root,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          KUBECONFIG: options.kubeconfigPath,
          POD_NAME: options.name,
          ...options.env,
        },
      },
    );
    const replica = new Replica(options.name, child);
    const failed = replica.exited.then((status) => {
      throw new Error(
        `replica ${options.name} exited during startup (${JSON.stringify(status)}): ${replica.stderr}\n` +
          replica.logs.slice(-5).map((l) => JSON.stringify(l)).join('\n'),
      );
    });
    try {
      await Promise.race([replica.waitForLog((l) => l.msg === 'controller started', 60_000), failed]);
    } catch (err) {
      await replica.stop();
      throw err;
    }
    failed.catch(() => undefined); // exits after startup are the test's business
    return replica;
  }

  /** Starts several replicas at once; if one fails, the others are stopped and the error is thrown. */
  static async startMany(options: readonly ReplicaOptions[]): Promise<Replica[]> {
    const results = await Promise.allSettled(options.map((o) => Replica.start(o)));
    const started = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure) {
      await Promise.all(started.map((r) => r.stop()));
      throw failure.reason;
    }
    return started;
  }

  /** Ports the replica bound (api, metrics, probes, and webhook / sar-tls when enabled). */
  get ports(): { api: number; metrics: number; probes: number; webhook?: number; 'sar-tls'?: number } {
    const line = this.logs.find((l) => l.msg === 'controller started');
    return (line?.ports ?? {}) as { api: number; metrics: number; probes: number; webhook?: number; 'sar-tls'?: number };
  }

  /** The leader-election identity this replica announced at startup. */
  get identity(): string {
    const line = this.logs.find((l) => l.msg === 'controller started');
    return String(line?.identity ?? '');
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** Resolves with the first log line (past or future) that matches. */
  waitForLog(predicate: (line: LogLine) => boolean, timeoutMs: number, from = 0): Promise<LogLine> {
    const past = this.logs.slice(from).find(predicate);
    if (past) return Promise.resolve(past);
    return new Promise((resolve, reject) => {
      const waiter = { predicate, resolve: (line: LogLine) => (clearTimeout(timer), resolve(line)) };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`replica ${this.name}: no matching log line within ${timeoutMs} ms; stderr: ${this.stderr.slice(-2000)}`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  linesWith(msg: string): LogLine[] {
    return this.logs.filter((l) => l.msg === msg);
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGCONT'); // a stopped process cannot handle SIGTERM
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(timer);
  }

  private onLine(text: string): void {
    let line: LogLine;
    try {
      line = { ...(JSON.parse(text) as Record<string, unknown>), seenAt: Date.now() } as LogLine;
    } catch {
      return; // not a log line (e.g. a stray print); ignore
    }
    this.logs.push(line);
    const matched = this.waiters.filter((w) => w.predicate(line));
    this.waiters = this.waiters.filter((w) => !matched.includes(w));
    for (const w of matched) w.resolve(line);
  }
}

/** The replica whose loops currently act: the last one to log `is now the leader` and still leading. */
export function currentLeader(replicas: readonly Replica[]): Replica | undefined {
  let best: { replica: Replica; at: number } | undefined;
  for (const replica of replicas) {
    if (!replica.running) continue;
    const gained = replica.linesWith('is now the leader').at(-1)?.seenAt ?? -1;
    const lost = replica.linesWith('lost leader status').at(-1)?.seenAt ?? -1;
    if (gained > lost && (!best || gained > best.at)) best = { replica, at: gained };
  }
  return best?.replica;
}
