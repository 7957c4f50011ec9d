/**
 * Acting as the ServiceAccount of a synthesized install: apply only its identity and RBAC
 * objects for real, then authenticate with a TokenRequest token for it.
 */
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { Yaml } from 'cdk8s';
import type { KubeObject } from '../../infra/test/configurations.ts';
import type { TestCluster } from './cluster.ts';

/** The kinds that make up the controller's identity and permissions. */
export const RBAC_KINDS: ReadonlySet<string> = new Set(['ServiceAccount', 'Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding']);

/** cert-manager objects; their CRDs are not part of the test API server. */
export const isCertManager = (o: KubeObject): boolean => o.apiVersion.startsWith('cert-manager.io/');

/**
 * Applies the ServiceAccount and RBAC objects of a synthesized install, nothing else: a live
 * ValidatingWebhookConfiguration with failurePolicy Fail and no server behind it would block
 * other suites, and there are no kubelets to run the Deployment.
 */
export async function applyIdentityAndRbac(cluster: TestCluster, objects: readonly KubeObject[]): Promise<KubeObject[]> {
  const rbac = objects.filter((o) => RBAC_KINDS.has(o.kind));
  const applied = await cluster.kubectl(['apply', '-f', '-'], { input: Yaml.stringify(...rbac) });
  if (applied.code !== 0) throw new Error(`applying the synthesized RBAC failed: ${applied.stderr}`);
  return rbac;
}

/** A KubeConfig for the same API server that authenticates with a bearer token. */
export function tokenKubeConfig(admin: KubeConfig, token: string): KubeConfig {
  const cluster = admin.getCurrentCluster();
  if (!cluster) throw new Error('the admin kubeconfig has no current cluster');
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ ...cluster, name: 'e2e' }],
    users: [{ name: 'controller', token }],
    contexts: [{ name: 'controller', cluster: 'e2e', user: 'controller' }],
    currentContext: 'controller',
  });
  return kc;
}

/** A KubeConfig acting as the ServiceAccount, through a TokenRequest token (as a pod would get). */
export async function serviceAccountKubeConfig(
  admin: KubeConfig,
  serviceAccount: { name: string; namespace: string },
  expirationSeconds = 3600,
): Promise<KubeConfig> {
  const request = await admin.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({
    name: serviceAccount.name,
    namespace: serviceAccount.namespace,
    body: { spec: { audiences: [], expirationSeconds } },
  });
  const token = request.status?.token;
  if (!token) throw new Error(`the TokenRequest for ${serviceAccount.namespace}/${serviceAccount.name} returned no token`);
  return tokenKubeConfig(admin, token);
}
