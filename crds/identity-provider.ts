/**
 * IdentityProvider (cluster-scoped): an OIDC issuer users log in with, optionally with Keycloak
 * group sync. Fields per reference §2.4.
 */
import { Type, type Static } from '@sinclair/typebox';
import {
  AGE_COLUMN,
  READY_COLUMN,
  SecretKeyReferenceSchema,
  boundedString,
  conditionsStatus,
  goDurationField,
  httpsUrl,
  int32,
  rootSchema,
  stringEnum,
  type CelRule,
  type CrdSource,
} from './common.ts';

/** '' (or unset) means no group sync. */
export const GROUP_SYNC_PROVIDERS = ['Keycloak', ''] as const;
export const KEYCLOAK_DEFAULT_CACHE_TTL = '10m';
export const KEYCLOAK_DEFAULT_REQUEST_TIMEOUT = '10s';

export const IDENTITY_PROVIDER_CONDITION_TYPES = ['Ready', 'GroupSyncHealthy', 'ConversionFailed', 'ValidationFailed', 'CacheUpdated'] as const;

const insecureForbidden: CelRule = {
  rule: '!has(self.insecureSkipVerify) || !self.insecureSkipVerify',
  message: 'insecureSkipVerify is not supported; configure certificateAuthority instead',
  fieldPath: '.insecureSkipVerify',
  reason: 'FieldValueForbidden',
};

export const IdentityProviderSpecSchema = Type.Object(
  {
    oidc: Type.Object(
      {
        authority: Type.String({
          minLength: 1,
          maxLength: 253,
          pattern: '^https://',
          description: 'OIDC authority (https), base of discovery and the UI login.',
        }),
        jwksEndpoint: Type.Optional(httpsUrl('JWKS URL (informational; discovery is used).')),
        clientID: Type.String({ minLength: 1, maxLength: 253, pattern: '^\\S+$', description: 'browser (UI) client.' }),
        expectedAudience: Type.String({ minLength: 1, maxLength: 253, description: 'JWT audience the API demands.' }),
        insecureSkipVerify: Type.Optional(Type.Boolean({ description: 'forbidden; use certificateAuthority.' })),
        certificateAuthority: Type.Optional(Type.String({ maxLength: 65536, description: 'PEM CA for the issuer.' })),
      },
      { description: 'OIDC settings.', 'x-kubernetes-validations': [insecureForbidden] },
    ),
    groupSyncProvider: Type.Optional(
      stringEnum(GROUP_SYNC_PROVIDERS, { description: 'group sync backend; unset means no group sync.' }),
    ),
    keycloak: Type.Optional(
      Type.Object(
        {
          baseURL: httpsUrl('Keycloak base URL (https).'),
          realm: boundedString({ minLength: 1 }),
          clientID: boundedString({ minLength: 1, description: 'service account client with view-users/view-groups.' }),
          clientSecretRef: SecretKeyReferenceSchema,
          cacheTTL: Type.Optional(goDurationField('group cache lifetime.', KEYCLOAK_DEFAULT_CACHE_TTL)),
          requestTimeout: Type.Optional(goDurationField('timeout of one Keycloak request.', KEYCLOAK_DEFAULT_REQUEST_TIMEOUT)),
          insecureSkipVerify: Type.Optional(Type.Boolean({ description: 'forbidden; use certificateAuthority.' })),
          certificateAuthority: Type.Optional(Type.String({ maxLength: 65536 })),
        },
        { description: 'Keycloak group sync settings.', 'x-kubernetes-validations': [insecureForbidden] },
      ),
    ),
    sessionLimits: Type.Optional(
      Type.Object(
        {
          maxActiveSessionsPerUser: Type.Optional(int32({ minimum: 1 })),
          groupOverrides: Type.Optional(
            Type.Array(
              Type.Object({
                group: boundedString({ minLength: 1, description: 'group glob (case-sensitive).' }),
                unlimited: Type.Optional(Type.Boolean()),
                maxActiveSessionsPerUser: Type.Optional(int32({ minimum: 1 })),
              }),
              { maxItems: 50, description: 'the first matching override wins.' },
            ),
          ),
        },
        { description: 'limits on active sessions of users of this provider.' },
      ),
    ),
    issuer: Type.Optional(httpsUrl('JWT iss of tokens of this provider; unique across IdentityProviders.')),
    primary: Type.Optional(Type.Boolean({ description: 'deprecated: the provider shown first.' })),
    displayName: Type.Optional(Type.String({ maxLength: 100, description: 'label in the UI.' })),
    disabled: Type.Optional(Type.Boolean({ description: 'excludes the provider everywhere.' })),
  },
  {
    description: 'IdentityProviderSpec',
    'x-kubernetes-validations': [
      {
        rule: "(has(self.groupSyncProvider) && self.groupSyncProvider == 'Keycloak') == has(self.keycloak)",
        message: 'keycloak is required when groupSyncProvider is Keycloak and forbidden otherwise',
        fieldPath: '.keycloak',
      },
    ] satisfies CelRule[],
  },
);
export type IdentityProviderSpec = Static<typeof IdentityProviderSpecSchema>;

export const IdentityProviderStatusSchema = conditionsStatus('IdentityProviderStatus');
export type IdentityProviderStatus = Static<typeof IdentityProviderStatusSchema>;

export const IdentityProviderSchema = rootSchema(
  'IdentityProvider is an OIDC issuer users authenticate with.',
  IdentityProviderSpecSchema,
  IdentityProviderStatusSchema,
);
export type IdentityProvider = Static<typeof IdentityProviderSchema>;

export const identityProviderCrd: CrdSource = {
  kind: 'IdentityProvider',
  plural: 'identityproviders',
  singular: 'identityprovider',
  shortNames: [],
  scope: 'Cluster',
  schema: IdentityProviderSchema,
  printerColumns: [
    { name: 'Issuer', type: 'string', jsonPath: '.spec.issuer' },
    { name: 'GroupSync', type: 'string', jsonPath: '.spec.groupSyncProvider' },
    READY_COLUMN,
    AGE_COLUMN,
  ],
  selectableFields: ['.spec.issuer'],
  statusSubresource: true,
};
