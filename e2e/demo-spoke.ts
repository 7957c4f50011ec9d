/**
 * The demo's spoke cluster: a second local kube-apiserver that authenticates users with their
 * Keycloak access tokens (username = email, groups prefixed `oidc:`) and asks the hub's
 * authorization webhook after RBAC, as e2e/authorization-webhook.e2e.ts sets it up. The spoke's
 * RBAC binds the escalated group, so only an approved session makes the webhook's answer (and
 * then RBAC's, for the granted group) an allow. The hub trusts the spoke through a ClusterConfig
 * (kubeconfig Secret with a least-privilege ServiceAccount token, webhook token Secret).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import { CoreV1Api, CustomObjectsApi, KubeConfig, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { API_VERSION, GROUP, VERSION, plurals } from '../crds/index.ts';
import { createCa, createServingCert } from './controlplane/certs.ts';
import { kubeconfigYaml, startControlPlane, type ControlPlane } from './controlplane/controlplane.ts';
import type { KeycloakHandle } from './keycloak/keycloak.ts';

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface DemoSpoke {
  server: string;
  /** The kubeconfig file alice's kubectl uses (rewritten with a fresh token before each call). */
  aliceKubeconfig: string;
  kubectlBinary: string;
  asAlice(args: string[]): Promise<KubectlResult>;
  stop(): Promise<void>;
}

export interface DemoSpokeOptions {
  hub: KubeConfig;
  namespace: string;
  cluster: string;
  escalatedGroup: string;
  keycloak: KeycloakHandle;
  /** The hub replicas' plain-HTTP API ports the webhook calls reach (through TLS), like a Service. */
  apiPorts: number[];
}

/**
 * TLS in front of the replicas' plain-HTTP API ports, as an ingress terminates it in production:
 * kube-apiserver sends the webhook kubeconfig's bearer token only over TLS. Connections go round
 * robin to the replicas and skip one that refuses, so a stopped replica (the demo's leader
 * handoff) does not take the webhook down.
 */
async function startTlsTerminator(targetPorts: number[]): Promise<{ port: number; caPem: string; stop(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'breakglass-demo-tls-'));
  const ca = await createCa(dir, 'demo-ingress-ca');
  const serving = await createServingCert(dir, ca, 'ingress', { ips: ['127.0.0.1'] });
  const sockets = new Set<Socket>();
  let next = 0;
  const server = createTlsServer({ cert: await readFile(serving.certFile), key: await readFile(serving.keyFile) }, (client) => {
    sockets.add(client);
    client.on('error', () => client.destroy()).on('close', () => sockets.delete(client));
    const attempt = (left: number): void => {
      const port = targetPorts[next++ % targetPorts.length]!;
      const upstream = connect(port, '127.0.0.1');
      sockets.add(upstream);
      const refused = (): void => {
        upstream.destroy();
        sockets.delete(upstream);
        if (left > 1 && !client.destroyed) attempt(left - 1);
        else client.destroy();
      };
      upstream.once('error', refused);
      upstream.once('connect', () => {
        upstream.off('error', refused);
        const close = () => {
          client.destroy();
          upstream.destroy();
          sockets.delete(upstream);
        };
        client.pipe(upstream).pipe(client);
        client.on('close', close);
        upstream.on('error', close).on('close', close);
      });
    };
    attempt(targetPorts.length);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    caPem: await readFile(ca.certFile, 'utf8'),
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function kubectl(binary: string, kubeconfig: string, args: string[]): Promise<KubectlResult> {
  return new Promise((resolve) => {
    execFile(binary, ['--kubeconfig', kubeconfig, ...args], (error, stdout, stderr) => {
      resolve({ stdout, stderr, code: error ? (typeof error.code === 'number' ? error.code : 1) : 0 });
    });
  });
}

export async function startDemoSpoke(options: DemoSpokeOptions): Promise<DemoSpoke> {
  const { keycloak, cluster } = options;
  const webhookToken = randomBytes(24).toString('hex');
  const ingress = await startTlsTerminator(options.apiPorts);
  let spoke: ControlPlane | undefined;
  try {
    const authorization = {
      apiVersion: 'apiserver.config.k8s.io/v1',
      kind: 'AuthorizationConfiguration',
      authorizers: [
        { type: 'RBAC', name: 'rbac' },
        {
          type: 'Webhook',
          name: 'breakglass',
          webhook: {
            timeout: '3s',
            subjectAccessReviewVersion: 'v1',
            matchConditionSubjectAccessReviewVersion: 'v1',
            failurePolicy: 'Deny',
            authorizedTTL: '1s',
            unauthorizedTTL: '1s',
            cacheAuthorizedRequests: false,
            cacheUnauthorizedRequests: false,
            connectionInfo: { type: 'KubeConfigFile', kubeConfigFile: '{workDir}/breakglass-webhook.kubeconfig' },
            matchConditions: [{ expression: "!request.user.startsWith('system:')" }, { expression: "'system:authenticated' in request.groups" }],
          },
        },
      ],
    };
    const webhookKubeconfig = {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'breakglass-hub',
          cluster: {
            server: `https://127.0.0.1:${ingress.port}/api/breakglass/webhook/authorize/${cluster}`,
            'certificate-authority-data': Buffer.from(ingress.caPem).toString('base64'),
          },
        },
      ],
      users: [{ name: 'spoke', user: { token: webhookToken } }],
      contexts: [{ name: 'webhook', context: { cluster: 'breakglass-hub', user: 'spoke' } }],
      'current-context': 'webhook',
    };
    const authentication = {
      apiVersion: 'apiserver.config.k8s.io/v1',
      kind: 'AuthenticationConfiguration',
      jwt: [
        {
          issuer: { url: keycloak.issuer, audiences: [keycloak.kubernetesAudience], ...(keycloak.caPem ? { certificateAuthority: keycloak.caPem } : {}) },
          claimMappings: { username: { claim: 'email', prefix: '' }, groups: { claim: 'groups', prefix: 'oidc:' } },
        },
      ],
    };
    spoke = await startControlPlane({
      files: {
        'authz.yaml': stringify(authorization),
        'authn.yaml': stringify(authentication),
        'breakglass-webhook.kubeconfig': stringify(webhookKubeconfig),
      },
      authorizationArgs: ['--authorization-config={workDir}/authz.yaml'],
      extraApiServerArgs: ['--authentication-config={workDir}/authn.yaml'],
      log: () => {},
    });
    const admin = spoke.identities.find((i) => i.name === 'admin');
    if (!admin) throw new Error('spoke has no admin identity');
    const spokeAdmin = new KubeConfig();
    spokeAdmin.loadFromFile(admin.kubeconfigPath);
    const core = spokeAdmin.makeApiClient(CoreV1Api);
    const rbac = spokeAdmin.makeApiClient(RbacAuthorizationV1Api);
    // What the escalated group may do on the spoke: plain RBAC, bound only to that group.
    await core.createNamespace({ body: { metadata: { name: 'payments' } } });
    await core.createNamespace({ body: { metadata: { name: 'breakglass' } } });
    await core.createNamespacedPod({
      namespace: 'payments',
      body: { metadata: { name: 'web' }, spec: { containers: [{ name: 'c', image: 'registry.example/app:1' }] } },
    });
    // Its own ClusterRole: the built-in aggregated ones (view, edit) stay empty without a
    // kube-controller-manager, which this spoke does not run.
    await rbac.createClusterRole({
      body: {
        metadata: { name: options.escalatedGroup },
        rules: [{ apiGroups: [''], resources: ['pods', 'pods/log', 'services', 'configmaps'], verbs: ['get', 'list', 'watch'] }],
      },
    });
    await rbac.createClusterRoleBinding({
      body: {
        metadata: { name: options.escalatedGroup },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: options.escalatedGroup },
        subjects: [{ kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: options.escalatedGroup }],
      },
    });
    // The hub's identity on the spoke: SubjectAccessReviews and reads of namespaces and pods.
    await core.createNamespacedServiceAccount({ namespace: 'breakglass', body: { metadata: { name: 'hub' } } });
    await rbac.createClusterRole({
      body: {
        metadata: { name: 'breakglass-hub' },
        rules: [
          { apiGroups: ['authorization.k8s.io'], resources: ['subjectaccessreviews'], verbs: ['create'] },
          { apiGroups: [''], resources: ['namespaces', 'pods'], verbs: ['get'] },
        ],
      },
    });
    await rbac.createClusterRoleBinding({
      body: {
        metadata: { name: 'breakglass-hub' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'breakglass-hub' },
        subjects: [{ kind: 'ServiceAccount', name: 'hub', namespace: 'breakglass' }],
      },
    });
    const tokenRequest = await core.createNamespacedServiceAccountToken({
      namespace: 'breakglass',
      name: 'hub',
      body: { spec: { audiences: [], expirationSeconds: 24 * 3600 } },
    });
    const hubIdentity = kubeconfigYaml(spoke.server, spoke.caData, 'breakglass-hub', tokenRequest.status?.token ?? '');

    const hubCore = options.hub.makeApiClient(CoreV1Api);
    const { namespace } = options;
    await hubCore.createNamespacedSecret({ namespace, body: { metadata: { name: `${cluster}-kubeconfig` }, stringData: { value: hubIdentity } } });
    await hubCore.createNamespacedSecret({ namespace, body: { metadata: { name: `${cluster}-webhook` }, stringData: { token: webhookToken } } });
    await options.hub.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace,
      plural: plurals.ClusterConfig,
      body: {
        apiVersion: API_VERSION,
        kind: 'ClusterConfig',
        metadata: { name: cluster },
        spec: {
          kubeconfigSecretRef: { name: `${cluster}-kubeconfig`, namespace },
          webhookAuthentication: { tokenSecretRef: { name: `${cluster}-webhook`, namespace, key: 'token' } },
        },
      },
    });

    const running = spoke;
    const aliceKubeconfig = join(running.workDir, 'alice.kubeconfig');
    return {
      server: running.server,
      aliceKubeconfig,
      kubectlBinary: running.binaries.kubectl,
      async asAlice(args) {
        // Keycloak access tokens live 300 s: a fresh one per call, as a kubectl OIDC plugin would.
        const token = await keycloak.accessToken('alice');
        await writeFile(aliceKubeconfig, kubeconfigYaml(running.server, running.caData, 'alice', token), { mode: 0o600 });
        return kubectl(running.binaries.kubectl, aliceKubeconfig, args);
      },
      async stop() {
        await running.stop().catch(() => undefined);
        await ingress.stop().catch(() => undefined);
      },
    };
  } catch (err) {
    await spoke?.stop().catch(() => undefined);
    await ingress.stop();
    throw err;
  }
}
