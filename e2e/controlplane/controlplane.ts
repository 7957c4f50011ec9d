/**
 * A real Kubernetes control plane as local processes: etcd + kube-apiserver, built from their
 * Go modules by build.sh (cached by version). This is what controller-runtime's envtest does,
 * plus static-token test users and a kubeconfig per identity.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { createCa, createKeyPair, createServingCert } from './certs.ts';

const here = dirname(fileURLToPath(import.meta.url));

export interface StaticUser {
  /** Short name used by tests ("admin", "alice", "bob"). */
  name: string;
  username: string;
  groups: string[];
}

/** The identities every local control plane has. */
export const STATIC_USERS: readonly StaticUser[] = [
  { name: 'admin', username: 'breakglass-e2e-admin', groups: ['system:masters'] },
  { name: 'alice', username: 'alice@example.com', groups: ['developers'] },
  { name: 'bob', username: 'bob@example.com', groups: ['approvers'] },
];

export interface ControlPlaneBinaries {
  dir: string;
  etcd: string;
  kubeApiserver: string;
  kubectl: string;
}

export interface RunningIdentity extends StaticUser {
  token: string;
  kubeconfigPath: string;
}

export interface ControlPlane {
  server: string;
  version: string;
  caFile: string;
  caData: string;
  binaries: ControlPlaneBinaries;
  identities: RunningIdentity[];
  /** Milliseconds from spawning etcd to kube-apiserver /readyz answering 200. */
  startToReadyMs: number;
  workDir: string;
  /** Process ids of the supervisors of etcd and kube-apiserver (each binary is their child). */
  supervisorPids: number[];
  stop(): Promise<void>;
}

/** Builds (or finds in the cache) etcd, kube-apiserver and kubectl. */
export async function ensureBinaries(): Promise<ControlPlaneBinaries> {
  // The build log goes to our stderr: a first build takes minutes and should show progress.
  const stdout = await new Promise<string>((resolve, reject) => {
    const child = spawn('bash', [join(here, 'build.sh')], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`e2e/controlplane/build.sh failed (exit ${code})`))));
  });
  const dir = stdout.trim().split('\n').pop() as string;
  return { dir, etcd: join(dir, 'etcd'), kubeApiserver: join(dir, 'kube-apiserver'), kubectl: join(dir, 'kubectl') };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function httpsGet(url: string, ca: string, token: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, headers: { Authorization: `Bearer ${token}` }, timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** Every supervised process of every control plane of this process, for signal cleanup. */
const liveControlPlanes = new Set<ControlPlane>();
let signalHandlersInstalled = false;

function installSignalHandlers(): void {
  if (signalHandlersInstalled) return;
  signalHandlersInstalled = true;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      void Promise.allSettled([...liveControlPlanes].map((cp) => cp.stop())).finally(() => {
        process.kill(process.pid, signal);
      });
    });
  }
  // Last resort on a synchronous exit: the supervisors notice the parent is gone within a second.
  process.once('exit', () => {
    for (const cp of liveControlPlanes) cp.stop().catch(() => undefined);
  });
}

function supervise(binary: string, args: string[], log: string): ChildProcess {
  // detached: own process group, so a Ctrl-C to the test runner's group reaches it only
  // through our handler, which stops etcd after the API server.
  const child = spawn(join(here, 'supervise.sh'), [String(process.pid), log, binary, ...args], {
    detached: true,
    stdio: 'ignore',
  });
  child.unref();
  return child;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      process.kill(-(child.pid as number), 'SIGKILL');
    } catch {
      /* already gone */
    }
  }, 3000);
  await exited;
  clearTimeout(timer);
}

export function kubeconfigYaml(server: string, caData: string, user: string, token: string): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'breakglass-e2e', cluster: { server, 'certificate-authority-data': caData } }],
    users: [{ name: user, user: { token } }],
    contexts: [{ name: user, context: { cluster: 'breakglass-e2e', user } }],
    'current-context': user,
  });
}

export interface StartOptions {
  /** Extra kube-apiserver flags; `{workDir}` in a flag is replaced by the work directory. */
  extraApiServerArgs?: string[];
  /**
   * Files written into the work directory before kube-apiserver starts (relative name ->
   * content; `{workDir}` in the content is replaced too), e.g. an AuthorizationConfiguration.
   */
  files?: Record<string, string>;
  /**
   * Replaces `--authorization-mode=RBAC`, e.g. `['--authorization-config={workDir}/authz.yaml']`
   * (the API server refuses both together).
   */
  authorizationArgs?: string[];
  log?: (line: string) => void;
}

/** Starts etcd and kube-apiserver on free loopback ports and waits for /readyz. */
export async function startControlPlane(options: StartOptions = {}): Promise<ControlPlane> {
  const log = options.log ?? ((line: string) => process.stderr.write(`[controlplane] ${line}\n`));
  const binaries = await ensureBinaries();
  const workDir = await mkdtemp(join(tmpdir(), 'breakglass-cp-'));
  const [ca, saKeys] = await Promise.all([createCa(workDir), createKeyPair(workDir, 'service-account')]);
  const serving = await createServingCert(workDir, ca, 'kube-apiserver', {
    ips: ['127.0.0.1'],
    dns: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc'],
  });
  const caPem = await readFile(ca.certFile, 'utf8');
  const caData = Buffer.from(caPem).toString('base64');

  const identities: RunningIdentity[] = STATIC_USERS.map((u) => ({
    ...u,
    token: randomBytes(24).toString('hex'),
    kubeconfigPath: join(workDir, `${u.name}.kubeconfig`),
  }));
  const tokenFile = join(workDir, 'tokens.csv');
  await writeFile(
    tokenFile,
    identities.map((i, n) => `${i.token},${i.username},uid-${n},"${i.groups.join(',')}"`).join('\n') + '\n',
  );

  const inWorkDir = (text: string): string => text.replaceAll('{workDir}', workDir);
  for (const [name, content] of Object.entries(options.files ?? {})) await writeFile(join(workDir, name), inWorkDir(content));

  const [etcdClient, etcdPeer, apiPort] = await Promise.all([freePort(), freePort(), freePort()]);
  const server = `https://127.0.0.1:${apiPort}`;
  const started = performance.now();
  const processes: ChildProcess[] = [];

  const etcd = supervise(binaries.etcd, [
    '--name', 'default',
    '--data-dir', join(workDir, 'etcd'),
    '--listen-client-urls', `http://127.0.0.1:${etcdClient}`,
    '--advertise-client-urls', `http://127.0.0.1:${etcdClient}`,
    '--listen-peer-urls', `http://127.0.0.1:${etcdPeer}`,
    '--initial-advertise-peer-urls', `http://127.0.0.1:${etcdPeer}`,
    '--initial-cluster', `default=http://127.0.0.1:${etcdPeer}`,
    '--unsafe-no-fsync',
    '--log-level', 'warn',
  ], join(workDir, 'etcd.log'));
  processes.push(etcd);

  const apiserver = supervise(binaries.kubeApiserver, [
    `--etcd-servers=http://127.0.0.1:${etcdClient}`,
    `--secure-port=${apiPort}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--tls-cert-file=${serving.certFile}`,
    `--tls-private-key-file=${serving.keyFile}`,
    `--client-ca-file=${ca.certFile}`,
    `--token-auth-file=${tokenFile}`,
    ...(options.authorizationArgs ?? ['--authorization-mode=RBAC']).map(inWorkDir),
    '--service-cluster-ip-range=10.0.0.0/24',
    '--allow-privileged=true',
    '--disable-admission-plugins=ServiceAccount',
    `--service-account-issuer=${server}`,
    `--service-account-key-file=${saKeys.publicKeyFile}`,
    `--service-account-signing-key-file=${saKeys.privateKeyFile}`,
    `--cert-dir=${join(workDir, 'apiserver-certs')}`,
    // Every test client shares one flow schema locally; APF then answers 429 to the bursts a
    // test makes on purpose (hundreds of sessions, several replicas). Plain in-flight limits
    // keep the server honest without that noise.
    '--enable-priority-and-fairness=false',
    '--max-requests-inflight=1000',
    '--max-mutating-requests-inflight=500',
    ...(options.extraApiServerArgs ?? []).map(inWorkDir),
  ], join(workDir, 'kube-apiserver.log'));
  processes.push(apiserver);

  let stopped = false;
  const controlPlane: ControlPlane = {
    server,
    version: '',
    caFile: ca.certFile,
    caData,
    binaries,
    identities,
    startToReadyMs: 0,
    workDir,
    supervisorPids: [etcd.pid, apiserver.pid].filter((pid): pid is number => pid !== undefined),
    async stop() {
      if (stopped) return;
      stopped = true;
      liveControlPlanes.delete(controlPlane);
      await stopChild(apiserver);
      await stopChild(etcd);
      if (!process.env.E2E_KEEP_TMP) await rm(workDir, { recursive: true, force: true });
    },
  };
  liveControlPlanes.add(controlPlane);
  installSignalHandlers();

  const admin = identities[0] as RunningIdentity;
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (apiserver.exitCode !== null || etcd.exitCode !== null) {
      const apiLog = await readFile(join(workDir, 'kube-apiserver.log'), 'utf8').catch(() => '');
      await controlPlane.stop();
      throw new Error(`control plane exited during startup:\n${apiLog.split('\n').slice(-30).join('\n')}`);
    }
    try {
      const res = await httpsGet(`${server}/readyz`, caPem, admin.token);
      if (res.status === 200) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      const apiLog = await readFile(join(workDir, 'kube-apiserver.log'), 'utf8').catch(() => '');
      await controlPlane.stop();
      throw new Error(`kube-apiserver not ready after 90 s; last log lines:\n${apiLog.split('\n').slice(-30).join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  controlPlane.startToReadyMs = performance.now() - started;
  const version = JSON.parse((await httpsGet(`${server}/version`, caPem, admin.token)).body) as { gitVersion: string };
  controlPlane.version = version.gitVersion;
  await Promise.all(
    identities.map((i) => writeFile(i.kubeconfigPath, kubeconfigYaml(server, caData, i.username, i.token))),
  );
  log(`kube-apiserver ${controlPlane.version} ready at ${server} in ${(controlPlane.startToReadyMs / 1000).toFixed(2)} s (binaries: ${binaries.dir})`);
  return controlPlane;
}
