/**
 * What the browser needs to log in (reference §8.4 /api/config, /api/identity-provider,
 * /api/config/idps), derived from the enabled IdentityProviders. The UI talks to the authority
 * directly (there is no OIDC proxy), so `oidcAuthority` is the authority itself.
 */
import type { BreakglassEscalation, IdentityProvider } from '../../crds/index.ts';

function enabled(providers: readonly IdentityProvider[]): IdentityProvider[] {
  return providers
    .filter((p) => p.spec.disabled !== true)
    .sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
}

/** First enabled with primary: true, else the first enabled (by name). */
export function primaryProvider(providers: readonly IdentityProvider[]): IdentityProvider | undefined {
  const list = enabled(providers);
  return list.find((p) => p.spec.primary === true) ?? list[0];
}

/** Keycloak: `{baseURL}/realms/{realm}`; otherwise oidc.authority. */
function authorityOf(provider: IdentityProvider): string {
  const keycloak = provider.spec.keycloak;
  return keycloak ? `${keycloak.baseURL.replace(/\/+$/, '')}/realms/${keycloak.realm}` : provider.spec.oidc.authority;
}

export function frontendConfig(providers: readonly IdentityProvider[]) {
  const primary = primaryProvider(providers);
  return {
    frontend: {
      oidcAuthority: primary ? authorityOf(primary) : '',
      oidcClientID: primary?.spec.oidc.clientID ?? '',
    },
  };
}

export function identityProviderInfo(providers: readonly IdentityProvider[]) {
  const primary = primaryProvider(providers);
  if (primary === undefined) return undefined;
  const keycloak = primary.spec.keycloak;
  return {
    type: 'OIDC' as const,
    authority: authorityOf(primary),
    directAuthority: primary.spec.oidc.authority,
    clientId: primary.spec.oidc.clientID,
    ...(keycloak ? { keycloakMetadata: { baseUrl: keycloak.baseURL, realm: keycloak.realm } } : {}),
  };
}

export function idpConfig(providers: readonly IdentityProvider[], escalations: readonly BreakglassEscalation[]) {
  const mapping: Record<string, string[]> = {};
  for (const escalation of escalations) {
    const idps = escalation.spec.allowedIdentityProviders ?? [];
    if (idps.length > 0 && escalation.metadata?.name) mapping[escalation.metadata.name] = [...idps];
  }
  return {
    identityProviders: enabled(providers).map((p) => ({
      name: p.metadata?.name ?? '',
      displayName: p.spec.displayName ?? p.metadata?.name ?? '',
      issuer: p.spec.issuer ?? p.spec.oidc.authority,
      enabled: true as const,
      oidcAuthority: authorityOf(p),
      oidcClientID: p.spec.oidc.clientID,
    })),
    escalationIDPMapping: mapping,
  };
}
