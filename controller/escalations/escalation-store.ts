/**
 * What the escalation status updater needs from the API server, and its implementation on
 * @kubernetes/client-node.
 *
 * Each pass LISTs escalations and IdentityProviders afresh instead of keeping an informer: the
 * loop runs on the leader only, every 10 minutes by default, so a watch cache would hold
 * every escalation in memory on every replica for one read per interval, and a fresh list
 * carries the resourceVersion each status write is conditioned on.
 *
 * Status writes replace the status subresource with the resourceVersion that was listed, so a
 * write based on an outdated read fails (409) instead of overwriting newer state. Every request
 * is bounded by `requestTimeoutMs` and the caller's signal.
 */
import { ApiException, CoreV1Api, CustomObjectsApi, type ConfigurationOptions, type KubeConfig } from '@kubernetes/client-node';
import {
  API_VERSION,
  GROUP,
  VERSION,
  plurals,
  type BreakglassEscalation,
  type BreakglassEscalationStatus,
  type IdentityProvider,
  type IdentityProviderStatus,
} from '../../crds/index.ts';
import { ConflictError } from '../kube/errors.ts';
import { boundedRequest } from '../kube/request-options.ts';

/** Reading a Secret was refused by RBAC (403). */
export class SecretAccessDeniedError extends Error {
  constructor(readonly namespace: string, readonly secretName: string) {
    // Worded like the API server's denial, so log readers (and the RBAC e2e) see the namespace.
    super(`reading secret "${secretName}" in the namespace "${namespace}" is forbidden`);
    this.name = 'SecretAccessDeniedError';
  }
}

export interface EscalationStore {
  listEscalations(signal?: AbortSignal): Promise<BreakglassEscalation[]>;
  listIdentityProviders(signal?: AbortSignal): Promise<IdentityProvider[]>;
  /** The decoded data of a Secret; undefined when it does not exist. */
  readSecret(namespace: string, name: string, signal?: AbortSignal): Promise<Record<string, string> | undefined>;
  /** Replaces the escalation's status at `resourceVersion`; ConflictError otherwise. */
  writeEscalationStatus(
    escalation: BreakglassEscalation,
    status: BreakglassEscalationStatus,
    resourceVersion: string,
    signal?: AbortSignal,
  ): Promise<void>;
  /** Replaces the IdentityProvider's status at `resourceVersion`; ConflictError otherwise. */
  writeIdentityProviderStatus(
    provider: IdentityProvider,
    status: IdentityProviderStatus,
    resourceVersion: string,
    signal?: AbortSignal,
  ): Promise<void>;
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

/** A 409 (changed) or 404 (vanished) on a status write becomes the one ConflictError; the write was refused. */
function conflict(err: unknown, ref: { kind: string; namespace: string; name: string }): unknown {
  const code = statusCode(err);
  if (code === 409) return new ConflictError(ref.namespace, ref.name, { kind: ref.kind });
  if (code === 404) return new ConflictError(ref.namespace, ref.name, { kind: ref.kind, detail: 'was deleted concurrently' });
  return err;
}

function statusCode(err: unknown): number | undefined {
  return err instanceof ApiException ? err.code : undefined;
}

export class KubernetesEscalationStore implements EscalationStore {
  private readonly custom: CustomObjectsApi;
  private readonly core: CoreV1Api;

  constructor(
    kubeConfig: KubeConfig,
    private readonly options: { requestTimeoutMs?: number } = {},
  ) {
    this.custom = kubeConfig.makeApiClient(CustomObjectsApi);
    this.core = kubeConfig.makeApiClient(CoreV1Api);
  }

  async listEscalations(signal?: AbortSignal): Promise<BreakglassEscalation[]> {
    const list = (await this.bounded('LIST breakglassescalations', signal, (config) =>
      this.custom.listCustomObjectForAllNamespaces({ group: GROUP, version: VERSION, plural: plurals.BreakglassEscalation }, config),
    )) as { items?: BreakglassEscalation[] };
    return list.items ?? [];
  }

  async listIdentityProviders(signal?: AbortSignal): Promise<IdentityProvider[]> {
    const list = (await this.bounded('LIST identityproviders', signal, (config) =>
      this.custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: plurals.IdentityProvider }, config),
    )) as { items?: IdentityProvider[] };
    return list.items ?? [];
  }

  async readSecret(namespace: string, name: string, signal?: AbortSignal): Promise<Record<string, string> | undefined> {
    try {
      const secret = await this.bounded(`GET secret ${namespace}/${name}`, signal, (config) =>
        this.core.readNamespacedSecret({ namespace, name }, config),
      );
      const data: Record<string, string> = {};
      for (const [key, value] of Object.entries(secret.data ?? {})) data[key] = Buffer.from(value, 'base64').toString('utf8');
      return data;
    } catch (err) {
      if (statusCode(err) === 404) return undefined;
      if (statusCode(err) === 403) throw new SecretAccessDeniedError(namespace, name);
      throw err;
    }
  }

  async writeEscalationStatus(
    escalation: BreakglassEscalation,
    status: BreakglassEscalationStatus,
    resourceVersion: string,
    signal?: AbortSignal,
  ): Promise<void> {
    const namespace = escalation.metadata?.namespace ?? '';
    const name = escalation.metadata?.name ?? '';
    const body = { apiVersion: API_VERSION, kind: 'BreakglassEscalation', metadata: { ...escalation.metadata, resourceVersion }, spec: escalation.spec, status };
    const what = `BreakglassEscalation ${namespace}/${name}`;
    const ref = { kind: 'BreakglassEscalation', namespace, name };
    try {
      await this.bounded(`PUT ${what} status`, signal, (config) =>
        this.custom.replaceNamespacedCustomObjectStatus(
          { group: GROUP, version: VERSION, plural: plurals.BreakglassEscalation, namespace, name, body },
          config,
        ),
      );
    } catch (err) {
      throw conflict(err, ref);
    }
  }

  async writeIdentityProviderStatus(
    provider: IdentityProvider,
    status: IdentityProviderStatus,
    resourceVersion: string,
    signal?: AbortSignal,
  ): Promise<void> {
    const name = provider.metadata?.name ?? '';
    const body = { apiVersion: API_VERSION, kind: 'IdentityProvider', metadata: { ...provider.metadata, resourceVersion }, spec: provider.spec, status };
    const what = `IdentityProvider ${name}`;
    const ref = { kind: 'IdentityProvider', namespace: '', name };
    try {
      await this.bounded(`PUT ${what} status`, signal, (config) =>
        this.custom.replaceClusterCustomObjectStatus({ group: GROUP, version: VERSION, plural: plurals.IdentityProvider, name, body }, config),
      );
    } catch (err) {
      throw conflict(err, ref);
    }
  }


  private bounded<T>(what: string, signal: AbortSignal | undefined, request: (config: ConfigurationOptions) => Promise<T>): Promise<T> {
    return boundedRequest({ what, timeoutMs: this.options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS, signal }, request);
  }
}
