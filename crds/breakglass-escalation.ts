/**
 * BreakglassEscalation (`bge`, namespaced): members of `allowed.groups` may request
 * `escalatedGroup` on `allowed.clusters`, approved by `approvers`. Fields per reference §2.2.
 */
import { Type, type Static } from '@sinclair/typebox';
import {
  AGE_COLUMN,
  NamespaceFilterSchema,
  READY_COLUMN,
  ReasonConfigSchema,
  conditionsField,
  durationField,
  int32,
  int64,
  mapOf,
  rootSchema,
  stringList,
  type CelRule,
  type CrdSource,
} from './common.ts';

export const ESCALATION_DEFAULT_MAX_VALID_FOR = '1h';
export const ESCALATION_DEFAULT_APPROVAL_TIMEOUT = '1h';

/** Condition types written on escalations (§2.2). */
export const ESCALATION_CONDITION_TYPES = [
  'Ready',
  'ConfigValidated',
  'ClusterRefsValid',
  'IDPRefsValid',
  'DenyPolicyRefsValid',
  'MailProviderValid',
  'ApprovalGroupMembersResolved',
] as const;

const nonEmpty = (path: string) => `(has(self.${path}) && size(self.${path}) > 0)`;
const selfApprovalBlocked = 'has(self.blockSelfApproval) && self.blockSelfApproval';

/** The CEL rules of §2.2; the admission validators implement the same rules with the same words. */
export const ESCALATION_SPEC_RULES: CelRule[] = [
  {
    rule: `has(self.approvers) && (${nonEmpty('approvers.users')} || ${nonEmpty('approvers.groups')})`,
    message: 'at least one approver user or group must be specified',
    fieldPath: '.approvers',
    reason: 'FieldValueRequired',
  },
  {
    rule: `!(${selfApprovalBlocked}) || (has(self.approvers) && ${nonEmpty('approvers.groups')})`,
    message: 'blockSelfApproval requires at least one approver group',
    fieldPath: '.blockSelfApproval',
  },
  {
    rule: `!(${selfApprovalBlocked}) || !has(self.approvers) || !has(self.approvers.groups) || !(self.escalatedGroup in self.approvers.groups)`,
    message: 'escalatedGroup must not be an approver group when blockSelfApproval is true',
    fieldPath: '.escalatedGroup',
  },
  {
    rule: `!(${selfApprovalBlocked}) || !has(self.approvers) || !has(self.approvers.hiddenFromUI) || !(self.escalatedGroup in self.approvers.hiddenFromUI)`,
    message: 'escalatedGroup must not be in approvers.hiddenFromUI when blockSelfApproval is true',
    fieldPath: '.escalatedGroup',
  },
  {
    rule: `!${nonEmpty('allowedIdentityProviders')} || (!${nonEmpty('allowedIdentityProvidersForRequests')} && !${nonEmpty('allowedIdentityProvidersForApprovers')})`,
    message:
      'allowedIdentityProviders is mutually exclusive with allowedIdentityProvidersForRequests and allowedIdentityProvidersForApprovers',
    fieldPath: '.allowedIdentityProviders',
  },
  {
    rule: `${nonEmpty('allowedIdentityProvidersForRequests')} == ${nonEmpty('allowedIdentityProvidersForApprovers')}`,
    message: 'allowedIdentityProvidersForRequests and allowedIdentityProvidersForApprovers must both be set or both be empty',
    fieldPath: '.allowedIdentityProvidersForRequests',
  },
];

export const SESSION_LIMITS_OVERRIDE_RULE: CelRule = {
  rule: '!has(self.unlimited) || !self.unlimited || (!has(self.maxActiveSessionsPerUser) && !has(self.maxActiveSessionsTotal))',
  message: 'unlimited is mutually exclusive with maxActiveSessionsPerUser and maxActiveSessionsTotal',
};

export const ESCALATED_GROUP_PATTERN = '^[a-zA-Z0-9._:-]+$';

export const BreakglassEscalationSpecSchema = Type.Object(
  {
    allowed: Type.Object(
      {
        clusters: Type.Optional(stringList(50, { description: 'cluster names or globs ("prod-*").' })),
        groups: Type.Optional(stringList(50, { description: 'groups that may request this escalation.' })),
      },
      { description: 'who may request, and for which clusters.' },
    ),
    approvers: Type.Optional(
      Type.Object(
        {
          users: Type.Optional(stringList(100, { description: 'users who may approve.' })),
          groups: Type.Optional(stringList(30, { description: 'groups whose members may approve.' })),
          hiddenFromUI: Type.Optional(
            stringList(30, { description: 'approvers (users or groups) not shown in the UI and not e-mailed.' }),
          ),
        },
        { description: 'who may approve sessions of this escalation.' },
      ),
    ),
    escalatedGroup: Type.String({
      minLength: 1,
      maxLength: 253,
      pattern: ESCALATED_GROUP_PATTERN,
      description: 'the group a session of this escalation grants.',
    }),
    maxValidFor: Type.Optional(durationField('how long an approved session is valid.', ESCALATION_DEFAULT_MAX_VALID_FOR)),
    idleTimeout: Type.Optional(durationField('ends sessions after this much inactivity (activity reaches a session within 65 s, so they end up to that much later); at least 1m.')),
    retainFor: Type.Optional(durationField('how long ended sessions are kept.')),
    approvalTimeout: Type.Optional(
      durationField('how long a request waits for approval; at most maxValidFor.', ESCALATION_DEFAULT_APPROVAL_TIMEOUT),
    ),
    clusterConfigRefs: Type.Optional(stringList(50, { description: 'ClusterConfig names or globs this escalation applies to.' })),
    denyPolicyRefs: Type.Optional(stringList(20, { description: 'DenyPolicies copied into sessions.' })),
    requestReason: Type.Optional(ReasonConfigSchema),
    approvalReason: Type.Optional(ReasonConfigSchema),
    allowedApproverDomains: Type.Optional(stringList(20, { description: 'approver e-mail domains; overrides the cluster list.' })),
    allowedIdentityProviders: Type.Optional(stringList(20, { description: 'identity providers allowed to request and approve.' })),
    allowedIdentityProvidersForRequests: Type.Optional(stringList(20, { description: 'identity providers allowed to request.' })),
    allowedIdentityProvidersForApprovers: Type.Optional(stringList(20, { description: 'identity providers allowed to approve.' })),
    blockSelfApproval: Type.Optional(
      Type.Boolean({
        description:
          'forbid requesters to approve their own sessions; unset inherits the ClusterConfig; unset on both: blocked (false allows self-approval).',
      }),
    ),
    disableNotifications: Type.Optional(Type.Boolean({ description: 'send no request e-mails to approvers.' })),
    notificationExclusions: Type.Optional(
      Type.Object(
        {
          users: Type.Optional(stringList(100)),
          groups: Type.Optional(stringList(30)),
        },
        { description: 'approvers who get no request e-mails.' },
      ),
    ),
    mailProvider: Type.Optional(
      Type.String({ maxLength: 63, pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', description: 'MailProvider name.' }),
    ),
    podSecurityOverrides: Type.Optional(
      Type.Object(
        {
          enabled: Type.Optional(Type.Boolean({ default: false })),
          maxAllowedScore: Type.Optional(int32({ minimum: 0, maximum: 1000 })),
          exemptFactors: Type.Optional(stringList(10, { description: 'blockFactors entries (same names) that do not deny for this escalation.' })),
          namespaceScope: Type.Optional(NamespaceFilterSchema),
          requireApproval: Type.Optional(Type.Boolean()),
          approvers: Type.Optional(
            Type.Object({
              groups: Type.Optional(stringList(30)),
              users: Type.Optional(stringList(100)),
            }),
          ),
        },
        { description: 'relaxes DenyPolicy podSecurityRules for sessions of this escalation.' },
      ),
    ),
    sessionLimitsOverride: Type.Optional(
      Type.Object(
        {
          unlimited: Type.Optional(Type.Boolean({ default: false })),
          maxActiveSessionsPerUser: Type.Optional(int32({ minimum: 1 })),
          maxActiveSessionsTotal: Type.Optional(int32({ minimum: 1 })),
        },
        {
          description: 'overrides the session limits of the identity provider.',
          'x-kubernetes-validations': [SESSION_LIMITS_OVERRIDE_RULE],
        },
      ),
    ),
  },
  {
    description: 'BreakglassEscalationSpec',
    'x-kubernetes-validations': ESCALATION_SPEC_RULES,
  },
);
export type BreakglassEscalationSpec = Static<typeof BreakglassEscalationSpecSchema>;

export const BreakglassEscalationStatusSchema = Type.Object(
  {
    observedGeneration: Type.Optional(int64({ minimum: 0 })),
    conditions: Type.Optional(conditionsField()),
    approverGroupMembers: Type.Optional(
      mapOf(Type.Array(Type.String()), { description: 'approver group -> resolved members (all identity providers).' }),
    ),
    idpGroupMemberships: Type.Optional(
      mapOf(mapOf(Type.Array(Type.String())), { description: 'identity provider -> group -> members.' }),
    ),
  },
  { description: 'BreakglassEscalationStatus' },
);
export type BreakglassEscalationStatus = Static<typeof BreakglassEscalationStatusSchema>;

export const BreakglassEscalationSchema = rootSchema(
  'BreakglassEscalation declares who may request which group on which clusters, approved by whom.',
  BreakglassEscalationSpecSchema,
  BreakglassEscalationStatusSchema,
);
export type BreakglassEscalation = Static<typeof BreakglassEscalationSchema>;

export const breakglassEscalationCrd: CrdSource = {
  kind: 'BreakglassEscalation',
  plural: 'breakglassescalations',
  singular: 'breakglassescalation',
  shortNames: ['bge'],
  scope: 'Namespaced',
  schema: BreakglassEscalationSchema,
  printerColumns: [
    { name: 'Clusters', type: 'string', jsonPath: '.spec.allowed.clusters' },
    { name: 'Groups', type: 'string', jsonPath: '.spec.allowed.groups' },
    { name: 'Escalated Group', type: 'string', jsonPath: '.spec.escalatedGroup' },
    READY_COLUMN,
    AGE_COLUMN,
  ],
  selectableFields: ['.spec.escalatedGroup'],
  statusSubresource: true,
};
