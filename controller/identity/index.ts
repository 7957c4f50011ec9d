/**
 * Token verification for every replica: the IdentityProvider registry (a watch cache, a
 * component whose sync /readyz waits for) and the JWKS verifier reading it on every token.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { Registry } from 'prom-client';
import type { Logger } from '../observability/logger.ts';
import { IdentityMetrics } from './identity-metrics.ts';
import { IdentityProviderRegistry, type IdentityProviderRegistryOptions } from './identity-provider-registry.ts';
import { JwksTokenVerifier, type JwksTokenVerifierOptions } from './jwks-token-verifier.ts';

export * from './identity.ts';
export { IdentityMetrics, type VerificationReason } from './identity-metrics.ts';
export { AmbiguousIssuerError, parseIdentityProvider, primaryOf, resolveIssuer, sharedIssuers, trimIssuer, type IdentityProviderConfig } from './identity-provider-config.ts';
export {
  IDENTITY_PROVIDERS_WATCH_PATH,
  IdentityProviderRegistry,
  type IdentityProviderDirectory,
  type IdentityProviderRegistryOptions,
  type IdentityProviderSource,
} from './identity-provider-registry.ts';
export { ALLOWED_ALGORITHMS, JwksTokenVerifier, TokenRejectedError, type JwksTokenVerifierOptions } from './jwks-token-verifier.ts';

export interface IdentityServices {
  /** Read model of the IdentityProviders (for /api/config, /api/identity-provider, /api/config/idps). */
  identityProviders: IdentityProviderRegistry;
  tokenVerifier: JwksTokenVerifier;
  /** For ControllerProcess `components`: starts the watch; /readyz waits for hasSynced. */
  component: { name: string; start: (signal: AbortSignal) => void; hasSynced: () => boolean; notReadyReason: () => string | undefined };
}

export function createIdentityServices(
  kubeConfig: KubeConfig,
  options: {
    logger: Logger;
    registry: Registry;
    informer?: IdentityProviderRegistryOptions['informer'];
    verifier?: Omit<JwksTokenVerifierOptions, 'identityProviders' | 'logger' | 'metrics'> },
): IdentityServices {
  const logger = options.logger.child({ component: 'identity' });
  const identityProviders = new IdentityProviderRegistry(kubeConfig, { logger, informer: options.informer });
  const tokenVerifier = new JwksTokenVerifier({
    ...options.verifier,
    identityProviders,
    logger,
    metrics: new IdentityMetrics(options.registry),
  });
  return {
    identityProviders,
    tokenVerifier,
    component: {
      name: 'identity-providers',
      start: (signal) => identityProviders.start(signal),
      hasSynced: () => identityProviders.hasSynced(),
      notReadyReason: () => identityProviders.notReadyReason(),
    },
  };
}
