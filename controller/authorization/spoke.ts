/**
 * The hub's access to a spoke with the ClusterConfig's kubeconfig credentials (inline only, see
 * clusters/inline-kubeconfig.ts): the grant check (a SubjectAccessReview for the session's group,
 * reference §6.3 steps 8-9) and the live reads DenyPolicies need (namespace labels, pods).
 *
 * The least-privilege identity on the spoke needs: create subjectaccessreviews, get namespaces,
 * get pods. Clients are built once per (ClusterConfig, Secret) and rebuilt when either changes
 * or after `credentialsTtlMs` (a rotated kubeconfig is picked up).
 *
 * The grant-check SAR names the user `system:breakglass:grant-check`, so the spoke's
 * `matchConditions` (which skip `system:` users) never send it back to this webhook.
 */
import {
  ApiException,
  AuthorizationV1Api,
  CoreV1Api,
  type ConfigurationOptions,
  type KubeConfig,
  type V1SubjectAccessReview,
} from '@kubernetes/client-node';
import type { ClusterConfig } from '../../crds/index.ts';
import { DEFAULT_SECRET_KEY } from '../../crds/index.ts';
import type { Clock } from '../clock/clock.ts';
import { parseKubeconfig } from '../clusters/cluster-config-check.ts';
import { boundedRequest, RequestTimeoutError } from '../kube/request-options.ts';
import { shareConnections } from '../kube/shared-connections.ts';
import { subjectAccessReviewCall, type SubjectAccessReviewCall } from './spoke-review.ts';
import type { SecretReader } from './caller-auth.ts';
import type { ClusterDirectory, SpokeObjects } from './decision.ts';
import { GrantCheckError, type GrantChecker } from './grant-checker.ts';
import type { Labels } from './namespace-filter.ts';
import type { PodLike } from './pod-security.ts';
import type { RequestAttributes } from './subject-access-review.ts';

export const GRANT_CHECK_USER = 'system:breakglass:grant-check';

interface SpokeApis {
  readonly authorization: AuthorizationV1Api;
  readonly core: CoreV1Api;
  /** The grant check's call without client-node's API (spoke-review.ts); undefined behind a proxy. */
  readonly review: SubjectAccessReviewCall | undefined;
}

interface CachedApis {
  readonly configVersion: string;
  readonly apis: SpokeApis | GrantCheckError;
  /** The kubeconfig text the clients were built from: an unchanged Secret keeps them (and their connections). */
  readonly kubeconfig: string;
  readonly expiresAt: number;
}

export interface SpokeClientsOptions {
  readonly clock: Pick<Clock, 'now'>;
  /** Per spoke call. Default 2 s (below the spoke's usual 3 s webhook timeout). */
  readonly requestTimeoutMs?: number;
  /** How long built clients (or a credentials failure) are reused. Default 60 s. */
  readonly credentialsTtlMs?: number;
  /** Builds a KubeConfig from the Secret's text (tests); default parseKubeconfig. */
  readonly parse?: (text: string) => KubeConfig;
}

/** Classifies a failed spoke call (typed, never by message text). */
export function grantCheckFailure(error: unknown, cluster: string): GrantCheckError {
  if (error instanceof GrantCheckError) return error;
  if (error instanceof RequestTimeoutError) return new GrantCheckError('timeout', cluster, `spoke ${cluster} did not answer in time`, { cause: error });
  if (error instanceof ApiException) {
    if (error.code === 401) return new GrantCheckError('no-credentials', cluster, `spoke ${cluster} refused the hub's credentials (401)`, { cause: error });
    if (error.code === 403) return new GrantCheckError('forbidden', cluster, `the hub's identity on spoke ${cluster} may not do this (403)`, { cause: error });
  }
  return new GrantCheckError('unreachable', cluster, `spoke ${cluster} is unreachable`, { cause: error });
}

export class SpokeClients {
  private readonly cache = new Map<string, CachedApis>();
  readonly requestTimeoutMs: number;
  private readonly ttlMs: number;
  private readonly parse: (text: string) => KubeConfig;

  constructor(
    private readonly clusters: ClusterDirectory,
    private readonly secrets: SecretReader,
    private readonly options: SpokeClientsOptions,
  ) {
    this.requestTimeoutMs = options.requestTimeoutMs ?? 2000;
    this.ttlMs = options.credentialsTtlMs ?? 60_000;
    this.parse = options.parse ?? parseKubeconfig;
  }

  /** The clients for `cluster`; rejects with a GrantCheckError ('no-credentials') when there are none. */
  async apis(cluster: string): Promise<SpokeApis> {
    const config = this.clusters.get(cluster);
    if (config === undefined) throw new GrantCheckError('no-credentials', cluster, `no ClusterConfig named ${cluster}`);
    const version = `${config.metadata?.uid ?? ''}/${config.metadata?.resourceVersion ?? ''}`;
    const now = this.options.clock.now();
    const cached = this.cache.get(cluster);
    if (cached !== undefined && cached.configVersion === version && cached.expiresAt > now) {
      if (cached.apis instanceof GrantCheckError) throw cached.apis;
      return cached.apis;
    }
    let built: { apis: SpokeApis | GrantCheckError; kubeconfig: string };
    try {
      built = await this.build(config, cached);
    } catch (error) {
      // A Secret read that failed is not cached: the hub's API server may be back at once.
      throw grantCheckFailure(error, cluster);
    }
    this.cache.set(cluster, { configVersion: version, ...built, expiresAt: this.options.clock.now() + this.ttlMs });
    if (built.apis instanceof GrantCheckError) throw built.apis;
    return built.apis;
  }

  private async build(config: ClusterConfig, previous: CachedApis | undefined): Promise<{ apis: SpokeApis | GrantCheckError; kubeconfig: string }> {
    const cluster = config.metadata?.name ?? '';
    const ref = config.spec.kubeconfigSecretRef;
    if (ref === undefined) {
      return {
        kubeconfig: '',
        apis: new GrantCheckError('no-credentials', cluster, `ClusterConfig ${cluster} has no kubeconfigSecretRef (OIDC credentials are not supported for grant checks)`),
      };
    }
    const data = await this.secrets.readSecret(ref.namespace, ref.name);
    const text = data?.[ref.key ?? DEFAULT_SECRET_KEY];
    if (text === undefined || text === '') {
      return { kubeconfig: '', apis: new GrantCheckError('no-credentials', cluster, `kubeconfig Secret ${ref.namespace}/${ref.name} of ClusterConfig ${cluster} is missing or empty`) };
    }
    if (previous !== undefined && previous.kubeconfig === text && !(previous.apis instanceof GrantCheckError)) return { kubeconfig: text, apis: previous.apis };
    let kubeConfig: KubeConfig;
    try {
      kubeConfig = this.parse(text);
    } catch (error) {
      return { kubeconfig: text, apis: new GrantCheckError('no-credentials', cluster, `kubeconfig of ClusterConfig ${cluster} is not usable: ${error instanceof Error ? error.message : String(error)}`) };
    }
    // One keep-alive connection pool per spoke: client-node would open a TLS connection per grant check.
    shareConnections(kubeConfig);
    return {
      kubeconfig: text,
      apis: { authorization: kubeConfig.makeApiClient(AuthorizationV1Api), core: kubeConfig.makeApiClient(CoreV1Api), review: subjectAccessReviewCall(kubeConfig) },
    };
  }

  /** One bounded call; failures become GrantCheckErrors. */
  async call<T>(
    cluster: string,
    what: string,
    signal: AbortSignal | undefined,
    request: (apis: SpokeApis, config: ConfigurationOptions, signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const apis = await this.apis(cluster);
    try {
      return await boundedRequest({ what: `${what} on ${cluster}`, timeoutMs: this.requestTimeoutMs, signal }, (config, bounded) => request(apis, config, bounded));
    } catch (error) {
      throw grantCheckFailure(error, cluster);
    }
  }
}

/** The spoke's RBAC answer for `groups` (a SubjectAccessReview without a real user). */
export class SpokeGrantChecker implements GrantChecker {
  constructor(private readonly spokes: SpokeClients) {}

  async allowed(cluster: string, groups: readonly string[], attributes: RequestAttributes, signal?: AbortSignal): Promise<boolean> {
    const r = attributes.resource;
    const n = attributes.nonResource;
    const body: V1SubjectAccessReview = {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: {
        user: GRANT_CHECK_USER,
        groups: [...groups],
        ...(r !== undefined
          ? {
              resourceAttributes: {
                namespace: r.namespace,
                verb: r.verb,
                group: r.group,
                version: r.version,
                resource: r.resource,
                subresource: r.subresource,
                name: r.name,
              },
            }
          : { nonResourceAttributes: { path: n?.path ?? '', verb: n?.verb ?? '' } }),
      },
    };
    const review = await this.spokes.call(cluster, 'SubjectAccessReview', signal, (apis, config, bounded) =>
      apis.review !== undefined ? apis.review(body, cluster, bounded) : apis.authorization.createSubjectAccessReview({ body }, config),
    );
    return review.status?.allowed === true;
  }
}

/** Namespace labels and pods, live from the spoke. */
export class SpokeObjectReader implements SpokeObjects {
  constructor(private readonly spokes: SpokeClients) {}

  async namespaceLabels(cluster: string, namespace: string): Promise<Labels> {
    if (namespace === '') return {};
    const ns = await this.spokes.call(cluster, `GET namespace ${namespace}`, undefined, (apis, config) =>
      apis.core.readNamespace({ name: namespace }, config),
    );
    return ns.metadata?.labels ?? {};
  }

  async getPod(cluster: string, namespace: string, name: string): Promise<PodLike | undefined> {
    try {
      return (await this.spokes.call(cluster, `GET pod ${namespace}/${name}`, undefined, (apis, config) =>
        apis.core.readNamespacedPod({ name, namespace }, config),
      )) as PodLike;
    } catch (error) {
      if (error instanceof GrantCheckError && error.cause instanceof ApiException && error.cause.code === 404) return undefined;
      throw error;
    }
  }
}
