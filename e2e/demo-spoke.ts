/**
 * The demo's spoke cluster: a second local kube-apiserver that authenticates users with their
 * Keycloak access tokens (username = email, groups prefixed `oidc:`) and asks the hub's
 * authorization webhook after RBAC, as e2e/authorization-webhook.e2e.ts sets it up. The spoke's
 * RBAC binds the escalated group, so only an approved session makes the webhook's answer (and
 * then RBAC's, for the granted group) an allow. The hub trusts the spoke through a ClusterConfig
 * (kubeconfig Secret with a least-privilege ServiceAccount token, webhook token Secret).
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi, KubeConfig, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { API_VERSION, GROUP, VERSION, plurals } from '../crds/index.ts';
import { kubeconfigYaml, type ControlPlane } from './controlplane/controlplane.ts';
import { newWebhookToken, startSpokeControlPlane, startTlsTerminator } from './harness/spoke.ts';
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

function kubectl(binary: string, kubeconfig: string, args: string[]): Promise<KubectlResult> {
  return new Promise((resolve) => {
    execFile(binary, ['--kubeconfig', kubeconfig, ...args], (error, stdout, stderr) => {
      resolve({ stdout, stderr, code: error ? (typeof error.code === 'number' ? error.code : 1) : 0 });
    });
  });
}

export async function startDemoSpoke(options: DemoSpokeOptions): Promise<DemoSpoke> {
  const { keycloak, cluster } = options;
  const webhookToken = newWebhookToken();
  const ingress = await startTlsTerminator(options.apiPorts);
  let spoke: ControlPlane | undefined;
  try {
    spoke = await startSpokeControlPlane({
      keycloak,
      webhookUrl: `https://127.0.0.1:${ingress.port}/api/breakglass/webhook/authorize/${cluster}`,
      webhookCaPem: ingress.caPem,
      webhookToken,
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
