/**
 * Whether a ClusterConfig is usable (reference §5.4): the outcome becomes its Ready condition.
 *
 * Kubeconfig auth is checked end to end: secret present, key present, kubeconfig parses, holds
 * only inline data (inline-kubeconfig.ts) and names a server, and that server answers
 * GET /version within the timeout.
 *
 * A kubeconfig that would run a process or read a local file (exec, auth-provider, token-file,
 * file paths) gets Ready=False with the reference's reason `KubeconfigParseFailed` (kept rather
 * than a new reason so tooling that knows the reference's reasons keeps working); the message
 * names the refused field. OIDC auth is not
 * checked in this version; such configs get Ready=Unknown with reason AuthMethodNotSupported,
 * so nobody mistakes "not checked" for "checked and fine".
 */
import { ApiException, VersionApi, type KubeConfig } from '@kubernetes/client-node';
import { DEFAULT_SECRET_KEY, type ClusterConfig } from '../../crds/index.ts';
import { boundedRequest } from '../kube/request-options.ts';
import { loadInlineKubeconfig } from './inline-kubeconfig.ts';

export const DEFAULT_PROBE_TIMEOUT_MS = 5000;

export interface ReadyOutcome {
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
}

export interface CheckDeps {
  /** Decoded secret data; undefined when the secret does not exist. */
  readSecret(namespace: string, name: string): Promise<Record<string, string> | undefined>;
  /** Resolves when the cluster the kubeconfig names answers; rejects with the reason otherwise. */
  probe(kubeConfig: KubeConfig): Promise<void>;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function statusCodeOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

function notReady(reason: string, message: string): ReadyOutcome {
  return { status: 'False', reason, message };
}

export function usesOidc(config: ClusterConfig): boolean {
  const spec = config.spec;
  return spec.authType === 'OIDC' || spec.oidcAuth !== undefined || spec.oidcFromIdentityProvider !== undefined;
}

/**
 * Parses a kubeconfig from a Secret (inline data only, see inline-kubeconfig.ts) and insists on
 * a current context whose cluster has a server.
 */
export function parseKubeconfig(text: string): KubeConfig {
  const kubeConfig = loadInlineKubeconfig(text);
  const server = kubeConfig.getCurrentCluster()?.server;
  if (!server) throw new Error('no current-context naming a cluster with a server');
  return kubeConfig;
}

export async function checkClusterConfig(config: ClusterConfig, deps: CheckDeps): Promise<ReadyOutcome> {
  if (usesOidc(config)) {
    return {
      status: 'Unknown',
      reason: 'AuthMethodNotSupported',
      message: 'OIDC authentication to the cluster is not checked in this version; only kubeconfig-based ClusterConfigs are validated',
    };
  }
  const ref = config.spec.kubeconfigSecretRef;
  if (ref === undefined) {
    return notReady('ValidationFailed', 'spec.kubeconfigSecretRef is required when spec.authType is Kubeconfig');
  }
  const key = ref.key || DEFAULT_SECRET_KEY;
  let data: Record<string, string> | undefined;
  try {
    data = await deps.readSecret(ref.namespace, ref.name);
  } catch (err) {
    // A 403 is a deployment question (the secret namespace is not granted), not a missing secret.
    if (statusCodeOf(err) === 403) {
      return notReady(
        'SecretAccessDenied',
        `the controller may not read secret ${ref.namespace}/${ref.name} (spec.kubeconfigSecretRef); grant it access to namespace ${ref.namespace} (infra: secretNamespaces)`,
      );
    }
    return notReady('SecretMissing', `cannot read secret ${ref.namespace}/${ref.name} (spec.kubeconfigSecretRef): ${errorMessage(err)}`);
  }
  if (data === undefined) {
    return notReady('SecretMissing', `secret ${ref.namespace}/${ref.name} (spec.kubeconfigSecretRef) not found`);
  }
  const text = data[key];
  if (text === undefined || text.trim() === '') {
    return notReady(
      'SecretKeyMissing',
      `secret ${ref.namespace}/${ref.name} has no key "${key}" (spec.kubeconfigSecretRef.key)`,
    );
  }
  let kubeConfig: KubeConfig;
  try {
    kubeConfig = parseKubeconfig(text);
  } catch (err) {
    return notReady(
      'KubeconfigParseFailed',
      `kubeconfig in secret ${ref.namespace}/${ref.name} key "${key}" is invalid: ${errorMessage(err)}`,
    );
  }
  try {
    await deps.probe(kubeConfig);
  } catch (err) {
    return notReady('ClusterUnreachable', `cluster unreachable: ${errorMessage(err)}`);
  }
  return { status: 'True', reason: 'KubeconfigValidated', message: 'Kubeconfig validated and cluster reachable' };
}

/**
 * GET /version on the cluster the kubeconfig names, aborted after `timeoutMs` or when `signal`
 * aborts; the abort ends the fetch, so a hung connection is closed rather than left open.
 */
export async function probeVersion(
  kubeConfig: KubeConfig,
  timeoutMs = DEFAULT_PROBE_TIMEOUT_MS,
  signal?: AbortSignal,
): Promise<void> {
  const server = kubeConfig.getCurrentCluster()?.server ?? '';
  const api = kubeConfig.makeApiClient(VersionApi);
  try {
    await boundedRequest({ what: `GET ${server}/version`, timeoutMs, signal }, (config) => api.getCode({}, config));
  } catch (err) {
    // ApiException messages carry the whole response body; the status code is what matters.
    if (err instanceof ApiException) throw new Error(`GET ${server}/version answered HTTP ${err.code}`);
    throw err;
  }
}
