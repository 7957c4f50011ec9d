/**
 * What the browser needs to log in (reference §8.4 /api/config, /api/identity-provider,
 * /api/config/idps), from the identity registry's enabled providers. The UI talks to the
 * authority directly (there is no OIDC proxy), so `oidcAuthority` is the authority itself.
 */
import type { BreakglassEscalation } from '../../crds/index.ts';
import type { IdentityProviderConfig, IdentityProviderDirectory } from '../identity/index.ts';

/** Keycloak: `{baseURL}/realms/{realm}`; otherwise oidc.authority. */
function authorityOf(provider: IdentityProviderConfig): string {
  const keycloak = provider.keycloak;
  return keycloak ? `${keycloak.baseURL.replace(/\/+$/, '')}/realms/${keycloak.realm}` : provider.authority;
}

/**
 * Origins the browser talks to for login (discovery, token exchange, refresh): every enabled
 * provider's authority, and a Keycloak base URL when it differs. For the UI's connect-src.
 */
export function identityProviderOrigins(directory: IdentityProviderDirectory): string[] {
  const origins = new Set<string>();
  for (const provider of directory.list()) {
    for (const url of [authorityOf(provider), provider.authority, provider.keycloak?.baseURL]) {
      if (!url) continue;
      try {
        origins.add(new URL(url).origin);
      } catch {
        // Admission refuses such URLs; a bad one never opens the policy.
      }
    }
  }
  return [...origins];
}

export function frontendConfig(directory: IdentityProviderDirectory) {
  const primary = directory.primary();
  return {
    frontend: {
      oidcAuthority: primary ? authorityOf(primary) : '',
      oidcClientID: primary?.clientID ?? '',
    },
  };
}

export function identityProviderInfo(directory: IdentityProviderDirectory) {
  const primary = directory.primary();
  if (primary === undefined) return undefined;
  const keycloak = primary.keycloak;
  return {
    type: 'OIDC' as const,
    authority: authorityOf(primary),
    directAuthority: primary.authority,
    clientId: primary.clientID,
    ...(keycloak ? { keycloakMetadata: { baseUrl: keycloak.baseURL, realm: keycloak.realm } } : {}),
  };
}

export function idpConfig(directory: IdentityProviderDirectory, escalations: readonly BreakglassEscalation[]) {
  const mapping: Record<string, string[]> = {};
  for (const escalation of escalations) {
    const idps = escalation.spec.allowedIdentityProviders ?? [];
    if (idps.length > 0 && escalation.metadata?.name) mapping[escalation.metadata.name] = [...idps];
  }
  return {
    identityProviders: directory.list().map((p) => ({
      name: p.name,
      displayName: p.displayName,
      issuer: p.issuer,
      enabled: true as const,
      oidcAuthority: authorityOf(p),
      oidcClientID: p.clientID,
    })),
    escalationIDPMapping: mapping,
  };
}
