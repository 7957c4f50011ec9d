/**
 * IdentityProvider admission rules (reference §2.4, §7.4), for a CREATE or an UPDATE that changes
 * the spec.
 */
import type { IdentityProvider } from '../identity-provider.ts';
import { Findings } from './field-error.ts';
import { checkGlob, checkGoDuration, checkHttpsUrl, checkIdentifier, checkRequired } from './checks.ts';
import { listOrReport, type RuleContext } from './lookup.ts';

const INSECURE_MESSAGE = 'insecureSkipVerify is not supported; configure certificateAuthority instead';
const trimSlash = (s: string): string => s.trim().replace(/\/+$/, '');

function checkOidc(findings: Findings, idp: IdentityProvider): void {
  const oidc = idp.spec.oidc;
  checkRequired(findings, 'spec.oidc.authority', oidc.authority, 'authority');
  checkHttpsUrl(findings, 'spec.oidc.authority', oidc.authority);
  checkHttpsUrl(findings, 'spec.oidc.jwksEndpoint', oidc.jwksEndpoint);
  checkRequired(findings, 'spec.oidc.clientID', oidc.clientID, 'clientID');
  if (/\s/.test(oidc.clientID)) findings.error('spec.oidc.clientID', 'clientID must not contain whitespace');
  else checkIdentifier(findings, 'spec.oidc.clientID', oidc.clientID);
  checkRequired(findings, 'spec.oidc.expectedAudience', oidc.expectedAudience, 'expectedAudience');
  if (oidc.insecureSkipVerify === true) findings.error('spec.oidc.insecureSkipVerify', INSECURE_MESSAGE);
}

function checkKeycloak(findings: Findings, idp: IdentityProvider): void {
  const keycloak = idp.spec.keycloak;
  const wanted = idp.spec.groupSyncProvider === 'Keycloak';
  if (!wanted) {
    if (keycloak !== undefined) findings.error('spec.keycloak', 'keycloak must not be set unless groupSyncProvider is Keycloak');
    return;
  }
  if (keycloak === undefined) {
    findings.error('spec.keycloak', 'keycloak is required when groupSyncProvider is Keycloak');
    return;
  }
  checkRequired(findings, 'spec.keycloak.baseURL', keycloak.baseURL, 'baseURL');
  checkHttpsUrl(findings, 'spec.keycloak.baseURL', keycloak.baseURL);
  checkRequired(findings, 'spec.keycloak.realm', keycloak.realm, 'realm');
  checkIdentifier(findings, 'spec.keycloak.realm', keycloak.realm);
  checkRequired(findings, 'spec.keycloak.clientID', keycloak.clientID, 'clientID');
  checkIdentifier(findings, 'spec.keycloak.clientID', keycloak.clientID);
  checkRequired(findings, 'spec.keycloak.clientSecretRef.name', keycloak.clientSecretRef.name, 'name');
  checkRequired(findings, 'spec.keycloak.clientSecretRef.namespace', keycloak.clientSecretRef.namespace, 'namespace');
  checkGoDuration(findings, 'spec.keycloak.cacheTTL', keycloak.cacheTTL);
  checkGoDuration(findings, 'spec.keycloak.requestTimeout', keycloak.requestTimeout);
  if (keycloak.insecureSkipVerify === true) findings.error('spec.keycloak.insecureSkipVerify', INSECURE_MESSAGE);
}

/** The issuer tokens are matched by: spec.issuer, else oidc.authority (as the token verifier resolves it). */
function effectiveIssuer(idp: IdentityProvider): string | undefined {
  const issuer = idp.spec.issuer?.trim() || idp.spec.oidc?.authority?.trim();
  return issuer ? trimSlash(issuer) : undefined;
}

const hasIssuer = (idp: IdentityProvider): boolean => Boolean(idp.spec.issuer?.trim());
function authorityOf(idp: IdentityProvider): string | undefined {
  const authority = idp.spec.oidc?.authority?.trim();
  return authority ? trimSlash(authority) : undefined;
}

async function checkIssuerUnique(findings: Findings, idp: IdentityProvider, ctx: RuleContext): Promise<void> {
  const issuer = effectiveIssuer(idp);
  if (issuer === undefined) return;
  const field = idp.spec.issuer?.trim() ? 'spec.issuer' : 'spec.oidc.authority';
  const others = await listOrReport(findings, field, 'IdentityProviders', () => ctx.lookup.listIdentityProviders());
  if (others === undefined) return;
  const name = (other: IdentityProvider) => other.metadata?.name ?? '';
  const byIssuer = others.find((other) => name(other) !== name(idp) && effectiveIssuer(other) === issuer);
  if (byIssuer !== undefined) {
    findings.error(
      field,
      field === 'spec.issuer'
        ? `issuer must be unique cluster-wide; conflicting IdentityProvider=${name(byIssuer)}`
        : `the authority is this provider's issuer (spec.issuer is not set) and must be unique cluster-wide; conflicting IdentityProvider=${name(byIssuer)}`,
    );
    return;
  }
  // A provider without spec.issuer is found by its authority, a step that compares the
  // authorities of all providers: two sharing one, where either lacks spec.issuer, make it ambiguous.
  const authority = authorityOf(idp);
  const byAuthority = others.find(
    (other) => name(other) !== name(idp) && (!hasIssuer(idp) || !hasIssuer(other)) && authority !== undefined && authorityOf(other) === authority,
  );
  if (byAuthority !== undefined) {
    findings.error(
      'spec.oidc.authority',
      `the authority is also IdentityProvider=${name(byAuthority)}'s, and ${hasIssuer(idp) ? 'that one has' : 'this one has'} no spec.issuer, so its tokens would match both; give both an issuer or use another authority`,
    );
  }
}

export async function validateIdentityProvider(idp: IdentityProvider, ctx: RuleContext): Promise<Findings> {
  const findings = new Findings();
  checkOidc(findings, idp);
  checkKeycloak(findings, idp);
  checkHttpsUrl(findings, 'spec.issuer', idp.spec.issuer);
  idp.spec.sessionLimits?.groupOverrides?.forEach((override, i) => {
    const field = `spec.sessionLimits.groupOverrides[${i}]`;
    checkGlob(findings, `${field}.group`, override.group);
    if (override.unlimited === true && override.maxActiveSessionsPerUser !== undefined) {
      findings.error(`${field}.unlimited`, 'unlimited is mutually exclusive with maxActiveSessionsPerUser');
    }
  });
  await checkIssuerUnique(findings, idp, ctx);
  return findings;
}
