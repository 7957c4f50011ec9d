/**
 * What the browser needs to log in (reference §8.4 /api/config, /api/identity-provider,
 * /api/config/idps), from the identity registry's enabled providers.
 *
 * The browser logs in at `oidc.authority` (reference §2.4: "also the UI login authority"). The
 * reference hands out Keycloak's `{baseURL}/realms/{realm}` instead, behind its OIDC proxy
 * (§8.14), which fetches from the server side; there is no proxy here, and `keycloak.baseURL` is
 * the group sync's address, often an in-cluster one no browser can reach.
 */
import type { BreakglassEscalation } from '../../crds/index.ts';
import type { IdentityProviderDirectory } from '../identity/index.ts';

/** Origins the browser talks to for login (discovery, token exchange, refresh), for the UI's connect-src. */
export function identityProviderOrigins(directory: IdentityProviderDirectory): string[] {
  const origins = new Set<string>();
  for (const provider of directory.list()) {
    try {
      origins.add(new URL(provider.authority).origin);
    } catch {
      // Admission refuses such URLs; a bad one never opens the policy.
    }
  }
  return [...origins];
}

export function frontendConfig(directory: IdentityProviderDirectory) {
  const primary = directory.primary();
  return {
    frontend: {
      oidcAuthority: primary ? primary.authority : '',
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
    authority: primary.authority,
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
      oidcAuthority: p.authority,
      oidcClientID: p.clientID,
    })),
    escalationIDPMapping: mapping,
  };
}
