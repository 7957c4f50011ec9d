/**
 * What the ClusterConfig checker needs from the API server, and its implementation on
 * @kubernetes/client-node.
 *
 * Status writes replace the status subresource with the resourceVersion that was listed, so a
 * write based on an outdated read fails (409) instead of overwriting newer state. Every request
 * is bounded by `requestTimeoutMs` and the caller's signal (kube/request-options.ts), so a hung
 * connection cannot stall the checker.
 */
import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  type ConfigurationOptions,
  type CoreV1Event,
  type KubeConfig,
} from '@kubernetes/client-node';
import { ConflictError } from '../kube/errors.ts';
import { boundedRequest } from '../kube/request-options.ts';
import {
  API_VERSION,
  GROUP,
  VERSION,
  plurals,
  type ClusterConfig,
  type ClusterConfigStatus,
} from '../../crds/index.ts';

export interface ClusterConfigEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

/** Every method takes an optional `signal` that aborts its request (the loop's term). */
export interface ClusterConfigStore {
  /** All ClusterConfigs, freshly listed (each with its resourceVersion). */
  list(signal?: AbortSignal): Promise<ClusterConfig[]>;
  /** The decoded data of a Secret; undefined when it does not exist. */
  readSecret(namespace: string, name: string, signal?: AbortSignal): Promise<Record<string, string> | undefined>;
  /**
   * Replaces the status subresource at `resourceVersion`. ConflictError when the config changed
   * (409) or was deleted (404) since it was read: either way the precondition no longer holds.
   */
  writeStatus(
    config: ClusterConfig,
    status: ClusterConfigStatus,
    resourceVersion: string,
    signal?: AbortSignal,
  ): Promise<ClusterConfig>;
  /** Records a core/v1 Event about the ClusterConfig in its namespace. */
  recordEvent(config: ClusterConfig, event: ClusterConfigEvent, signal?: AbortSignal): Promise<void>;
}

const PLURAL = plurals.ClusterConfig;
export const EVENT_SOURCE_COMPONENT = 'breakglass-controller';
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

function statusCode(err: unknown): number | undefined {
  return err instanceof ApiException ? err.code : undefined;
}

export interface KubernetesClusterConfigStoreOptions {
  /** Who records events (e.g. the pod name). @default breakglass-controller */
  reportingInstance?: string;
  /** Check only ClusterConfigs of this namespace. @default all namespaces */
  namespace?: string;
  /** Upper bound of every request. @default 10000 */
  requestTimeoutMs?: number;
}

export class KubernetesClusterConfigStore implements ClusterConfigStore {
  private readonly custom: CustomObjectsApi;
  private readonly core: CoreV1Api;
  private readonly reportingInstance: string;

  constructor(
    kubeConfig: KubeConfig,
    private readonly options: KubernetesClusterConfigStoreOptions = {},
  ) {
    this.custom = kubeConfig.makeApiClient(CustomObjectsApi);
    this.core = kubeConfig.makeApiClient(CoreV1Api);
    this.reportingInstance = options.reportingInstance ?? EVENT_SOURCE_COMPONENT;
  }

  async list(signal?: AbortSignal): Promise<ClusterConfig[]> {
    const namespace = this.options.namespace;
    const list = (await this.bounded('LIST clusterconfigs', signal, (config) =>
      namespace === undefined
        ? this.custom.listCustomObjectForAllNamespaces({ group: GROUP, version: VERSION, plural: PLURAL }, config)
        : this.custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace }, config),
    )) as { items?: ClusterConfig[] };
    return list.items ?? [];
  }

  async readSecret(namespace: string, name: string, signal?: AbortSignal): Promise<Record<string, string> | undefined> {
    try {
      const secret = await this.bounded(`GET secret ${namespace}/${name}`, signal, (config) =>
        this.core.readNamespacedSecret({ namespace, name }, config),
      );
      const data: Record<string, string> = {};
      for (const [key, value] of Object.entries(secret.data ?? {})) {
        data[key] = Buffer.from(value, 'base64').toString('utf8');
      }
      return data;
    } catch (err) {
      if (statusCode(err) === 404) return undefined;
      throw err;
    }
  }

  async writeStatus(
    config: ClusterConfig,
    status: ClusterConfigStatus,
    resourceVersion: string,
    signal?: AbortSignal,
  ): Promise<ClusterConfig> {
    const namespace = config.metadata?.namespace ?? '';
    const name = config.metadata?.name ?? '';
    const body = {
      apiVersion: API_VERSION,
      kind: 'ClusterConfig',
      metadata: { ...config.metadata, resourceVersion },
      spec: config.spec,
      status,
    };
    try {
      return (await this.bounded(`PUT clusterconfig ${namespace}/${name} status`, signal, (options) =>
        this.custom.replaceNamespacedCustomObjectStatus(
          { group: GROUP, version: VERSION, plural: PLURAL, namespace, name, body },
          options,
        ),
      )) as ClusterConfig;
    } catch (err) {
      if (statusCode(err) === 409) throw new ConflictError(namespace, name, { kind: 'ClusterConfig' });
      if (statusCode(err) === 404) {
        throw new ConflictError(namespace, name, { kind: 'ClusterConfig', detail: 'was deleted concurrently' });
      }
      throw err;
    }
  }

  async recordEvent(config: ClusterConfig, event: ClusterConfigEvent, signal?: AbortSignal): Promise<void> {
    const namespace = config.metadata?.namespace ?? '';
    const name = config.metadata?.name ?? '';
    const now = new Date();
    const body: CoreV1Event = {
      metadata: { generateName: `${name}.`, namespace },
      involvedObject: {
        apiVersion: API_VERSION,
        kind: 'ClusterConfig',
        name,
        namespace,
        uid: config.metadata?.uid,
        resourceVersion: config.metadata?.resourceVersion,
      },
      type: event.type,
      reason: event.reason,
      message: event.message,
      source: { component: EVENT_SOURCE_COMPONENT },
      reportingComponent: EVENT_SOURCE_COMPONENT,
      reportingInstance: this.reportingInstance,
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    };
    await this.bounded(`POST event about clusterconfig ${namespace}/${name}`, signal, (options) =>
      this.core.createNamespacedEvent({ namespace, body }, options),
    );
  }

  private bounded<T>(what: string, signal: AbortSignal | undefined, request: (config: ConfigurationOptions) => Promise<T>): Promise<T> {
    return boundedRequest({ what, timeoutMs: this.options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS, signal }, request);
  }
}
