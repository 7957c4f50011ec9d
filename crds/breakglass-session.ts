/**
 * BreakglassSession (`bgs`, namespaced): one request/grant for (cluster, user, grantedGroup).
 * Fields per reference §2.1; states per §3.1.
 */
import { Type, type Static } from '@sinclair/typebox';
import {
  AGE_COLUMN,
  ReasonConfigSchema,
  boundedString,
  conditionsField,
  durationField,
  int64,
  rootSchema,
  stringEnum,
  stringList,
  timestamp,
  type CelRule,
  type CrdSource,
} from './common.ts';

/** Every value `status.state` can hold; an absent state means "created, status not yet written". */
export const SESSION_STATES = [
  'Pending',
  'WaitingForScheduledTime',
  'Approved',
  'Rejected',
  'Withdrawn',
  'Expired',
  'IdleExpired',
  'ApprovalTimeout',
] as const;
export type SessionState = (typeof SESSION_STATES)[number];

export const TERMINAL_SESSION_STATES: readonly SessionState[] = [
  'Rejected',
  'Withdrawn',
  'Expired',
  'IdleExpired',
  'ApprovalTimeout',
];

/** Values of `status.reasonEnded` (§2.1). */
export const SESSION_END_REASONS = [
  'timeExpired',
  'approvalTimeout',
  'canceled',
  'dropped',
  'withdrawn',
  'rejected',
  'duplicateCleanup',
  'idleTimeout',
  'missingScheduledStartTime',
  'scheduledSessionExpiredBeforeActivation',
  'clusterDeleted',
] as const;
export type SessionEndReason = (typeof SESSION_END_REASONS)[number];

/** Condition types written on sessions (§2.1). */
export const SESSION_CONDITION_TYPES = [
  'Idle',
  'Approved',
  'Rejected',
  'Expired',
  'Canceled',
  'Active',
  'SessionExpired',
  'ScheduledStartTimeReached',
] as const;
export type SessionConditionType = (typeof SESSION_CONDITION_TYPES)[number];

export const SESSION_DEFAULT_MAX_VALID_FOR = '1h';
export const SESSION_DEFAULT_RETAIN_FOR = '720h';

const specImmutable: CelRule = { rule: 'self == oldSelf', message: 'spec is immutable' };

export const BreakglassSessionSpecSchema = Type.Object(
  {
    cluster: boundedString({ minLength: 1, description: 'target cluster: the metadata.name of a ClusterConfig.' }),
    user: boundedString({ minLength: 1, description: 'user identifier as the target cluster sees it.' }),
    grantedGroup: boundedString({ minLength: 1, description: 'the escalated group this session grants.' }),
    maxValidFor: Type.Optional(
      durationField('how long the session is valid after (scheduled) activation.', SESSION_DEFAULT_MAX_VALID_FOR),
    ),
    idleTimeout: Type.Optional(durationField('ends the session after this much inactivity (activity reaches it within 65 s, so it ends up to that much later); at least 1m.')),
    retainFor: Type.Optional(
      durationField('how long the object is kept after the session ended.', SESSION_DEFAULT_RETAIN_FOR),
    ),
    clusterConfigRef: Type.Optional(boundedString({ description: 'explicit ClusterConfig name.' })),
    denyPolicyRefs: Type.Optional(stringList(20, { description: 'DenyPolicies copied from the escalation.' })),
    requestReason: Type.Optional(Type.String({ maxLength: 2048, description: 'reason given by the requester.' })),
    scheduledStartTime: Type.Optional(timestamp('the session starts at this time instead of at approval.')),
    identityProviderName: Type.Optional(
      boundedString({ description: 'IdentityProvider that authenticated the requester.' }),
    ),
    identityProviderIssuer: Type.Optional(
      Type.String({ maxLength: 2048, description: 'JWT issuer (iss) of the requester.' }),
    ),
    allowIDPMismatch: Type.Optional(
      Type.Boolean({ description: 'true when neither escalation nor cluster restricts identity providers.' }),
    ),
    requestReasonConfig: Type.Optional(ReasonConfigSchema),
    approvalReasonConfig: Type.Optional(ReasonConfigSchema),
  },
  {
    description: 'BreakglassSessionSpec; immutable after creation.',
    'x-kubernetes-validations': [specImmutable],
  },
);
export type BreakglassSessionSpec = Static<typeof BreakglassSessionSpecSchema>;

export const BreakglassSessionStatusSchema = Type.Object(
  {
    observedGeneration: Type.Optional(int64({ minimum: 0 })),
    conditions: Type.Optional(conditionsField()),
    approvedAt: Type.Optional(timestamp('set on approval.')),
    actualStartTime: Type.Optional(timestamp('when access started.')),
    rejectedAt: Type.Optional(timestamp('set on rejection.')),
    withdrawnAt: Type.Optional(timestamp('set on withdrawal.')),
    expiresAt: Type.Optional(timestamp('access ends at this time.')),
    timeoutAt: Type.Optional(timestamp('approval deadline.')),
    retainedUntil: Type.Optional(timestamp('the object is deleted after this time.')),
    state: Type.Optional(stringEnum(SESSION_STATES, { description: 'lifecycle state of the session.' })),
    approver: Type.Optional(boundedString({ description: 'last actor who approved, rejected or canceled.' })),
    approvers: Type.Optional(stringList(100, { description: 'everyone who approved, deduplicated.' })),
    approvalReason: Type.Optional(Type.String({ maxLength: 2048, description: 'reason given by the approver.' })),
    reasonEnded: Type.Optional(boundedString({ description: 'why the session ended, e.g. timeExpired.' })),
    lastActivity: Type.Optional(timestamp('last request allowed through this session.')),
    activityCount: Type.Optional(int64({ minimum: 0, description: 'number of requests allowed through this session.' })),
  },
  { description: 'BreakglassSessionStatus' },
);
export type BreakglassSessionStatus = Omit<Static<typeof BreakglassSessionStatusSchema>, 'reasonEnded'> & {
  reasonEnded?: SessionEndReason | string;
};

export const BreakglassSessionSchema = rootSchema(
  'BreakglassSession is a request for, and grant of, a temporary group on a cluster.',
  BreakglassSessionSpecSchema,
  BreakglassSessionStatusSchema,
);
export type BreakglassSession = Omit<Static<typeof BreakglassSessionSchema>, 'status'> & {
  status?: BreakglassSessionStatus;
};

export const breakglassSessionCrd: CrdSource = {
  kind: 'BreakglassSession',
  plural: 'breakglasssessions',
  singular: 'breakglasssession',
  shortNames: ['bgs'],
  scope: 'Namespaced',
  schema: BreakglassSessionSchema,
  printerColumns: [
    { name: 'State', type: 'string', jsonPath: '.status.state' },
    { name: 'User', type: 'string', jsonPath: '.spec.user' },
    { name: 'Cluster', type: 'string', jsonPath: '.spec.cluster' },
    { name: 'Granted Group', type: 'string', jsonPath: '.spec.grantedGroup' },
    { name: 'Expires At', type: 'date', jsonPath: '.status.expiresAt' },
    { name: 'Scheduled Start', type: 'date', jsonPath: '.spec.scheduledStartTime' },
    { name: 'Retained Until', type: 'date', jsonPath: '.status.retainedUntil' },
    AGE_COLUMN,
  ],
  selectableFields: ['.spec.cluster', '.spec.user', '.spec.grantedGroup', '.status.state'],
  statusSubresource: true,
};
