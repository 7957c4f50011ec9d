/**
 * The controller's own user name as the API server authenticates it (a SelfSubjectReview, which
 * every authenticated user may create), so that admission can tell the controller's status
 * writes from everyone else's. Learned in the background: until it is known, or if the API
 * server cannot say, status writes are not restricted, and a warning says so once.
 */
import { AuthenticationV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../observability/logger.ts';
import { boundedRequest } from '../kube/request-options.ts';

const REQUEST_TIMEOUT_MS = 10_000;
const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 60_000;

/** The user name the API server authenticates `kubeConfig`'s credentials as (SelfSubjectReview). */
export async function selfSubjectUsername(kubeConfig: KubeConfig): Promise<string | undefined> {
  const api = kubeConfig.makeApiClient(AuthenticationV1Api);
  const review = await boundedRequest({ what: 'CREATE selfsubjectreview', timeoutMs: REQUEST_TIMEOUT_MS }, (config) =>
    api.createSelfSubjectReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } }, config),
  );
  return review.status?.userInfo?.username || undefined;
}

export class OwnIdentity {
  private username: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly ask: () => Promise<string | undefined>,
    private readonly logger: Logger,
  ) {}

  static forKubeConfig(kubeConfig: KubeConfig, logger: Logger): OwnIdentity {
    return new OwnIdentity(() => selfSubjectUsername(kubeConfig), logger);
  }

  /** The user name, once learned. */
  get(): string | undefined {
    return this.username;
  }

  /** Asks until the API server answers, backing off; resolves after the first attempt. */
  async start(): Promise<void> {
    await this.attempt(FIRST_RETRY_MS, true);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private async attempt(retryMs: number, first: boolean): Promise<void> {
    if (this.stopped) return;
    try {
      const username = await this.ask();
      if (username !== undefined) {
        this.username = username;
        this.logger.info({ username }, 'own identity learned; status writes restricted to it');
        return;
      }
      if (first) this.logger.warn('the API server named no user for this controller; status writes are not restricted');
    } catch (err) {
      if (first) this.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'own identity unknown; status writes are not restricted until it is');
    }
    this.timer = setTimeout(() => void this.attempt(Math.min(retryMs * 2, MAX_RETRY_MS), false), retryMs);
    this.timer.unref();
  }
}
