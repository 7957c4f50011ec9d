/**
 * ClusterConfig admission rules (reference §2.3, §7.3, §9.2), for a CREATE or an UPDATE that changes
 * the spec.
 */
import { DEFAULT_SECRET_KEY, type SecretKeyReference } from '../common.ts';
import type { ClusterConfig, ClusterConfigSpec, OIDCAuthConfig, OIDCFromIdentityProviderConfig } from '../cluster-config.ts';
import { Findings } from './field-error.ts';
import { checkApproverDomains, checkHttpsUrl, checkIdentifier, checkList, checkRequired } from './checks.ts';
import { checkUniqueName, listOrReport, type RuleContext } from './lookup.ts';

type OidcBlock = OIDCAuthConfig | OIDCFromIdentityProviderConfig;

function checkSecretRef(findings: Findings, field: string, ref: SecretKeyReference | undefined): void {
  if (ref === undefined) return;
  checkRequired(findings, `${field}.name`, ref.name, 'name');
  checkRequired(findings, `${field}.namespace`, ref.namespace, 'namespace');
}

function checkAuthMethod(findings: Findings, spec: ClusterConfigSpec): void {
  const kubeconfig = spec.kubeconfigSecretRef !== undefined;
  const oidc = spec.oidcAuth !== undefined;
  const fromIdp = spec.oidcFromIdentityProvider !== undefined;
  if (!kubeconfig && !oidc && !fromIdp) {
    findings.error('spec', 'either kubeconfigSecretRef, oidcAuth, or oidcFromIdentityProvider must be specified');
  }
  if (kubeconfig && (oidc || fromIdp)) {
    findings.error('spec.kubeconfigSecretRef', 'kubeconfigSecretRef is mutually exclusive with oidcAuth and oidcFromIdentityProvider');
  }
  if (oidc && fromIdp) findings.error('spec.oidcAuth', 'oidcAuth and oidcFromIdentityProvider are mutually exclusive');
  if ((oidc || fromIdp) && spec.authType !== 'OIDC') {
    findings.error('spec.authType', 'authType must be OIDC when oidcAuth or oidcFromIdentityProvider is specified');
  }
  if (kubeconfig && spec.authType === 'OIDC') {
    findings.error('spec.authType', 'authType must be Kubeconfig when kubeconfigSecretRef is specified');
  }
  checkSecretRef(findings, 'spec.kubeconfigSecretRef', spec.kubeconfigSecretRef);
}

/** Who may call the authorization webhook for this cluster (mirrors the CRD's CEL rule, with field paths). */
function checkWebhookAuthentication(findings: Findings, spec: ClusterConfigSpec): void {
  const auth = spec.webhookAuthentication;
  if (auth === undefined) return;
  const field = 'spec.webhookAuthentication';
  if (auth.tokenSecretRef === undefined && auth.clientCertificate === undefined) {
    findings.error(field, 'at least one of tokenSecretRef or clientCertificate must be specified');
  }
  checkSecretRef(findings, `${field}.tokenSecretRef`, auth.tokenSecretRef);
  const certificate = auth.clientCertificate;
  if (certificate !== undefined) {
    if (certificate.caSecretRef === undefined) {
      findings.error(`${field}.clientCertificate.caSecretRef`, 'caSecretRef is required: the CA that must have issued the spoke\'s client certificate');
    }
    checkSecretRef(findings, `${field}.clientCertificate.caSecretRef`, certificate.caSecretRef);
    if (certificate.commonName !== undefined && certificate.commonName.trim() === '') {
      findings.error(`${field}.clientCertificate.commonName`, 'commonName must not be empty; leave it out to accept any certificate of the CA');
    }
  }
}

/** Rules both OIDC blocks share: server URL, secret refs, refresh-token rotation and fallback. */
function checkOidcCommon(findings: Findings, field: string, block: OidcBlock): void {
  checkRequired(findings, `${field}.server`, block.server, 'server');
  checkHttpsUrl(findings, `${field}.server`, block.server);
  checkSecretRef(findings, `${field}.caSecretRef`, block.caSecretRef);
  checkSecretRef(findings, `${field}.refreshTokenSecretRef`, block.refreshTokenSecretRef);
  checkList(findings, `${field}.scopes`, block.scopes);
  if (block.rotatedRefreshTokenKey !== undefined && block.rotatedRefreshTokenKey !== '') {
    if (block.refreshTokenSecretRef === undefined) {
      findings.error(`${field}.rotatedRefreshTokenKey`, 'rotatedRefreshTokenKey requires refreshTokenSecretRef');
    } else if (block.rotatedRefreshTokenKey === (block.refreshTokenSecretRef.key || DEFAULT_SECRET_KEY)) {
      findings.error(`${field}.rotatedRefreshTokenKey`, 'rotatedRefreshTokenKey must differ from the key of refreshTokenSecretRef');
    }
  }
  if (block.fallbackPolicy !== undefined && block.fallbackPolicy !== 'None' && block.refreshTokenSecretRef === undefined) {
    findings.error(`${field}.fallbackPolicy`, `fallbackPolicy ${block.fallbackPolicy} is only valid with refreshTokenSecretRef`);
  }
  const exchange = block.tokenExchange;
  if (exchange?.enabled === true) {
    if (exchange.subjectTokenSecretRef === undefined) {
      findings.error(`${field}.tokenExchange.subjectTokenSecretRef`, 'subjectTokenSecretRef is required when tokenExchange is enabled');
    }
    checkSecretRef(findings, `${field}.tokenExchange.subjectTokenSecretRef`, exchange.subjectTokenSecretRef);
    checkSecretRef(findings, `${field}.tokenExchange.actorTokenSecretRef`, exchange.actorTokenSecretRef);
  }
}

function checkOidcAuth(findings: Findings, oidc: OIDCAuthConfig): void {
  const field = 'spec.oidcAuth';
  checkRequired(findings, `${field}.issuerURL`, oidc.issuerURL, 'issuerURL');
  checkHttpsUrl(findings, `${field}.issuerURL`, oidc.issuerURL);
  checkRequired(findings, `${field}.clientID`, oidc.clientID, 'clientID');
  checkIdentifier(findings, `${field}.clientID`, oidc.clientID);
  checkSecretRef(findings, `${field}.clientSecretRef`, oidc.clientSecretRef);
  if (oidc.clientSecretRef === undefined && oidc.refreshTokenSecretRef === undefined && oidc.tokenExchange?.enabled !== true) {
    findings.error(`${field}.clientSecretRef`, 'clientSecretRef is required unless refreshTokenSecretRef or tokenExchange is used');
  }
  checkOidcCommon(findings, field, oidc);
}

function checkOidcFromIdentityProvider(findings: Findings, oidc: OIDCFromIdentityProviderConfig): void {
  const field = 'spec.oidcFromIdentityProvider';
  checkRequired(findings, `${field}.name`, oidc.name, 'name');
  checkIdentifier(findings, `${field}.clientID`, oidc.clientID);
  checkSecretRef(findings, `${field}.clientSecretRef`, oidc.clientSecretRef);
  if (oidc.clientSecretRef !== undefined && oidc.refreshTokenSecretRef !== undefined) {
    findings.error(`${field}.clientSecretRef`, 'clientSecretRef and refreshTokenSecretRef are mutually exclusive');
  }
  checkOidcCommon(findings, field, oidc);
}

function warnings(findings: Findings, spec: ClusterConfigSpec): void {
  for (const [field, block] of [
    ['spec.oidcAuth', spec.oidcAuth],
    ['spec.oidcFromIdentityProvider', spec.oidcFromIdentityProvider],
  ] as const) {
    if (block === undefined) continue;
    if (block.insecureSkipTLSVerify === true) {
      findings.warn(`${field}.insecureSkipTLSVerify is enabled: the connection to the cluster is not verified`);
    }
    if (block.refreshTokenSecretRef !== undefined) {
      findings.warn(`${field}.refreshTokenSecretRef: offline refresh tokens never expire unless revoked; protect the secret`);
      if ((block.fallbackPolicy ?? 'None') === 'None') {
        findings.warn(`${field}.fallbackPolicy is None: the cluster becomes unreachable once the refresh token stops working`);
      }
    }
  }
}

async function checkIdentityProviderRefs(findings: Findings, spec: ClusterConfigSpec, ctx: RuleContext): Promise<void> {
  const refs = spec.identityProviderRefs;
  checkList(findings, 'spec.identityProviderRefs', refs, { identifier: true });
  if (refs === undefined || refs.length === 0) return;
  const idps = await listOrReport(findings, 'spec.identityProviderRefs', 'IdentityProviders', () => ctx.lookup.listIdentityProviders());
  if (idps === undefined) return;
  refs.forEach((ref, i) => {
    if (ref.trim() === '') return;
    const idp = idps.find((p) => p.metadata?.name === ref);
    if (idp === undefined) findings.error(`spec.identityProviderRefs[${i}]`, `IdentityProvider "${ref}" not found`);
    else if (idp.spec.disabled === true) findings.error(`spec.identityProviderRefs[${i}]`, `IdentityProvider "${ref}" is disabled`);
  });
}

export async function validateClusterConfig(config: ClusterConfig, ctx: RuleContext): Promise<Findings> {
  const findings = new Findings();
  const spec = config.spec;
  checkAuthMethod(findings, spec);
  checkWebhookAuthentication(findings, spec);
  if (spec.oidcAuth !== undefined) checkOidcAuth(findings, spec.oidcAuth);
  if (spec.oidcFromIdentityProvider !== undefined) checkOidcFromIdentityProvider(findings, spec.oidcFromIdentityProvider);
  checkIdentifier(findings, 'spec.clusterID', spec.clusterID);
  checkIdentifier(findings, 'spec.mailProvider', spec.mailProvider);
  checkApproverDomains(findings, 'spec.allowedApproverDomains', spec.allowedApproverDomains);
  warnings(findings, spec);
  await checkIdentityProviderRefs(findings, spec, ctx);
  await checkUniqueName(findings, 'ClusterConfig', config, ctx);
  return findings;
}
