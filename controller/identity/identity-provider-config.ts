/**
 * What verification and the API's config endpoints need from an IdentityProvider object, read
 * defensively (the admission webhook may be off, so objects in the cache can be invalid), and the
 * issuer -> provider resolution of reference §2.4.
 */
import type { IdentityProvider } from '../../crds/identity-provider.ts';

export interface IdentityProviderConfig {
  /** metadata.name */
  readonly name: string;
  /** The `iss` tokens of this provider carry: spec.issuer, else spec.oidc.authority (trailing `/` trimmed). */
  readonly issuer: string;
  /** spec.issuer as written, if set (resolution prefers it over the authority). */
  readonly specIssuer?: string;
  /** spec.oidc.authority: base of OIDC discovery and of the UI login. */
  readonly authority: string;
  readonly clientID: string;
  readonly expectedAudience: string;
  /** PEM trusted (instead of the system roots) for the provider's TLS. */
  readonly certificateAuthority?: string;
  readonly displayName: string;
  readonly primary: boolean;
  readonly disabled: boolean;
  readonly groupSyncProvider?: 'Keycloak';
  readonly keycloak?: { readonly baseURL: string; readonly realm: string };
  /**
   * Equal for two configs exactly when they fetch the same keys the same way (authority, issuer,
   * CA): a change of it discards the cached discovery document and key set.
   */
  readonly keysFingerprint: string;
}

export type ParsedIdentityProvider = { ok: true; config: IdentityProviderConfig } | { ok: false; name: string; problem: string };

/** Removes trailing slashes, so `https://idp/realms/x/` and `https://idp/realms/x` compare equal. */
export function trimIssuer(value: string): string {
  return value.replace(/\/+$/, '');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function httpsUrl(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  try {
    return new URL(value).protocol === 'https:';
  } catch {
    return false;
  }
}

function nonEmpty(value: unknown): value is string {
  return typeof value === 'string' && value.trim() !== '';
}

export function parseIdentityProvider(object: IdentityProvider): ParsedIdentityProvider {
  const name = object.metadata?.name ?? '';
  const fail = (problem: string): ParsedIdentityProvider => ({ ok: false, name, problem });
  if (name === '') return fail('metadata.name is empty');
  const spec: unknown = object.spec;
  if (!isRecord(spec)) return fail('spec is missing');
  const oidc = spec.oidc;
  if (!isRecord(oidc)) return fail('spec.oidc is missing');
  if (!httpsUrl(oidc.authority)) return fail('spec.oidc.authority must be an https URL');
  if (!nonEmpty(oidc.clientID)) return fail('spec.oidc.clientID is required');
  if (!nonEmpty(oidc.expectedAudience)) return fail('spec.oidc.expectedAudience is required');
  if (oidc.insecureSkipVerify === true) return fail('spec.oidc.insecureSkipVerify is not supported');
  if (oidc.certificateAuthority !== undefined && typeof oidc.certificateAuthority !== 'string') {
    return fail('spec.oidc.certificateAuthority must be a PEM string');
  }
  if (spec.issuer !== undefined && !httpsUrl(spec.issuer)) return fail('spec.issuer must be an https URL');
  const specIssuer = typeof spec.issuer === 'string' ? spec.issuer : undefined;
  const authority = oidc.authority;
  const issuer = trimIssuer(specIssuer ?? authority);
  const certificateAuthority = nonEmpty(oidc.certificateAuthority) ? oidc.certificateAuthority : undefined;
  const keycloak = isRecord(spec.keycloak) && typeof spec.keycloak.baseURL === 'string' && typeof spec.keycloak.realm === 'string'
    ? { baseURL: spec.keycloak.baseURL, realm: spec.keycloak.realm }
    : undefined;
  return {
    ok: true,
    config: {
      name,
      issuer,
      ...(specIssuer !== undefined ? { specIssuer } : {}),
      authority,
      clientID: oidc.clientID,
      expectedAudience: oidc.expectedAudience,
      ...(certificateAuthority !== undefined ? { certificateAuthority } : {}),
      displayName: nonEmpty(spec.displayName) ? spec.displayName : name,
      primary: spec.primary === true,
      disabled: spec.disabled === true,
      ...(spec.groupSyncProvider === 'Keycloak' ? { groupSyncProvider: 'Keycloak' as const } : {}),
      ...(keycloak !== undefined ? { keycloak } : {}),
      keysFingerprint: JSON.stringify([trimIssuer(authority), issuer, certificateAuthority ?? null]),
    },
  };
}

/**
 * `iss` is claimed by several enabled providers. Admission forbids duplicate issuers but may be
 * off; picking one (say, the first by name) would let whoever creates a provider with a lower
 * name take over the issuer's tokens, keys and approver groups silently. So the token is refused
 * until an administrator fixes the configuration.
 */
export class AmbiguousIssuerError extends Error {
  constructor(
    readonly issuer: string,
    /** Names of the claiming providers, sorted. */
    readonly providers: readonly string[],
  ) {
    super(`token issuer is claimed by more than one identity provider (${providers.join(', ')})`);
    this.name = 'AmbiguousIssuerError';
  }
}

/**
 * The enabled provider whose spec.issuer equals `iss`, else the one whose authority does (both
 * compared without trailing `/`), per reference §2.4. Throws AmbiguousIssuerError when the
 * deciding step matches more than one provider.
 */
export function resolveIssuer(configs: readonly IdentityProviderConfig[], iss: string): IdentityProviderConfig | undefined {
  const wanted = trimIssuer(iss);
  const enabled = configs.filter((config) => !config.disabled).sort((a, b) => a.name.localeCompare(b.name));
  let matches = enabled.filter((config) => config.specIssuer !== undefined && trimIssuer(config.specIssuer) === wanted);
  if (matches.length === 0) matches = enabled.filter((config) => trimIssuer(config.authority) === wanted);
  if (matches.length > 1) throw new AmbiguousIssuerError(wanted, matches.map((config) => config.name));
  return matches[0];
}

/** Every issuer that resolveIssuer refuses as ambiguous, with its claimants (for the registry's warning). */
export function sharedIssuers(configs: readonly IdentityProviderConfig[]): { issuer: string; providers: readonly string[] }[] {
  const candidates = new Set<string>();
  for (const config of configs) {
    if (config.disabled) continue;
    if (config.specIssuer !== undefined) candidates.add(trimIssuer(config.specIssuer));
    candidates.add(trimIssuer(config.authority));
  }
  const shared: { issuer: string; providers: readonly string[] }[] = [];
  for (const issuer of [...candidates].sort()) {
    try {
      resolveIssuer(configs, issuer);
    } catch (err) {
      if (err instanceof AmbiguousIssuerError) shared.push({ issuer, providers: err.providers });
      else throw err;
    }
  }
  return shared;
}

/** Reference §2.4: the first enabled provider with primary: true, else the first enabled one (by name). */
export function primaryOf(configs: readonly IdentityProviderConfig[]): IdentityProviderConfig | undefined {
  const enabled = configs.filter((config) => !config.disabled).sort((a, b) => a.name.localeCompare(b.name));
  return enabled.find((config) => config.primary) ?? enabled[0];
}
