/**
 * JSON schemas of the API's request and response bodies: the single source for request
 * validation (strict: unknown fields are refused) and for the OpenAPI document. Session and
 * escalation objects are described by the CRD schemas themselves.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { breakglassEscalationCrd } from '../../crds/breakglass-escalation.ts';
import { breakglassSessionCrd } from '../../crds/breakglass-session.ts';
import { openApiSchema, type JsonObject } from '../../crds/index.ts';
import { MAX_IDENTIFIER_LENGTH } from '../../crds/validation/checks.ts';
import { ERROR_CODES } from './api-error.ts';

const ref = (name: string) => Type.Unsafe<unknown>({ $ref: `#/components/schemas/${name}` });

export const SessionRequestSchema = Type.Object(
  {
    // Bounded like the identifiers they must equal (§1.5), so that no request makes matching work on megabytes.
    cluster: Type.String({ maxLength: MAX_IDENTIFIER_LENGTH, description: 'ClusterConfig name of the target cluster.' }),
    user: Type.Optional(Type.String({ maxLength: MAX_IDENTIFIER_LENGTH, description: "the caller's identifier; defaults to it, must equal it when given." })),
    group: Type.String({ maxLength: MAX_IDENTIFIER_LENGTH, description: 'the escalated group requested.' }),
    reason: Type.Optional(Type.String({ description: 'why; at most 500 characters, reduced to letters, digits and .,;!?\'-' })),
    duration: Type.Optional(Type.Integer({ description: 'validity in seconds, 60 .. the escalation maxValidFor.' })),
    scheduledStartTime: Type.Optional(Type.String({ maxLength: 64, description: 'RFC 3339 start time in the future.' })),
  },
  { additionalProperties: false },
);
export type SessionRequestBody = Static<typeof SessionRequestSchema>;

export const DecisionRequestSchema = Type.Object(
  { reason: Type.Optional(Type.String({ description: "the approver's note, stripped like request reasons." })) },
  { additionalProperties: false },
);
export type DecisionRequestBody = Static<typeof DecisionRequestSchema>;

/** withdraw, drop and cancel take no fields. */
export const EmptyRequestSchema = Type.Object({}, { additionalProperties: false });

export const ErrorSchema = Type.Object(
  {
    error: Type.String(),
    code: Type.Union(Object.values(ERROR_CODES).map((c) => Type.Literal(c))),
    details: Type.Optional(Type.String()),
    session: Type.Optional(ref('BreakglassSession')),
  },
  { additionalProperties: false },
);

export const ApprovalMetaSchema = Type.Object(
  {
    canApprove: Type.Boolean(),
    canReject: Type.Boolean(),
    isRequester: Type.Boolean(),
    isApprover: Type.Boolean(),
    denialReason: Type.Optional(Type.String()),
    sessionState: Type.String(),
    stateMessage: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

export const SessionListSchema = Type.Object(
  { items: Type.Array(ref('BreakglassSession')), total: Type.Integer({ minimum: 0 }) },
  { additionalProperties: false },
);

export const SessionWithMetaSchema = Type.Object(
  { session: ref('BreakglassSession'), approvalMeta: ref('ApprovalMeta') },
  { additionalProperties: false },
);

export const EscalationListSchema = Type.Object(
  { items: Type.Array(ref('BreakglassEscalation')), total: Type.Integer({ minimum: 0 }) },
  { additionalProperties: false },
);

export const FrontendConfigSchema = Type.Object(
  {
    frontend: Type.Object(
      {
        oidcAuthority: Type.String(),
        oidcClientID: Type.String(),
        brandingName: Type.Optional(Type.String()),
        uiFlavour: Type.Optional(Type.String()),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);

export const IdentityProviderInfoSchema = Type.Object(
  {
    type: Type.Literal('OIDC'),
    authority: Type.String(),
    directAuthority: Type.String(),
    clientId: Type.String(),
    keycloakMetadata: Type.Optional(
      Type.Object({ baseUrl: Type.String(), realm: Type.String() }, { additionalProperties: false }),
    ),
  },
  { additionalProperties: false },
);

export const IdpConfigSchema = Type.Object(
  {
    identityProviders: Type.Array(
      Type.Object(
        {
          name: Type.String(),
          displayName: Type.String(),
          issuer: Type.String(),
          enabled: Type.Literal(true),
          oidcAuthority: Type.String(),
          oidcClientID: Type.String(),
        },
        { additionalProperties: false },
      ),
    ),
    escalationIDPMapping: Type.Record(Type.String(), Type.Array(Type.String())),
  },
  { additionalProperties: false },
);

function plain(schema: TSchema): JsonObject {
  return JSON.parse(JSON.stringify(schema)) as JsonObject;
}

/** components.schemas of the OpenAPI document. */
export function componentSchemas(): Record<string, JsonObject> {
  return {
    Error: plain(ErrorSchema),
    BreakglassSession: openApiSchema(breakglassSessionCrd),
    BreakglassEscalation: openApiSchema(breakglassEscalationCrd),
    ApprovalMeta: plain(ApprovalMetaSchema),
    SessionList: plain(SessionListSchema),
    SessionWithMeta: plain(SessionWithMetaSchema),
    EscalationList: plain(EscalationListSchema),
    SessionRequest: plain(SessionRequestSchema),
    DecisionRequest: plain(DecisionRequestSchema),
    EmptyRequest: plain(EmptyRequestSchema),
    FrontendConfig: plain(FrontendConfigSchema),
    IdentityProviderInfo: plain(IdentityProviderInfoSchema),
    IdpConfig: plain(IdpConfigSchema),
  };
}
