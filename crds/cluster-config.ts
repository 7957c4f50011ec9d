/**
 * ClusterConfig (`ccfg`, namespaced): registers a spoke cluster and how the hub authenticates to
 * it. Fields per reference §2.3 and §9.2.
 */
import { Type, type Static } from '@sinclair/typebox';
import {
  AGE_COLUMN,
  READY_COLUMN,
  SecretKeyReferenceSchema,
  boundedString,
  conditionsStatus,
  httpsUrl,
  int32,
  rootSchema,
  stringEnum,
  stringList,
  type CelRule,
  type CrdSource,
} from './common.ts';

export const CLUSTER_AUTH_TYPES = ['Kubeconfig', 'OIDC'] as const;
export type ClusterAuthType = (typeof CLUSTER_AUTH_TYPES)[number];
export const FALLBACK_POLICIES = ['None', 'Auto', 'Warn'] as const;
export const USER_IDENTIFIER_CLAIMS = ['email', 'preferred_username', 'sub'] as const;
export const DEFAULT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

/** Condition types and reasons of ClusterConfig status (§2.3). */
export const CLUSTER_CONDITION_TYPES = ['Ready', 'RefreshTokenExpired', 'DegradedAuth'] as const;

const TokenExchangeSchema = Type.Object(
  {
    enabled: Type.Optional(Type.Boolean()),
    subjectTokenSecretRef: Type.Optional(SecretKeyReferenceSchema),
    subjectTokenType: Type.Optional(boundedString({ default: DEFAULT_TOKEN_TYPE })),
    requestedTokenType: Type.Optional(boundedString({ default: DEFAULT_TOKEN_TYPE })),
    resource: Type.Optional(Type.String({ maxLength: 2048 })),
    actorTokenSecretRef: Type.Optional(SecretKeyReferenceSchema),
    actorTokenType: Type.Optional(boundedString()),
  },
  { description: 'RFC 8693 token exchange.' },
);

/** Fields the two OIDC blocks share (§9.2). */
const oidcCommonFields = {
  server: httpsUrl('API server URL of the spoke cluster (https).'),
  caSecretRef: Type.Optional(SecretKeyReferenceSchema),
  insecureSkipTLSVerify: Type.Optional(Type.Boolean({ description: 'skip TLS verification of the spoke (discouraged).' })),
  allowTOFU: Type.Optional(Type.Boolean({ description: 'pin the spoke certificate on first use.' })),
  refreshTokenSecretRef: Type.Optional(SecretKeyReferenceSchema),
  rotatedRefreshTokenKey: Type.Optional(
    boundedString({ description: 'secret key where rotated refresh tokens are stored; must differ from the seed key.' }),
  ),
  tokenExchange: Type.Optional(TokenExchangeSchema),
  audience: Type.Optional(Type.String({ maxLength: 2048, description: 'token audience; defaults to the server URL.' })),
  scopes: Type.Optional(stringList(20, { description: 'additional scopes (openid email groups are always requested).' })),
  fallbackPolicy: Type.Optional(
    stringEnum(FALLBACK_POLICIES, { default: 'None', description: 'what to do when the refresh token fails.' }),
  ),
};

export const OIDCAuthConfigSchema = Type.Object(
  {
    issuerURL: httpsUrl('OIDC issuer (https).'),
    clientID: boundedString({ minLength: 1 }),
    clientSecretRef: Type.Optional(SecretKeyReferenceSchema),
    certificateAuthority: Type.Optional(Type.String({ maxLength: 65536, description: 'PEM CA for the issuer.' })),
    ...oidcCommonFields,
  },
  { description: 'the hub obtains OIDC tokens for the spoke itself.' },
);
export type OIDCAuthConfig = Static<typeof OIDCAuthConfigSchema>;

export const OIDCFromIdentityProviderSchema = Type.Object(
  {
    name: boundedString({ minLength: 1, description: 'IdentityProvider to take issuer and client from.' }),
    clientID: Type.Optional(boundedString({ description: 'overrides the client of the IdentityProvider.' })),
    clientSecretRef: Type.Optional(SecretKeyReferenceSchema),
    ...oidcCommonFields,
  },
  { description: 'OIDC credentials derived from an IdentityProvider.' },
);
export type OIDCFromIdentityProviderConfig = Static<typeof OIDCFromIdentityProviderSchema>;

/** A client certificate the spoke's webhook kubeconfig presents, checked against a CA (issue 9 item 3). */
export const WebhookClientCertificateSchema = Type.Object(
  {
    // The Secret key holding the PEM CA bundle that must have issued the client certificate (e.g. key "ca.crt").
    caSecretRef: SecretKeyReferenceSchema,
    commonName: Type.Optional(
      boundedString({ minLength: 1, description: 'the subject CN the client certificate must carry; unset: any certificate the CA issued.' }),
    ),
  },
  {
    description:
      'the spoke presents a client certificate (client-certificate-data in its webhook kubeconfig); needs the controller\'s TLS listener (--sar-tls-cert-file), which sees the certificate.',
  },
);
export type WebhookClientCertificate = Static<typeof WebhookClientCertificateSchema>;

export const WEBHOOK_AUTHENTICATION_RULES: CelRule[] = [
  {
    rule: 'has(self.tokenSecretRef) || has(self.clientCertificate)',
    message: 'at least one of tokenSecretRef or clientCertificate must be specified',
  },
];

export const WebhookAuthenticationSchema = Type.Object(
  {
    // The Secret key holding the bearer token the spoke's webhook kubeconfig presents.
    tokenSecretRef: Type.Optional(SecretKeyReferenceSchema),
    clientCertificate: Type.Optional(WebhookClientCertificateSchema),
  },
  {
    description:
      'how the spoke API server authenticates to the hub authorization webhook (a bearer token, a client certificate, or either when both are set); without it every SubjectAccessReview for this cluster is refused (401).',
    'x-kubernetes-validations': WEBHOOK_AUTHENTICATION_RULES,
  },
);
export type WebhookAuthentication = Static<typeof WebhookAuthenticationSchema>;

const has = (field: string) => `(has(self.${field}) ? 1 : 0)`;
const usesOidc = '(has(self.oidcAuth) || has(self.oidcFromIdentityProvider))';

export const CLUSTER_CONFIG_SPEC_RULES: CelRule[] = [
  {
    rule: `${has('kubeconfigSecretRef')} + ${has('oidcAuth')} + ${has('oidcFromIdentityProvider')} == 1`,
    message: 'exactly one of kubeconfigSecretRef, oidcAuth or oidcFromIdentityProvider must be specified',
  },
  {
    rule: `!${usesOidc} || (has(self.authType) && self.authType == 'OIDC')`,
    message: 'authType must be OIDC when oidcAuth or oidcFromIdentityProvider is specified',
    fieldPath: '.authType',
  },
  {
    rule: `!has(self.kubeconfigSecretRef) || !has(self.authType) || self.authType == 'Kubeconfig'`,
    message: 'authType must be Kubeconfig when kubeconfigSecretRef is specified',
    fieldPath: '.authType',
  },
];

export const ClusterConfigSpecSchema = Type.Object(
  {
    clusterID: Type.Optional(boundedString({ description: 'canonical cluster id; sessions use metadata.name.' })),
    tenant: Type.Optional(boundedString({ description: 'tenant; matched by DenyPolicy appliesTo.tenants.' })),
    environment: Type.Optional(boundedString()),
    site: Type.Optional(boundedString()),
    location: Type.Optional(boundedString()),
    authType: Type.Optional(
      stringEnum(CLUSTER_AUTH_TYPES, { default: 'Kubeconfig', description: 'how the hub authenticates to the spoke.' }),
    ),
    kubeconfigSecretRef: Type.Optional(SecretKeyReferenceSchema),
    oidcAuth: Type.Optional(OIDCAuthConfigSchema),
    oidcFromIdentityProvider: Type.Optional(OIDCFromIdentityProviderSchema),
    webhookAuthentication: Type.Optional(WebhookAuthenticationSchema),
    qps: Type.Optional(int32({ minimum: 1, description: 'client queries per second against the spoke.' })),
    burst: Type.Optional(int32({ minimum: 1, description: 'client burst against the spoke.' })),
    identityProviderRefs: Type.Optional(stringList(20, { description: 'IdentityProviders allowed for this cluster.' })),
    blockSelfApproval: Type.Optional(
      Type.Boolean({ description: 'default for escalations without blockSelfApproval; unset: blocked (false allows self-approval).' }),
    ),
    allowedApproverDomains: Type.Optional(stringList(20, { description: 'default approver e-mail domains.' })),
    mailProvider: Type.Optional(Type.String({ maxLength: 63, description: 'MailProvider name.' })),
    userIdentifierClaim: Type.Optional(
      stringEnum(USER_IDENTIFIER_CLAIMS, { description: 'token claim that becomes session.spec.user.' }),
    ),
    constrainedImpersonation: Type.Optional(
      Type.Object(
        {
          support: Type.Optional(stringEnum(['Auto', 'Enabled', 'Disabled'] as const, { default: 'Auto' })),
          legacyFallback: Type.Optional(stringEnum(['Allow', 'Warn', 'Forbidden'] as const, { default: 'Allow' })),
          denyUnrecognisedVerbs: Type.Optional(Type.Boolean({ default: true })),
          probeMode: Type.Optional(Type.String({ maxLength: 63, default: 'user-info' })),
        },
        { description: 'constrained impersonation (KEP-5284) settings.' },
      ),
    ),
  },
  { description: 'ClusterConfigSpec', 'x-kubernetes-validations': CLUSTER_CONFIG_SPEC_RULES },
);
export type ClusterConfigSpec = Static<typeof ClusterConfigSpecSchema>;

export const ClusterConfigStatusSchema = conditionsStatus('ClusterConfigStatus');
export type ClusterConfigStatus = Static<typeof ClusterConfigStatusSchema>;

export const ClusterConfigSchema = rootSchema(
  'ClusterConfig registers a target cluster and how the hub authenticates to it.',
  ClusterConfigSpecSchema,
  ClusterConfigStatusSchema,
);
export type ClusterConfig = Static<typeof ClusterConfigSchema>;

export const clusterConfigCrd: CrdSource = {
  kind: 'ClusterConfig',
  plural: 'clusterconfigs',
  singular: 'clusterconfig',
  shortNames: ['ccfg'],
  scope: 'Namespaced',
  schema: ClusterConfigSchema,
  printerColumns: [
    { name: 'Tenant', type: 'string', jsonPath: '.spec.tenant' },
    { name: 'ClusterID', type: 'string', jsonPath: '.spec.clusterID' },
    READY_COLUMN,
    AGE_COLUMN,
  ],
  selectableFields: ['.spec.clusterID', '.spec.tenant'],
  statusSubresource: true,
};
