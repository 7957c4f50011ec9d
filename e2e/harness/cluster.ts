/**
 * The cluster the e2e suite runs against: a local control plane started by the root hooks,
 * or any cluster named by E2E_KUBECONFIG (kind for users with Docker).
 *
 * Tests only see this interface, so they run unchanged in both modes. What differs is how the
 * non-admin identities are made: static tokens locally, ServiceAccount tokens elsewhere.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig, type RbacV1Subject } from '@kubernetes/client-node';
import { kubeconfigYaml, type ControlPlane } from '../controlplane/controlplane.ts';

export type IdentityName = 'admin' | 'alice' | 'bob';

export interface TestIdentity {
  name: IdentityName;
  username: string;
  groups: string[];
  kubeConfig: KubeConfig;
  kubeconfigPath: string;
  /** RBAC subject that names this identity in a (Cluster)RoleBinding. */
  subject: RbacV1Subject;
}

export interface KubectlResult {
  stdout: string;
  stderr: string;
  code: number;
}

export interface TestCluster {
  /** True when the harness started the control plane itself. */
  local: boolean;
  server: string;
  version: string;
  admin: TestIdentity;
  /** Non-admin, group "developers" (locally). */
  alice: TestIdentity;
  /** Non-admin, group "approvers" (locally). */
  bob: TestIdentity;
  /** Host the API server can reach servers of the test process on. */
  webhookHost: string;
  /** The local control plane, when there is one (process-level chaos is local-only). */
  controlPlane?: ControlPlane;
  kubectlBinary: string;
  kubectl(args: string[], opts?: { as?: IdentityName; input?: string }): Promise<KubectlResult>;
  createNamespace(prefix: string): Promise<string>;
}

let current: TestCluster | undefined;

/**
 * Writes a copy of a kubeconfig whose current cluster points at `server` (for example a proxy in
 * front of the API server); credentials stay as they are, whatever their kind (token, client
 * certificate). Resolves to the file path.
 */
export async function writeKubeconfigWithServer(kc: KubeConfig, server: string): Promise<string> {
  const config = JSON.parse(kc.exportConfig()) as {
    clusters: { name: string; cluster: { server: string } }[];
    contexts: { name: string; context: { cluster: string } }[];
    'current-context': string;
  };
  const context = config.contexts.find((c) => c.name === config['current-context']);
  for (const cluster of config.clusters) {
    if (cluster.name === context?.context.cluster) cluster.cluster.server = server;
  }
  const dir = await mkdtemp(join(tmpdir(), 'breakglass-kubeconfig-'));
  const path = join(dir, 'kubeconfig');
  await writeFile(path, JSON.stringify(config)); // JSON is valid YAML
  return path;
}

export function testCluster(): TestCluster {
  if (!current) throw new Error('testCluster() used outside the e2e suite: run through `npm run test:e2e`');
  return current;
}

export function setTestCluster(cluster: TestCluster | undefined): void {
  current = cluster;
}

function loadKubeConfig(path: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return kc;
}

function kubectlRunner(binary: string, identities: Record<IdentityName, TestIdentity>) {
  return (args: string[], opts: { as?: IdentityName; input?: string } = {}): Promise<KubectlResult> =>
    new Promise((resolve) => {
      const identity = identities[opts.as ?? 'admin'];
      const child = execFile(
        binary,
        ['--kubeconfig', identity.kubeconfigPath, ...args],
        { maxBuffer: 32 * 1024 * 1024 },
        (error, stdout, stderr) => {
          const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
          resolve({ stdout, stderr, code });
        },
      );
      if (opts.input !== undefined) child.stdin?.end(opts.input);
    });
}

function namespaceCreator(admin: KubeConfig) {
  const core = admin.makeApiClient(CoreV1Api);
  return async (prefix: string): Promise<string> => {
    const name = `${prefix}-${randomBytes(3).toString('hex')}`.toLowerCase();
    await core.createNamespace({ body: { metadata: { name, labels: { 'breakglass.e2e/test': 'true' } } } });
    return name;
  };
}

/** A TestCluster over a local control plane with static-token users. */
export function localCluster(cp: ControlPlane): TestCluster {
  const byName = Object.fromEntries(
    cp.identities.map((i) => {
      const identity: TestIdentity = {
        name: i.name as IdentityName,
        username: i.username,
        groups: i.groups,
        kubeConfig: loadKubeConfig(i.kubeconfigPath),
        kubeconfigPath: i.kubeconfigPath,
        subject: { kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: i.username },
      };
      return [i.name, identity];
    }),
  ) as Record<IdentityName, TestIdentity>;
  return {
    local: true,
    server: cp.server,
    version: cp.version,
    admin: byName.admin,
    alice: byName.alice,
    bob: byName.bob,
    webhookHost: '127.0.0.1',
    controlPlane: cp,
    kubectlBinary: cp.binaries.kubectl,
    kubectl: kubectlRunner(cp.binaries.kubectl, byName),
    createNamespace: namespaceCreator(byName.admin.kubeConfig),
  };
}

const USERS_NAMESPACE = 'breakglass-e2e-users';

/**
 * A TestCluster over an existing cluster (E2E_KUBECONFIG). The non-admin identities are
 * ServiceAccounts with TokenRequest tokens, so no cluster-specific user setup is needed.
 */
export async function externalCluster(kubeconfigPath: string): Promise<TestCluster> {
  const adminKc = loadKubeConfig(kubeconfigPath);
  const core = adminKc.makeApiClient(CoreV1Api);
  const cluster = adminKc.getCurrentCluster();
  if (!cluster) throw new Error(`E2E_KUBECONFIG ${kubeconfigPath} has no current cluster`);
  await core.createNamespace({ body: { metadata: { name: USERS_NAMESPACE } } }).catch((err: { code?: number }) => {
    if (err.code !== 409) throw err;
  });
  const dir = await mkdtemp(join(tmpdir(), 'breakglass-e2e-'));
  const caData = cluster.caData ?? '';
  const identities: Partial<Record<IdentityName, TestIdentity>> = {
    admin: {
      name: 'admin',
      username: adminKc.getCurrentUser()?.name ?? 'admin',
      groups: ['system:masters'],
      kubeConfig: adminKc,
      kubeconfigPath,
      subject: { kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: adminKc.getCurrentUser()?.name ?? 'admin' },
    },
  };
  for (const name of ['alice', 'bob'] as const) {
    const sa = `e2e-${name}`;
    await core
      .createNamespacedServiceAccount({ namespace: USERS_NAMESPACE, body: { metadata: { name: sa } } })
      .catch((err: { code?: number }) => {
        if (err.code !== 409) throw err;
      });
    const token = await core.createNamespacedServiceAccountToken({
      name: sa,
      namespace: USERS_NAMESPACE,
      body: { spec: { audiences: [], expirationSeconds: 7200 } },
    });
    const username = `system:serviceaccount:${USERS_NAMESPACE}:${sa}`;
    const path = join(dir, `${name}.kubeconfig`);
    await writeFile(path, kubeconfigYaml(cluster.server, caData, username, token.status?.token ?? ''));
    identities[name] = {
      name,
      username,
      groups: ['system:serviceaccounts', `system:serviceaccounts:${USERS_NAMESPACE}`],
      kubeConfig: loadKubeConfig(path),
      kubeconfigPath: path,
      subject: { kind: 'ServiceAccount', name: sa, namespace: USERS_NAMESPACE },
    };
  }
  const byName = identities as Record<IdentityName, TestIdentity>;
  const kubectlBinary = process.env.KUBECTL ?? 'kubectl';
  const version = (await kubectlRunner(kubectlBinary, byName)(['version', '-o', 'json'])).stdout;
  return {
    local: false,
    server: cluster.server,
    version: (JSON.parse(version || '{}') as { serverVersion?: { gitVersion?: string } }).serverVersion?.gitVersion ?? 'unknown',
    admin: byName.admin,
    alice: byName.alice,
    bob: byName.bob,
    webhookHost: process.env.E2E_WEBHOOK_HOST ?? '127.0.0.1',
    kubectlBinary,
    kubectl: kubectlRunner(kubectlBinary, byName),
    createNamespace: namespaceCreator(adminKc),
  };
}
