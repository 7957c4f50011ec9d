/**
 * The signing keys of one identity provider: OIDC discovery (`<authority>/.well-known/openid-
 * configuration` -> `jwks_uri`, whose `issuer` must be the provider's), then jose's remote key set
 * over our own HTTPS client (the provider's CA, bounded size and time).
 *
 * jose's remote set already does what the issue asks of the key cache: keys cached for
 * `jwksMaxAgeMs`, refetched when a token names an unknown `kid`, at most once per
 * `jwksCooldownMs` after a successful fetch (so a flood of made-up kids costs one request), and
 * concurrent fetches share one request. What it does not do is back off after a failed fetch;
 * `failureBackoffMs` adds that, so an unreachable IdP is not asked again on every request. Nor
 * does it keep its keys when a refetch fails: past `jwksMaxAgeMs` it refetches and throws, which
 * would refuse every token once an outage lasts 10 minutes. The last key set fetched is kept
 * for that case, so keys already known keep verifying during an outage (as kube-apiserver's
 * OIDC authenticator does); only a kid it does not hold is refused.
 */
import { createLocalJWKSet, createRemoteJWKSet, customFetch, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import type { Logger } from '../observability/logger.ts';
import { IdentityProviderUnavailableError } from './identity.ts';
import type { IdentityMetrics } from './identity-metrics.ts';
import { trimIssuer, type IdentityProviderConfig } from './identity-provider-config.ts';
import { httpsGet } from './https-get.ts';

export interface ProviderKeysOptions {
  logger: Logger;
  metrics?: IdentityMetrics;
  /** Bound of one discovery or JWKS request. */
  requestTimeoutMs: number;
  /** No key set refetch (for an unknown kid) sooner than this after the last successful one. */
  jwksCooldownMs: number;
  /** Cached keys are refetched when older than this. */
  jwksMaxAgeMs: number;
  /** The discovery document is refetched when older than this. */
  discoveryMaxAgeMs: number;
  /** After a failed request, no request to this provider for this long (callers get the same error). */
  failureBackoffMs: number;
}

interface Discovered {
  issuer: string;
  jwksUri: string;
  fetchedAt: number;
  getKey: JWTVerifyGetKey;
}

type Document = 'discovery' | 'jwks';

export class ProviderKeys {
  private discovered: Discovered | undefined;
  private pendingDiscovery: Promise<Discovered> | undefined;
  private lastFailure: { at: number; error: IdentityProviderUnavailableError } | undefined;

  constructor(
    readonly config: IdentityProviderConfig,
    private readonly options: ProviderKeysOptions,
  ) {}

  /**
   * The issuer the provider's discovery document declares and a key resolver for jwtVerify.
   * Rejects with IdentityProviderUnavailableError when discovery cannot be fetched or is invalid.
   */
  async resolve(): Promise<{ issuer: string; getKey: JWTVerifyGetKey }> {
    const current = this.discovered;
    if (current !== undefined && Date.now() - current.fetchedAt < this.options.discoveryMaxAgeMs) return current;
    try {
      this.pendingDiscovery ??= this.discover().finally(() => (this.pendingDiscovery = undefined));
      return await this.pendingDiscovery;
    } catch (err) {
      // A stale discovery document is better than none: the keys it points to still verify.
      if (current !== undefined) return current;
      throw err;
    }
  }

  private async discover(): Promise<Discovered> {
    const { name, authority } = this.config;
    const url = `${trimIssuer(authority)}/.well-known/openid-configuration`;
    const body = await this.get('discovery', url, AbortSignal.timeout(this.options.requestTimeoutMs));
    let document: unknown;
    try {
      document = JSON.parse(body);
    } catch {
      throw this.fail('discovery', `discovery document of identity provider ${name} is not JSON`);
    }
    const issuer = isRecord(document) ? document.issuer : undefined;
    const jwksUri = isRecord(document) ? document.jwks_uri : undefined;
    if (typeof issuer !== 'string' || trimIssuer(issuer) !== this.config.issuer) {
      throw this.fail(
        'discovery',
        `discovery document of identity provider ${name} declares issuer ${String(issuer)}, expected ${this.config.issuer}`,
      );
    }
    if (typeof jwksUri !== 'string' || !isHttpsUrl(jwksUri)) {
      throw this.fail('discovery', `discovery document of identity provider ${name} has no https jwks_uri`);
    }
    const previous = this.discovered;
    // Keep the key set (and its cache) when a refreshed discovery document points to the same keys.
    let getKey: JWTVerifyGetKey;
    if (previous !== undefined && previous.jwksUri === jwksUri) {
      getKey = previous.getKey;
    } else {
      let lastFetched: JWTVerifyGetKey | undefined;
      const remote = createRemoteJWKSet(new URL(jwksUri), {
        cooldownDuration: this.options.jwksCooldownMs,
        cacheMaxAge: this.options.jwksMaxAgeMs,
        timeoutDuration: this.options.requestTimeoutMs,
        [customFetch]: async (url: string, init: RequestInit) => {
          const body = await this.get('jwks', url, init.signal ?? AbortSignal.timeout(this.options.requestTimeoutMs));
          lastFetched = localKeySet(body) ?? lastFetched;
          return new Response(body, { status: 200, headers: { 'content-type': 'application/json' } });
        },
      });
      getKey = wrapKeyErrors(remote, this, () => lastFetched);
    }
    const discovered: Discovered = { issuer, jwksUri, fetchedAt: Date.now(), getKey };
    this.discovered = discovered;
    this.options.logger.info({ identityProvider: name, issuer, jwksUri }, 'Discovered identity provider');
    return discovered;
  }

  /** One request to the provider, refused while a recent failure is backing off. Resolves to a 200 body. */
  private async get(document: Document, url: string, signal: AbortSignal): Promise<string> {
    const failure = this.lastFailure;
    if (failure !== undefined && Date.now() - failure.at < this.options.failureBackoffMs) throw failure.error;
    const { name } = this.config;
    let response: { status: number; body: string };
    try {
      response = await httpsGet(url, { signal, ...(this.config.certificateAuthority !== undefined ? { ca: this.config.certificateAuthority } : {}) });
    } catch (err) {
      throw this.fail(document, `cannot fetch the ${document} document of identity provider ${name}: ${describe(err)}`, err);
    }
    if (response.status !== 200) {
      throw this.fail(document, `the ${document} document of identity provider ${name} answered HTTP ${response.status}`);
    }
    this.options.metrics?.identityProviderFetches.inc({ identity_provider: name, document, result: 'success' });
    if (document === 'jwks') this.options.logger.info({ identityProvider: name }, 'Fetched identity provider keys');
    return response.body;
  }

  /** Records a failed request (metric, log, backoff) and returns the error to throw. */
  fail(document: Document | 'keys', message: string, cause?: unknown): IdentityProviderUnavailableError {
    const error = new IdentityProviderUnavailableError(message, this.config.name, cause !== undefined ? { cause } : undefined);
    this.lastFailure = { at: Date.now(), error };
    if (document !== 'keys') this.options.metrics?.identityProviderFetches.inc({ identity_provider: this.config.name, document, result: 'error' });
    this.options.logger.warn({ identityProvider: this.config.name, document, err: message }, 'Identity provider unavailable');
    return error;
  }
}

/** A local key set over a fetched JWKS body; undefined when it is not one (jose's remote set reports that). */
function localKeySet(body: string): JWTVerifyGetKey | undefined {
  try {
    const jwks = JSON.parse(body) as JSONWebKeySet;
    return Array.isArray(jwks?.keys) ? createLocalJWKSet(jwks) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Key-matching errors (no key for the token's kid/alg) are the token's problem and pass through;
 * anything else the remote set throws (timeout, malformed key set, our fetch errors) means the
 * provider's keys cannot be had: the last key set fetched answers instead when there is one,
 * else it becomes IdentityProviderUnavailableError.
 */
function wrapKeyErrors(getKey: JWTVerifyGetKey, keys: ProviderKeys, lastFetched: () => JWTVerifyGetKey | undefined): JWTVerifyGetKey {
  return async (...args: Parameters<JWTVerifyGetKey>) => {
    try {
      return await getKey(...args);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      const keyError = code === 'ERR_JWKS_NO_MATCHING_KEY' || code === 'ERR_JWKS_MULTIPLE_MATCHING_KEYS' || code === 'ERR_JOSE_NOT_SUPPORTED';
      const fallback = lastFetched();
      // The provider is unreachable (or answered garbage): the keys it last published still count.
      // A kid they do not hold may be a new key: for that token the provider being down is the answer.
      if (!keyError && fallback !== undefined) {
        try {
          return await fallback(...args);
        } catch (fallbackError) {
          if ((fallbackError as { code?: unknown }).code !== 'ERR_JWKS_NO_MATCHING_KEY') throw fallbackError;
        }
      }
      if (err instanceof IdentityProviderUnavailableError || keyError) throw err;
      throw keys.fail('keys', `the key set of identity provider ${keys.config.name} is unusable: ${describe(err)}`, err);
    }
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isHttpsUrl(value: string): boolean {
  try {
    return new URL(value).protocol === 'https:';
  } catch {
    return false;
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
