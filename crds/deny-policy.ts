/**
 * DenyPolicy (`dpolicy`, cluster-scoped): requests that no session may perform, evaluated before
 * a session grant is honoured. Fields per reference §2.5.
 */
import { Type, type Static } from '@sinclair/typebox';
import {
  AGE_COLUMN,
  NamespaceFilterSchema,
  READY_COLUMN,
  conditionsStatus,
  int32,
  mapOf,
  rootSchema,
  stringEnum,
  stringList,
  type CelRule,
  type CrdSource,
} from './common.ts';

export const IMPERSONATION_MODES = ['user-info', 'serviceaccount', 'arbitrary-node', 'associated-node', 'legacy'] as const;
export const IDENTITY_RESOURCES = ['users', 'groups', 'uids', 'userextras', 'serviceaccounts', 'nodes'] as const;
export const THRESHOLD_ACTIONS = ['allow', 'warn', 'deny'] as const;
export const FAIL_MODES = ['open', 'closed'] as const;
export const DEFAULT_POD_SECURITY_SUBRESOURCES = ['exec', 'attach', 'portforward'];
export const DENY_POLICY_DEFAULT_PRECEDENCE = 100;

export const DenyRuleSchema = Type.Object(
  {
    verbs: stringList(20, { description: 'verbs denied ("*" for all).' }),
    apiGroups: stringList(50, { description: 'API groups ("" is the core group, "*" all).' }),
    resources: stringList(100, { description: 'resources ("*" for all).' }),
    namespaces: Type.Optional(NamespaceFilterSchema),
    resourceNames: Type.Optional(stringList(100, { description: 'resource name globs; empty matches any.' })),
    subresources: Type.Optional(stringList(20, { description: 'subresources; empty matches any.' })),
  },
  { description: 'denies matching resource requests.' },
);
export type DenyRule = Static<typeof DenyRuleSchema>;

export const ImpersonationRuleSchema = Type.Object(
  {
    modes: Type.Optional(Type.Array(stringEnum(IMPERSONATION_MODES), { maxItems: 5 })),
    identityResources: Type.Optional(Type.Array(stringEnum(IDENTITY_RESOURCES), { maxItems: 6 })),
    identities: Type.Optional(stringList(100, { description: 'identity globs.' })),
    namespaces: Type.Optional(NamespaceFilterSchema),
    extraKeys: Type.Optional(stringList(50)),
    actionVerbs: Type.Optional(stringList(20)),
    targetResources: Type.Optional(stringList(100)),
    targetAPIGroups: Type.Optional(stringList(50)),
    reason: Type.Optional(Type.String({ maxLength: 512 })),
  },
  {
    description: 'denies matching impersonation; an empty rule denies all impersonation.',
    'x-kubernetes-validations': [
      {
        rule: '!(has(self.identities) && size(self.identities) > 0 && has(self.actionVerbs) && size(self.actionVerbs) > 0)',
        message: 'identities and actionVerbs cannot be combined in one impersonation rule',
      },
    ] satisfies CelRule[],
  },
);
export type ImpersonationRule = Static<typeof ImpersonationRuleSchema>;

const riskScore = () => Type.Optional(int32({ minimum: 0 }));

export const PodSecurityRulesSchema = Type.Object(
  {
    appliesTo: Type.Optional(
      Type.Object({
        subresources: Type.Optional(
          Type.Array(Type.String({ maxLength: 63 }), { maxItems: 10, default: DEFAULT_POD_SECURITY_SUBRESOURCES }),
        ),
      }),
    ),
    riskFactors: Type.Optional(
      Type.Object(
        {
          hostNetwork: riskScore(),
          hostPID: riskScore(),
          hostIPC: riskScore(),
          privilegedContainer: riskScore(),
          hostPathWritable: riskScore(),
          hostPathReadOnly: riskScore(),
          runAsRoot: riskScore(),
          capabilities: Type.Optional(mapOf(int32({ minimum: 0 }), { description: 'capability -> score.' })),
        },
        { description: 'score added per risky pod property.' },
      ),
    ),
    thresholds: Type.Optional(
      Type.Array(
        Type.Object({
          maxScore: int32({ minimum: 0 }),
          action: stringEnum(THRESHOLD_ACTIONS),
          reason: Type.Optional(Type.String({ maxLength: 1024, description: 'Go template: {{.Score}} {{.Factors}} {{.Pod}} {{.Namespace}}.' })),
        }),
        { maxItems: 20 },
      ),
    ),
    blockFactors: Type.Optional(
      stringList(10, {
        description:
          'factors that deny regardless of score: hostNetwork, hostPID, hostIPC, privilegedContainer, runAsRoot, capability, hostPathWritable, hostPathReadOnly; the last five optionally narrowed, e.g. privilegedContainer:app, capability:SYS_ADMIN.',
      }),
    ),
    exemptions: Type.Optional(
      Type.Object({
        namespaces: Type.Optional(NamespaceFilterSchema),
        podLabels: Type.Optional(mapOf(Type.String({ maxLength: 63 }), { description: 'all labels must match.' })),
      }),
    ),
    failMode: Type.Optional(stringEnum(FAIL_MODES, { default: 'closed' })),
  },
  { description: 'risk-scores pods targeted by exec, attach and port-forward.' },
);
export type PodSecurityRules = Static<typeof PodSecurityRulesSchema>;

export const DenyPolicySpecSchema = Type.Object(
  {
    appliesTo: Type.Optional(
      Type.Object(
        {
          clusters: Type.Optional(stringList(50)),
          tenants: Type.Optional(stringList(50)),
          sessions: Type.Optional(stringList(50, { description: 'BreakglassSession names.' })),
        },
        { description: 'scope; unset applies everywhere; non-empty lists are ANDed.' },
      ),
    ),
    rules: Type.Optional(Type.Array(DenyRuleSchema, { maxItems: 200 })),
    impersonationRules: Type.Optional(Type.Array(ImpersonationRuleSchema, { maxItems: 100 })),
    podSecurityRules: Type.Optional(PodSecurityRulesSchema),
    precedence: Type.Optional(
      int32({ minimum: 0, default: DENY_POLICY_DEFAULT_PRECEDENCE, description: 'lower is evaluated first.' }),
    ),
  },
  {
    description: 'DenyPolicySpec',
    'x-kubernetes-validations': [
      {
        rule: '(has(self.rules) && size(self.rules) > 0) || has(self.podSecurityRules) || (has(self.impersonationRules) && size(self.impersonationRules) > 0)',
        message: 'at least one of rules, podSecurityRules or impersonationRules must be specified',
      },
    ] satisfies CelRule[],
  },
);
export type DenyPolicySpec = Static<typeof DenyPolicySpecSchema>;

export const DenyPolicyStatusSchema = conditionsStatus('DenyPolicyStatus');
export type DenyPolicyStatus = Static<typeof DenyPolicyStatusSchema>;

export const DenyPolicySchema = rootSchema(
  'DenyPolicy lists requests that sessions may not perform.',
  DenyPolicySpecSchema,
  DenyPolicyStatusSchema,
);
export type DenyPolicy = Static<typeof DenyPolicySchema>;

export const denyPolicyCrd: CrdSource = {
  kind: 'DenyPolicy',
  plural: 'denypolicies',
  singular: 'denypolicy',
  shortNames: ['dpolicy'],
  scope: 'Cluster',
  schema: DenyPolicySchema,
  printerColumns: [
    { name: 'Precedence', type: 'integer', jsonPath: '.spec.precedence' },
    READY_COLUMN,
    AGE_COLUMN,
  ],
  selectableFields: [],
  statusSubresource: true,
};
