/**
 * TokenVerifier for OIDC access tokens of the cluster's IdentityProviders (reference §8.3, with
 * the weaknesses of §15 left out):
 *
 * 1. Size and shape checked, header and `iss` read unverified only to choose how to verify.
 * 2. `alg` must be asymmetric (RS/PS/ES 256/384/512): `none` and HS* are refused before any key
 *    is looked at, so a public key can never serve as an HMAC secret.
 * 3. `iss` selects the enabled IdentityProvider; its keys come from OIDC discovery (ProviderKeys).
 * 4. jose verifies signature, `iss` (the discovered issuer), `aud` (must contain the provider's
 *    expectedAudience), `exp` (required), `nbf`, with a clock tolerance; `iat` in the future is
 *    refused here (jose checks it only together with a maximum age).
 * 5. Claims: `sub` required; `email`, `preferred_username`, `name` used when they are strings;
 *    `groups`: absent -> undefined, otherwise it must be an array of strings (trimmed, empties
 *    dropped, duplicates removed, order kept). A `groups` claim of another type is refused rather
 *    than ignored: ignoring would turn "the IdP says these groups" into "groups unknown", and a
 *    single string is exactly the shape a misconfigured mapper produces. Keycloak's
 *    `realm_access.roles` is deliberately not used as a fallback: roles are not groups.
 *
 * Rejections are AuthenticationError (TokenRejectedError, with a metric reason); a provider that
 * cannot be reached is IdentityProviderUnavailableError. Tokens are never logged.
 */
import {
  decodeJwt,
  decodeProtectedHeader,
  errors as joseErrors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
  type KeyObject,
  type CryptoKey,
} from 'jose';
import type { Logger } from '../observability/logger.ts';
import { AuthenticationError, IdentityProviderUnavailableError, type TokenVerifier, type VerifiedIdentity } from './identity.ts';
import type { IdentityMetrics, VerificationReason } from './identity-metrics.ts';
import { AmbiguousIssuerError, type IdentityProviderConfig } from './identity-provider-config.ts';
import type { IdentityProviderSource } from './identity-provider-registry.ts';
import { ProviderKeys, type ProviderKeysOptions } from './provider-keys.ts';

export const ALLOWED_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512'] as const;

/** An AuthenticationError with the reason counted in breakglass_token_verifications_total. */
export class TokenRejectedError extends AuthenticationError {
  constructor(
    message: string,
    readonly reason: Exclude<VerificationReason, 'ok' | 'idp_unavailable'>,
  ) {
    super(message);
    this.name = 'TokenRejectedError';
  }
}

export interface JwksTokenVerifierOptions {
  identityProviders: IdentityProviderSource;
  logger: Logger;
  metrics?: IdentityMetrics;
  /** Allowed clock skew for exp, nbf and iat. @default 30 */
  clockToleranceSeconds?: number;
  /** Longer tokens are refused unparsed. @default 32768 */
  maxTokenLength?: number;
  /** @default 5000 */
  requestTimeoutMs?: number;
  /** Minimum time between key set fetches for unknown kids. @default 30000 */
  jwksCooldownMs?: number;
  /** @default 600000 (10 min) */
  jwksMaxAgeMs?: number;
  /** @default 3600000 (1 h) */
  discoveryMaxAgeMs?: number;
  /** @default 5000 */
  failureBackoffMs?: number;
}

const MAX_ISSUER_LENGTH = 512;
const MAX_CACHED_PROVIDERS = 100;

export class JwksTokenVerifier implements TokenVerifier {
  private readonly keys = new Map<string, ProviderKeys>();
  private readonly keysOptions: ProviderKeysOptions;
  private readonly clockTolerance: number;
  private readonly maxTokenLength: number;

  constructor(private readonly options: JwksTokenVerifierOptions) {
    this.clockTolerance = options.clockToleranceSeconds ?? 30;
    this.maxTokenLength = options.maxTokenLength ?? 32_768;
    this.keysOptions = {
      logger: options.logger,
      ...(options.metrics !== undefined ? { metrics: options.metrics } : {}),
      requestTimeoutMs: options.requestTimeoutMs ?? 5000,
      jwksCooldownMs: options.jwksCooldownMs ?? 30_000,
      jwksMaxAgeMs: options.jwksMaxAgeMs ?? 600_000,
      discoveryMaxAgeMs: options.discoveryMaxAgeMs ?? 3_600_000,
      failureBackoffMs: options.failureBackoffMs ?? 5000,
    };
  }

  async verify(token: string): Promise<VerifiedIdentity> {
    try {
      const identity = await this.verifyToken(token);
      this.count('accepted', 'ok');
      return identity;
    } catch (err) {
      if (err instanceof IdentityProviderUnavailableError) {
        this.count('unavailable', 'idp_unavailable');
        throw err;
      }
      const rejection = err instanceof TokenRejectedError ? err : new TokenRejectedError('token verification failed', 'malformed_token');
      if (!(err instanceof TokenRejectedError)) this.options.logger.warn({ err: describe(err) }, 'Unexpected token verification error');
      this.count('rejected', rejection.reason);
      this.options.logger.debug({ reason: rejection.reason }, 'Token rejected');
      throw rejection;
    }
  }

  private async verifyToken(token: string): Promise<VerifiedIdentity> {
    if (token.length === 0 || token.length > this.maxTokenLength) throw new TokenRejectedError('invalid JWT format', 'malformed_token');
    let alg: unknown;
    let unverified: JWTPayload;
    try {
      alg = decodeProtectedHeader(token).alg;
      unverified = decodeJwt(token);
    } catch {
      throw new TokenRejectedError('invalid JWT format', 'malformed_token');
    }
    if (typeof alg !== 'string' || !(ALLOWED_ALGORITHMS as readonly string[]).includes(alg)) {
      throw new TokenRejectedError('token signing algorithm is not allowed', 'algorithm_not_allowed');
    }
    const iss = unverified.iss;
    if (iss === undefined) throw new TokenRejectedError('token has no issuer (iss) claim', 'malformed_token');
    if (!validIssuerFormat(iss)) throw new TokenRejectedError('invalid token issuer format', 'malformed_token');
    const provider = this.resolveProvider(iss);
    if (provider === undefined) throw new TokenRejectedError('token issuer is not configured for this service', 'unknown_issuer');

    const { issuer, getKey } = await this.keysOf(provider).resolve();
    const verifyOptions: JWTVerifyOptions = {
      algorithms: [...ALLOWED_ALGORITHMS],
      issuer,
      audience: provider.expectedAudience,
      clockTolerance: this.clockTolerance,
      requiredClaims: ['exp', 'sub'],
    };
    const payload = await verifyWithKeys(token, getKey, verifyOptions);
    if (typeof payload.iat === 'number' && payload.iat > Date.now() / 1000 + this.clockTolerance) {
      throw new TokenRejectedError('token issued in the future (iat)', 'token_not_yet_valid');
    }
    return toIdentity(payload, iss, provider.name);
  }

  /** One ProviderKeys per provider; a new one (fresh discovery and keys) when authority, issuer or CA change. */
  private keysOf(provider: IdentityProviderConfig): ProviderKeys {
    const existing = this.keys.get(provider.name);
    if (existing !== undefined && existing.config.keysFingerprint === provider.keysFingerprint) return existing;
    const keys = new ProviderKeys(provider, this.keysOptions);
    this.keys.delete(provider.name);
    this.keys.set(provider.name, keys);
    // Entries of deleted providers are never asked for again; the oldest goes once there are many.
    if (this.keys.size > MAX_CACHED_PROVIDERS) this.keys.delete(this.keys.keys().next().value ?? '');
    if (existing !== undefined) this.options.logger.info({ identityProvider: provider.name }, 'Identity provider keys reset after a configuration change');
    return keys;
  }

  private resolveProvider(iss: string): IdentityProviderConfig | undefined {
    try {
      return this.options.identityProviders.resolveIssuer(iss);
    } catch (err) {
      if (err instanceof AmbiguousIssuerError) throw new TokenRejectedError(err.message, 'ambiguous_issuer');
      throw err;
    }
  }

  private count(result: 'accepted' | 'rejected' | 'unavailable', reason: VerificationReason): void {
    this.options.metrics?.tokenVerifications.inc({ result, reason });
  }
}

/**
 * jwtVerify, plus the case jose leaves to the caller: a token without `kid` that more than one
 * key of the set could have signed. Each candidate is tried; any one verifying is enough.
 */
async function verifyWithKeys(token: string, getKey: JWTVerifyGetKey, options: JWTVerifyOptions): Promise<JWTPayload> {
  try {
    return (await jwtVerify(token, getKey, options)).payload;
  } catch (err) {
    if (!(err instanceof joseErrors.JWKSMultipleMatchingKeys)) throw classify(err);
    let last: unknown = err;
    for await (const key of err as unknown as AsyncIterable<KeyObject | CryptoKey>) {
      try {
        return (await jwtVerify(token, key, options)).payload;
      } catch (candidateErr) {
        last = candidateErr;
        // A claim failure is the same for every key; only a signature failure means "try the next".
        if (!(candidateErr instanceof joseErrors.JWSSignatureVerificationFailed)) break;
      }
    }
    throw classify(last);
  }
}

function classify(err: unknown): Error {
  if (err instanceof IdentityProviderUnavailableError || err instanceof TokenRejectedError) return err;
  if (err instanceof joseErrors.JWTExpired) return new TokenRejectedError('token expired', 'token_expired');
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    switch (err.claim) {
      case 'aud':
        return new TokenRejectedError('token audience does not include the expected audience', 'audience_mismatch');
      case 'nbf':
        return new TokenRejectedError('token not valid yet (nbf)', 'token_not_yet_valid');
      case 'iss':
        return new TokenRejectedError('token issuer does not match the identity provider', 'unknown_issuer');
      default:
        return new TokenRejectedError(
          err.reason === 'missing' ? `token has no ${err.claim} claim` : `token claim ${err.claim} is invalid`,
          'invalid_claims',
        );
    }
  }
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return new TokenRejectedError('token signature is invalid', 'invalid_signature');
  if (err instanceof joseErrors.JWKSNoMatchingKey || err instanceof joseErrors.JOSENotSupported) {
    return new TokenRejectedError('token signing key is not known to the identity provider', 'key_id_not_found');
  }
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return new TokenRejectedError('token signing algorithm is not allowed', 'algorithm_not_allowed');
  if (err instanceof joseErrors.JWTInvalid || err instanceof joseErrors.JWSInvalid) {
    return new TokenRejectedError('invalid JWT format', 'malformed_token');
  }
  return err instanceof Error ? err : new Error(String(err));
}

/** Reference §8.3 step 3: an https URL without query, fragment or userinfo, at most 512 characters. */
function validIssuerFormat(iss: string): boolean {
  if (iss.length > MAX_ISSUER_LENGTH) return false;
  let url: URL;
  try {
    url = new URL(iss);
  } catch {
    return false;
  }
  return url.protocol === 'https:' && url.search === '' && url.hash === '' && url.username === '' && url.password === '' && !iss.includes('#') && !iss.includes('?');
}

function toIdentity(payload: JWTPayload, issuer: string, identityProvider: string): VerifiedIdentity {
  const subject = payload.sub;
  if (typeof subject !== 'string' || subject === '') throw new TokenRejectedError('token has no sub claim', 'invalid_claims');
  const exp = payload.exp;
  if (typeof exp !== 'number') throw new TokenRejectedError('token has no exp claim', 'invalid_claims');
  const expiresAt = new Date(exp * 1000);
  // jose accepts any number; a date JavaScript cannot represent would break every later comparison.
  if (Number.isNaN(expiresAt.getTime())) throw new TokenRejectedError('token claim exp is out of range', 'invalid_claims');
  // As kube-apiserver's JWT authenticator: an email the IdP does not vouch for is no identity.
  // Approver, requester and approvedByMe decisions match on email, so an unverified address
  // (self-registration, an admin typo) must not grant anything. No claim at all means the IdP
  // does not say, and the address is used as before.
  const emailUnverified = Object.hasOwn(payload, 'email_verified') && payload.email_verified !== true;
  const email = emailUnverified ? undefined : stringClaim(payload.email);
  const username = stringClaim(payload.preferred_username);
  const name = stringClaim(payload.name);
  const groups = groupsClaim(payload);
  return {
    issuer,
    identityProvider,
    subject,
    ...(email !== undefined ? { email } : {}),
    ...(username !== undefined ? { username } : {}),
    ...(name !== undefined ? { name } : {}),
    ...(groups !== undefined ? { groups } : {}),
    expiresAt,
  };
}

function stringClaim(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function groupsClaim(payload: JWTPayload): readonly string[] | undefined {
  if (!Object.hasOwn(payload, 'groups')) return undefined;
  const value: unknown = payload.groups;
  if (!Array.isArray(value) || !value.every((group): group is string => typeof group === 'string')) {
    throw new TokenRejectedError('token groups claim must be an array of strings', 'invalid_claims');
  }
  const groups: string[] = [];
  for (const group of value) {
    const trimmed = group.trim();
    if (trimmed !== '' && !groups.includes(trimmed)) groups.push(trimmed);
  }
  return groups;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
