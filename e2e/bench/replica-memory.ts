/**
 * Where a replica's resident memory is, for the benches that report its RSS: V8's heap and
 * external memory from its own prom-client process metrics, and the main thread's malloc heap
 * (native memory outside V8: TLS, I/O buffers, which glibc keeps resident after it is freed).
 * For diagnosis (BENCH_HEAP_SNAPSHOT=<dir>), a heap snapshot of the replica.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { eventually, sleep } from '../harness/wait.ts';

/** Resident KiB of the mappings called `name` in a /proc/<pid>/smaps text. */
export function mappingRssKiB(smaps: string, name: string): number {
  let total = 0;
  let inside = false;
  for (const line of smaps.split('\n')) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) inside = line.trimEnd().endsWith(` ${name}`);
    else if (inside && line.startsWith('Rss:')) total += Number(/\d+/.exec(line)?.[0] ?? 0);
  }
  return total;
}

const mib = (bytes: number): string => `${(bytes / 1048576).toFixed(1)} MiB`;

/** One line: heap used of total, external, RSS and peak, malloc heap, of the replica `pid` serving metrics on `metricsPort`. */
export async function memoryBreakdown(metricsPort: number, pid: number): Promise<string> {
  const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const metric = (name: string): number => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(metrics)?.[1] ?? Number.NaN);
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string): number => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? Number.NaN) * 1024;
  const mallocHeap = mappingRssKiB(await readFile(`/proc/${pid}/smaps`, 'utf8'), '[heap]') * 1024;
  return (
    `memory: heap used ${mib(metric('nodejs_heap_size_used_bytes'))} of ${mib(metric('nodejs_heap_size_total_bytes'))}, ` +
    `external ${mib(metric('nodejs_external_memory_bytes'))}, RSS ${mib(kib('VmRSS'))} (peak ${mib(kib('VmHWM'))}), malloc heap ${mib(mallocHeap)}`
  );
}

/**
 * Node flags that let `heapSnapshot` ask the replica for a snapshot into `dir`. Without
 * --heapsnapshot-signal SIGUSR2 would kill it; they only name where a snapshot goes and do not
 * change how the replica uses memory.
 */
export function heapSnapshotFlags(dir: string): string[] {
  return ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${dir}`];
}

/**
 * Has the replica (started with heapSnapshotFlags(dir)) write a heap snapshot into `dir` and
 * waits until the file stops growing; returns its path. Writing it runs a full GC first.
 */
export async function heapSnapshot(signal: (name: NodeJS.Signals) => void, dir: string): Promise<string> {
  const snapshots = async (): Promise<string[]> => (await readdir(dir).catch(() => [])).filter((f) => f.endsWith('.heapsnapshot'));
  const before = new Set(await snapshots());
  signal('SIGUSR2');
  const file = await eventually('the heap snapshot', 120_000, async () => (await snapshots()).find((f) => !before.has(f)));
  const path = join(dir, file);
  let size = -1;
  await eventually('the heap snapshot to be complete', 120_000, async () => {
    await sleep(1000);
    const now = (await stat(path)).size;
    const done = now > 0 && now === size;
    size = now;
    return done ? true : undefined;
  });
  return path;
}
