/**
 * `npm run bench:failover`: wall-clock failover figures at the DEFAULT leader-election timings.
 *
 * Three real controller processes against a real API server (a local control plane, or the
 * cluster of E2E_KUBECONFIG). BENCH_RUNS times (default 5) the leader is SIGKILLed (crash
 * failover: kill -> another replica logs `is now the leader`), then BENCH_RUNS times it is
 * SIGTERMed (clean handoff, same measurement). A replica is restarted after every kill so three
 * always run. Prints a table and, last, one JSON line for machines.
 *
 * Times are `seenAt` of the log lines: the wall clock of this process when it read the line.
 */
import { CoordinationV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { installCrds } from '../../crds/install.ts';
import { optionDefinitions } from '../../controller/options.ts';
import { startControlPlane, type ControlPlane } from '../controlplane/controlplane.ts';
import { controllerBundle } from '../harness/controller-bundle.ts';
import { currentLeader, Replica, type LogLine } from '../harness/replicas.ts';
import { max, median, round } from './stats.ts';
import { eventually, waitGone } from '../harness/wait.ts';
import { runBench } from './run-bench.ts';

const LEASE_NAME = optionDefinitions.leaderElectId.default;
const LEASE_S = optionDefinitions.leaderElectLeaseDuration.default / 1000;
const RETRY_S = optionDefinitions.leaderElectRetryPeriod.default / 1000;
const RENEW_S = optionDefinitions.leaderElectRenewDeadline.default / 1000;
/** A follower takes over at most leaseDuration after the last renewal, plus one jittered retry. */
const CRASH_BOUND_S = LEASE_S + 1.2 * RETRY_S;
/** What a follower that only polls would pay at least; release + watch should beat it. */
const HANDOFF_BOUND_S = RETRY_S;
/** The targets at the default timings. */
const CRASH_MAX_TARGET_S = 17.9;
const HANDOFF_MEDIAN_TARGET_S = 1;

const LEADER_MSG = 'is now the leader';
const CLEANUP_MSG = 'Running breakglass session cleanup task';

interface Run {
  kind: 'SIGKILL' | 'SIGTERM';
  from: string;
  to: string;
  /** Kill -> another replica logs `is now the leader`. */
  failoverS: number;
  /** Kill -> the new leader's first cleanup pass. */
  cleanupS: number | undefined;
  /** How the killed leader ended: its exit code, or the signal that ended it. */
  exit: string;
}

const log = (text: string): void => void process.stderr.write(`[bench] ${text}\n`);


function runsFromEnv(): number {
  const raw = process.env.BENCH_RUNS ?? '5';
  const runs = Number(raw);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`BENCH_RUNS: "${raw}" is not a positive integer`);
  return runs;
}



/** Everything the bench started, so cleanup can stop it on success, error and Ctrl-C. */
class Resources {
  controlPlane: ControlPlane | undefined;
  replicas: Replica[] = [];
  bundle: string | undefined;
  private cleaned: Promise<void> | undefined;

  cleanup(): Promise<void> {
    this.cleaned ??= (async () => {
      await Promise.allSettled(this.replicas.map((r) => r.stop()));
      await this.controlPlane?.stop().catch((err: unknown) => log(`stopping the control plane failed: ${String(err)}`));
      // On Ctrl-C the control plane's own signal handler may have started the stop, and then
      // stop() returns at once: wait for its supervisors to be gone before this process exits.
      await waitGone(this.controlPlane?.supervisorPids ?? [], 15_000);
      if (this.bundle) await rm(this.bundle, { force: true });
    })();
    return this.cleaned;
  }
}

class FailoverBench {
  private started = 0;

  constructor(
    private readonly res: Resources,
    private readonly kc: KubeConfig,
    private readonly kubeconfigPath: string,
    private readonly namespace: string,
  ) {}

  async startReplica(): Promise<Replica> {
    const replica = await Replica.start({
      name: `bench-${this.started++}`,
      kubeconfigPath: this.kubeconfigPath,
      env: {
        LEADER_ELECT_NAMESPACE: this.namespace,
        ENABLE_WEBHOOKS: 'false',
        CLEANUP_INTERVAL: '1s',
        LOG_LEVEL: 'info',
      },
    });
    this.res.replicas.push(replica);
    return replica;
  }

  private async leaseHolder(): Promise<string> {
    const lease = await this.kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ name: LEASE_NAME, namespace: this.namespace });
    return lease.spec?.holderIdentity ?? '';
  }

  private running(): Replica[] {
    return this.res.replicas.filter((r) => r.running);
  }

  /**
   * A settled cluster before a kill: one leader that holds the Lease and runs cleanup, and every
   * follower has observed it (so the freshly restarted replica is a real standby, not booting).
   */
  private async settledLeader(): Promise<Replica> {
    const leader = await eventually('one leader holding the lease', 60_000, async () => {
      const l = currentLeader(this.running());
      return l && (await this.leaseHolder()) === l.identity ? l : undefined;
    });
    const since = leader.linesWith(LEADER_MSG).at(-1)?.seenAt ?? 0;
    await leader.waitForLog((l) => l.msg === CLEANUP_MSG && l.seenAt >= since, 30_000);
    await eventually('every follower observing the leader', 60_000, () => {
      const followers = this.running().filter((r) => r !== leader);
      const observed = followers.every((r) => r.linesWith('new leader observed').at(-1)?.holder === leader.identity);
      return followers.length === 2 && observed ? true : undefined;
    });
    return leader;
  }

  async measure(kind: Run['kind']): Promise<Run> {
    const leader = await this.settledLeader();
    const killedAt = Date.now();
    leader.signal(kind);
    const gained = await eventually<{ replica: Replica; line: LogLine }>('a new leader', 60_000, () => {
      for (const replica of this.running()) {
        if (replica === leader) continue;
        const line = replica.linesWith(LEADER_MSG).find((l) => l.seenAt >= killedAt);
        if (line) return { replica, line };
      }
      return undefined;
    });
    const cleanup = await gained.replica
      .waitForLog((l) => l.msg === CLEANUP_MSG && l.seenAt >= gained.line.seenAt, 30_000)
      .catch(() => undefined);
    const status = await leader.exited;
    this.res.replicas = this.res.replicas.filter((r) => r !== leader);
    await this.startReplica();
    return {
      kind,
      from: leader.name,
      to: gained.replica.name,
      failoverS: (gained.line.seenAt - killedAt) / 1000,
      cleanupS: cleanup ? (cleanup.seenAt - killedAt) / 1000 : undefined,
      exit: status.code !== null ? `code ${status.code}` : String(status.signal),
    };
  }
}

/** Same rounding as the JSON line, so table and JSON agree. */
function fmt(value: number | undefined): string {
  const rounded = value === undefined ? null : round(value);
  return rounded === null ? '-' : rounded.toFixed(2);
}

function printReport(crash: Run[], handoff: Run[]): void {
  const lines: string[] = [];
  lines.push('');
  lines.push(`failover at default timings: lease ${LEASE_S} s, renew deadline ${RENEW_S} s, retry ${RETRY_S} s`);
  lines.push('');
  lines.push('run  signal   from      to        failover s  first cleanup s  old leader ended');
  [...crash, ...handoff].forEach((r, i) => {
    lines.push(
      `${String(i + 1).padEnd(4)} ${r.kind.padEnd(8)} ${r.from.padEnd(9)} ${r.to.padEnd(9)} ${fmt(r.failoverS).padStart(10)}  ${fmt(r.cleanupS).padStart(15)}  ${r.exit}`,
    );
  });
  const crashS = crash.map((r) => r.failoverS);
  const handoffS = handoff.map((r) => r.failoverS);
  const crashMax = max(crashS);
  const handoffMedian = median(handoffS);
  lines.push('');
  lines.push('                 median s   max s   bound s   ratio to bound');
  lines.push(
    `crash failover   ${fmt(median(crashS)).padStart(8)}  ${fmt(crashMax).padStart(6)}  ${fmt(CRASH_BOUND_S).padStart(8)}   max ${fmt(crashMax / CRASH_BOUND_S)}`,
  );
  lines.push(
    `clean handoff    ${fmt(handoffMedian).padStart(8)}  ${fmt(max(handoffS)).padStart(6)}  ${fmt(HANDOFF_BOUND_S).padStart(8)}   median ${fmt(handoffMedian / HANDOFF_BOUND_S)}`,
  );
  lines.push(`first cleanup after crash: median ${fmt(median(crash.flatMap((r) => r.cleanupS ?? [])))} s`);
  lines.push('');
  const met = (ok: boolean): string => (ok ? 'met' : 'NOT met');
  lines.push(`target crash failover max <= ${CRASH_MAX_TARGET_S} s: ${met(crashMax <= CRASH_MAX_TARGET_S)}`);
  lines.push(`target clean handoff median < ${HANDOFF_MEDIAN_TARGET_S} s: ${met(handoffMedian < HANDOFF_MEDIAN_TARGET_S)}`);
  lines.push('');
  process.stdout.write(lines.join('\n') + '\n');
  process.stdout.write(
    JSON.stringify({
      crashFailoverMedianS: round(median(crashS)),
      crashFailoverMaxS: round(crashMax),
      handoffMedianS: round(handoffMedian),
      handoffMaxS: round(max(handoffS)),
      runs: crash.length,
      crashBoundS: round(CRASH_BOUND_S),
      handoffBoundS: round(HANDOFF_BOUND_S),
      crashFailoverMaxRatio: round(crashMax / CRASH_BOUND_S, 3),
      handoffMedianRatio: round(handoffMedian / HANDOFF_BOUND_S, 3),
    }) + '\n',
  );
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

async function main(res: Resources): Promise<void> {
  const runs = runsFromEnv();
  const { kc, path } = await connect(res);
  await installCrds(kc);
  const namespace = `bench-failover-${randomBytes(3).toString('hex')}`;
  await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: namespace } } });
  res.bundle = await controllerBundle();
  const bench = new FailoverBench(res, kc, path, namespace);
  log(`starting 3 replicas (lease in namespace ${namespace}); ${runs} runs per signal, each crash run takes ~${Math.ceil(CRASH_BOUND_S)} s`);
  await Promise.all([0, 1, 2].map(() => bench.startReplica()));

  const crash: Run[] = [];
  const handoff: Run[] = [];
  for (const [kind, results] of [['SIGKILL', crash], ['SIGTERM', handoff]] as const) {
    for (let i = 0; i < runs; i++) {
      const run = await bench.measure(kind);
      results.push(run);
      log(`${kind} ${i + 1}/${runs}: ${run.from} -> ${run.to} in ${fmt(run.failoverS)} s (first cleanup at ${fmt(run.cleanupS)} s)`);
    }
  }
  printReport(crash, handoff);
}

await runBench(new Resources(), main, log);
