/**
 * Builds one controller replica from its options: Kubernetes access, caches, servers, the
 * elector and the loop registry. Process concerns (argv, signals, exit codes) stay in main.ts.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { dirname, resolve } from 'node:path';
import * as validation from '../crds/validation/index.ts';
import { createAdmissionApp } from './admission/admission-app.ts';
import { createAuthorizationWebhook } from './api/authorization-webhook.ts';
import { withWebhook, type WebhookHandler } from './api/authorization-webhook-handler.ts';
import { startAdmissionServer } from './admission/admission-server.ts';
import { KubeObjectLookup } from './admission/kube-object-lookup.ts';
import { OwnIdentity } from './admission/own-identity.ts';
import { createSessionApi } from './api/session-api.ts';
import { apiRateLimits, webhookRateLimits } from './api/rate-limit-options.ts';
import { identityProviderOrigins } from './api/idp-config.ts';
import { createApiApp } from './http/api-app.ts';
import { createUiMiddleware } from './http/ui-app.ts';
import { defaultUiDir } from './http/ui-dir.ts';
import { createIdentityServices, type TokenVerifier } from './identity/index.ts';
import { listen } from './http/listen.ts';
import { startTlsServer } from './http/tls-server.ts';
import { createSarListener } from './http/sar-app.ts';
import { createMetricsApp } from './http/metrics-app.ts';
import { LeaderElector } from './leadership/elector.ts';
import { KubernetesLeaseStore } from './leadership/kubernetes-lease-store.ts';
import { makeIdentity } from './leadership/term.ts';
import { backgroundLoops } from './loops.ts';
import { effectiveLeaseNamespace, type ControllerOptions } from './options.ts';
import type { Logger } from './observability/logger.ts';
import { ControllerMetrics } from './observability/metrics.ts';
import { ControllerProcess, type ReplicaComponent, type ServerDefinition } from './runtime/controller-process.ts';
import { KubernetesSessionRepository } from './sessions/kubernetes-session-repository.ts';
import { shareConnections } from './kube/shared-connections.ts';
import { shutdownBudget } from './shutdown-budget.ts';

export const VERSION = process.env.BREAKGLASS_VERSION ?? '0.1.0';

export interface ComposedController {
  process: ControllerProcess;
  identity: string;
  elector: LeaderElector | null;
  /** IdentityProvider read model and token verifier of this replica. */
  identityServices: ReturnType<typeof createIdentityServices>;
}

export function composeController(
  options: ControllerOptions,
  logger: Logger,
  kubeConfig?: KubeConfig,
  /** Replaces the JWKS verifier of the identity registry (tests). */
  verifier?: TokenVerifier,
): ComposedController {
  const kc = kubeConfig ?? loadKubeConfig();
  const metrics = new ControllerMetrics();
  const identity = makeIdentity(options.podName || undefined);
  const sessions = new KubernetesSessionRepository(kc, {
    logger: logger.child({ component: 'sessions' }),
    metrics,
    informer: { maxCacheAgeMs: options.cacheMaxAge },
  });
  const loops = backgroundLoops({ options, kubeConfig: kc, logger, metrics, sessions, identity });
  // Every replica verifies tokens, so every replica watches the IdentityProviders.
  const identityServices = createIdentityServices(kc, {
    logger,
    registry: metrics.registry,
    informer: { metrics, maxCacheAgeMs: options.cacheMaxAge },
  });

  const servers: ServerDefinition[] = [];
  const components: ReplicaComponent[] = [
    {
      name: 'sessions',
      start: (signal) => sessions.start(signal),
      hasSynced: () => sessions.hasSynced(),
      notReadyReason: () => sessions.notReadyReason(),
    },
    identityServices.component,
  ];
  if (options.enableApi || options.enableFrontend) {
    const apiLogger = logger.child({ server: 'api' });
    const routers = [];
    let webhookHandler: WebhookHandler | undefined;
    if (options.enableApi) {
      const api = createSessionApi({
        kubeConfig: kc,
        sessions,
        verifier: verifier ?? identityServices.tokenVerifier,
        identityProviderDirectory: identityServices.identityProviders,
        identityProviderObjects: identityServices.identityProviders.objects,
        logger,
        version: VERSION,
        identity,
        informer: { metrics, maxCacheAgeMs: options.cacheMaxAge },
        limits: apiRateLimits(options),
      });
      routers.push(api.router);
      components.push(...api.components);
      // The authorization webhook (reference §6.1): on every replica, next to the REST API.
      const webhook = createAuthorizationWebhook({
        kubeConfig: kc,
        logger,
        registry: metrics.registry,
        metrics,
        sessionCache: sessions.cacheView(),
        // One cache per kind and replica: the API's ClusterConfigs and escalations.
        clusterConfigs: api.clusterConfigs,
        escalations: api.escalations,
        sessions,
        maxCacheAgeMs: options.cacheMaxAge,
        decision: {
          ...(options.frontendBaseUrl === '' ? {} : { frontendBaseUrl: options.frontendBaseUrl }),
          oidcPrefixes: options.oidcPrefixes.split(',').map((p) => p.trim()).filter((p) => p !== ''),
        },
        grantCache: { allowedTtlMs: options.sarGrantCacheTtl, deniedTtlMs: Math.max(500, options.sarGrantCacheTtl / 2) },
        rateLimits: webhookRateLimits(options),
      });
      components.push(...webhook.components);
      webhookHandler = webhook.handler;
    }
    const ui = options.enableFrontend
      ? createUiMiddleware({
          root: options.uiDir === '' ? defaultUiDir() : options.uiDir,
          identityProviderOrigins: () => identityProviderOrigins(identityServices.identityProviders),
          logger: logger.child({ component: 'ui' }),
        })
      : undefined;
    const app = createApiApp({ logger: apiLogger, version: VERSION, routers, ...(ui ? { ui } : {}) });
    // The webhook's paths are answered before Koa (authorization-webhook-handler.ts says why).
    const listener = withWebhook(webhookHandler, app.callback(), apiLogger);
    servers.push({ name: 'api', start: () => listen(listener, options.apiBindAddress) });
    if (webhookHandler !== undefined && options.sarTlsCertFile !== '') {
      // Spokes that authenticate with a client certificate talk TLS to the controller itself:
      // the certificate is only visible where TLS ends. This listener serves the webhook alone.
      const sarLogger = logger.child({ server: 'sar-tls' });
      const sarListener = createSarListener({ logger: sarLogger, webhook: webhookHandler });
      servers.push({
        name: 'sar-tls',
        start: () =>
          startTlsServer({
            purpose: 'authorization webhook',
            bindAddress: options.sarTlsBindAddress,
            certDir: dirname(resolve(options.sarTlsCertFile)),
            // Relative flags are relative to the working directory, not to each other.
            certFile: resolve(options.sarTlsCertFile),
            keyFile: resolve(options.sarTlsKeyFile),
            requestClientCertificate: true,
            listener: sarListener,
            logger: sarLogger,
          }),
      });
    }
  }
  if (options.metricsBindAddress !== '0') {
    const app = createMetricsApp(metrics.registry);
    servers.push({ name: 'metrics', start: () => listen(app.callback(), options.metricsBindAddress) });
  }
  if (options.enableWebhooks) {
    const admissionLogger = logger.child({ server: 'admission' });
    const ownIdentity = OwnIdentity.forKubeConfig(kc, admissionLogger);
    const app = createAdmissionApp({
      validator: validation,
      lookup: new KubeObjectLookup(kc),
      logger: admissionLogger,
      metrics,
      statusWriters: () => {
        const username = ownIdentity.get();
        return username === undefined ? undefined : [username];
      },
    });
    servers.push({
      name: 'webhook',
      start: () => {
        // In the background: the listener (and what starts after it) does not wait for the API server.
        void ownIdentity.start();
        return startAdmissionServer({
          bindAddress: options.webhookBindAddress,
          certDir: options.webhookCertPath,
          certFile: options.webhookCertName,
          keyFile: options.webhookCertKey,
          listener: app.callback(),
          logger: admissionLogger,
        });
      },
    });
  }

  // Throws when the release does not fit in the shutdown timeout (parseOptions refuses that already).
  const shutdown = shutdownBudget({
    shutdownTimeoutMs: options.shutdownTimeout,
    releaseTimeoutMs: options.leaderElectReleaseTimeout,
    retryPeriodMs: options.leaderElectRetryPeriod,
    leaderElection: options.enableLeaderElection,
  });
  const electionLogger = logger.child({ component: 'leader-election' });
  const build = (callbacks: ConstructorParameters<typeof LeaderElector>[0]['callbacks']) =>
    new LeaderElector({
      name: options.leaderElectId,
      identity,
      store: new KubernetesLeaseStore(kc, {
        namespace: effectiveLeaseNamespace(options),
        name: options.leaderElectId,
        requestTimeoutMs: Math.max(1000, options.leaderElectRenewDeadline / 2),
        logger: electionLogger,
      }),
      leaseDurationMs: options.leaderElectLeaseDuration,
      renewDeadlineMs: options.leaderElectRenewDeadline,
      retryPeriodMs: options.leaderElectRetryPeriod,
      releaseOnCancel: true,
      shutdownWaitMs: shutdown.loopStopMs,
      releaseTimeoutMs: shutdown.releaseMs,
      logger: electionLogger,
      metrics,
      callbacks,
    });

  const controller = new ControllerProcess({
    logger,
    metrics,
    electorFactory: options.enableLeaderElection ? build : null,
    loops,
    components,
    servers,
    probeAddress: options.healthProbeBindAddress,
    shutdown,
  });
  return { process: controller, identity, elector: controller.elector, identityServices };
}

function loadKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromDefault();
  return shareConnections(kc);
}
