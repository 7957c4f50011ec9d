import { expect } from 'chai';
import type { DenyPolicy, DenyPolicySpec } from '../../crds/index.ts';
import { DenyPolicyIndex, once, type DenyAction, type DenyEvaluationInput, type DenyOutcome } from './deny-policy.ts';
import type { Labels } from './namespace-filter.ts';
import type { PodLike } from './pod-security.ts';

function policy(name: string, spec: DenyPolicySpec): DenyPolicy {
  return { metadata: { name }, spec };
}

const secretsRule = { verbs: ['get', 'list'], apiGroups: [''], resources: ['secrets'] };

function action(overrides: Partial<DenyAction> = {}): DenyAction {
  return {
    verb: 'get',
    apiGroup: '',
    resource: 'secrets',
    subresource: '',
    namespace: 'kube-system',
    name: '',
    cluster: 'prod',
    tenant: 'acme',
    ...overrides,
  };
}

interface Probe {
  labelCalls: number;
  podCalls: number;
}

function input(
  a: DenyAction,
  options: { sessions?: string[]; labels?: Labels | 'fail'; pod?: PodLike | 'fail' } = {},
  probe: Probe = { labelCalls: 0, podCalls: 0 },
): DenyEvaluationInput {
  return {
    action: a,
    sessions: options.sessions ?? [],
    namespaceLabels: once(async () => {
      probe.labelCalls++;
      return options.labels === 'fail' ? undefined : (options.labels ?? {});
    }),
    pod: once(async () => {
      probe.podCalls++;
      return options.pod === 'fail' ? undefined : options.pod;
    }),
    podSecurityOverride: undefined,
  };
}

function deniedBy(outcome: DenyOutcome): string | undefined {
  return outcome.denied ? outcome.policy : undefined;
}

describe('DenyPolicy evaluation', () => {
  it('denies a request matching verb, group and resource, and nothing else', async () => {
    const index = new DenyPolicyIndex([policy('no-secrets', { rules: [secretsRule] })]);
    expect(deniedBy(await index.evaluate(input(action())))).to.equal('no-secrets');
    expect(deniedBy(await index.evaluate(input(action({ verb: 'delete' }))))).to.equal(undefined);
    expect(deniedBy(await index.evaluate(input(action({ resource: 'configmaps' }))))).to.equal(undefined);
    expect(deniedBy(await index.evaluate(input(action({ apiGroup: 'apps' }))))).to.equal(undefined);
  });

  it('treats "*" as any value and empty subresources/resourceNames as any', async () => {
    const index = new DenyPolicyIndex([policy('all', { rules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }] })]);
    expect(deniedBy(await index.evaluate(input(action({ verb: 'patch', apiGroup: 'apps', resource: 'deployments', subresource: 'scale', name: 'x' })))))
      .to.equal('all');
  });

  it('matches subresources and resource name globs when listed', async () => {
    const index = new DenyPolicyIndex([
      policy('exec-db', {
        rules: [{ verbs: ['create'], apiGroups: [''], resources: ['pods'], subresources: ['exec'], resourceNames: ['db-*'] }],
      }),
    ]);
    const exec = action({ verb: 'create', resource: 'pods', subresource: 'exec', name: 'db-0', namespace: 'data' });
    expect(deniedBy(await index.evaluate(input(exec)))).to.equal('exec-db');
    expect(deniedBy(await index.evaluate(input({ ...exec, name: 'web-0' })))).to.equal(undefined);
    expect(deniedBy(await index.evaluate(input({ ...exec, subresource: 'log' })))).to.equal(undefined);
    expect(deniedBy(await index.evaluate(input({ ...exec, subresource: '' })))).to.equal(undefined);
  });

  it('matches namespaces by pattern without reading labels', async () => {
    const index = new DenyPolicyIndex([policy('p', { rules: [{ ...secretsRule, namespaces: { patterns: ['kube-*'] } }] })]);
    const probe = { labelCalls: 0, podCalls: 0 };
    expect(deniedBy(await index.evaluate(input(action(), {}, probe)))).to.equal('p');
    expect(deniedBy(await index.evaluate(input(action({ namespace: 'payments' }), {}, probe)))).to.equal(undefined);
    expect(deniedBy(await index.evaluate(input(action({ namespace: '' }), {}, probe)))).to.equal(undefined);
    expect(probe.labelCalls).to.equal(0);
  });

  it('matches namespaces by label selector terms, reading the labels once per request', async () => {
    const index = new DenyPolicyIndex([
      policy('prod-secrets', {
        rules: [
          {
            ...secretsRule,
            namespaces: {
              selectorTerms: [
                { matchLabels: { env: 'prod' }, matchExpressions: [{ key: 'team', operator: 'NotIn', values: ['platform'] }] },
                { matchExpressions: [{ key: 'pci', operator: 'Exists' }] },
              ],
            },
          },
          { verbs: ['list'], apiGroups: [''], resources: ['secrets'], namespaces: { selectorTerms: [{ matchLabels: { env: 'prod' } }] } },
        ],
      }),
    ]);
    const probe = { labelCalls: 0, podCalls: 0 };
    const a = action({ namespace: 'payments' });
    expect(deniedBy(await index.evaluate(input(a, { labels: { env: 'prod' } }, probe)))).to.equal('prod-secrets');
    expect(deniedBy(await index.evaluate(input(a, { labels: { env: 'prod', team: 'platform' } })))).to.equal(undefined);
    expect(deniedBy(await index.evaluate(input(a, { labels: { pci: '' } })))).to.equal('prod-secrets');
    expect(deniedBy(await index.evaluate(input(a, { labels: { env: 'dev' } })))).to.equal(undefined);
    const listProbe = { labelCalls: 0, podCalls: 0 };
    await index.evaluate(input({ ...a, verb: 'list' }, { labels: { env: 'dev' } }, listProbe));
    expect(listProbe.labelCalls, 'two selector rules, one label read').to.equal(1);
  });

  it('denies fail-closed when a selector needs labels that cannot be read, and only then', async () => {
    const index = new DenyPolicyIndex([
      policy('sel', { rules: [{ ...secretsRule, namespaces: { patterns: ['kube-*'], selectorTerms: [{ matchLabels: { env: 'prod' } }] } }] }),
    ]);
    const unreadable = await index.evaluate(input(action({ namespace: 'payments' }), { labels: 'fail' }));
    expect(unreadable.denied && unreadable.cause).to.equal('labels');
    // A pattern that matches needs no labels.
    const byPattern = await index.evaluate(input(action(), { labels: 'fail' }));
    expect(byPattern.denied && byPattern.cause).to.equal('rule');
    // A request the rule cannot match never needs them.
    const probe = { labelCalls: 0, podCalls: 0 };
    const other = await index.evaluate(input(action({ namespace: 'payments', resource: 'configmaps' }), { labels: 'fail' }, probe));
    expect(other.denied).to.equal(false);
    expect(probe.labelCalls).to.equal(0);
  });

  it('evaluates by precedence, lower first, stable for equal precedence', async () => {
    const index = new DenyPolicyIndex([
      policy('b-default', { rules: [secretsRule] }),
      policy('c-late', { precedence: 500, rules: [secretsRule] }),
      policy('a-first', { precedence: 10, rules: [secretsRule] }),
      policy('d-default', { rules: [secretsRule] }),
    ]);
    expect(deniedBy(await index.evaluate(input(action())))).to.equal('a-first');
    const sameLevel = new DenyPolicyIndex([policy('x', { rules: [secretsRule] }), policy('y', { rules: [secretsRule] })]);
    expect(deniedBy(await sameLevel.evaluate(input(action())))).to.equal('x');
  });

  it('scopes policies by cluster and tenant ("*" matches any), ANDed', async () => {
    const index = new DenyPolicyIndex([
      policy('other-cluster', { appliesTo: { clusters: ['dev'] }, rules: [secretsRule] }),
      policy('tenant-and-cluster', { appliesTo: { clusters: ['prod'], tenants: ['globex'] }, rules: [secretsRule] }),
    ]);
    expect(deniedBy(await index.evaluate(input(action())))).to.equal(undefined);
    expect(deniedBy(await index.evaluate(input(action({ tenant: 'globex' }))))).to.equal('tenant-and-cluster');
    const any = new DenyPolicyIndex([policy('any', { appliesTo: { clusters: ['*'], tenants: ['*'] }, rules: [secretsRule] })]);
    expect(deniedBy(await any.evaluate(input(action({ tenant: '' }))))).to.equal('any');
  });

  it('applies session-scoped policies only in the pass of a listed session', async () => {
    const index = new DenyPolicyIndex([policy('for-s1', { appliesTo: { sessions: ['s1'] }, rules: [secretsRule] })]);
    expect(deniedBy(await index.evaluate(input(action())))).to.equal(undefined);
    expect(deniedBy(await index.evaluate(input(action(), { sessions: ['s2'] })))).to.equal(undefined);
    const outcome = await index.evaluate(input(action(), { sessions: ['s2', 's1'] }));
    expect(outcome.denied && outcome.pass).to.equal('session');
    expect(deniedBy(outcome)).to.equal('for-s1');
    const global = await new DenyPolicyIndex([policy('g', { rules: [secretsRule] })]).evaluate(input(action(), { sessions: ['s1'] }));
    expect(global.denied && global.pass).to.equal('global');
  });

  it('fetches the pod only for pod security of exec/attach/portforward, and denies on its verdict', async () => {
    const index = new DenyPolicyIndex([
      policy('pods', {
        podSecurityRules: { riskFactors: { privilegedContainer: 100 }, thresholds: [{ maxScore: 50, action: 'allow' }, { maxScore: 1000, action: 'deny' }] },
      }),
    ]);
    const privileged: PodLike = { spec: { containers: [{ name: 'c', securityContext: { privileged: true } }] } };
    const exec = action({ verb: 'create', resource: 'pods', subresource: 'exec', name: 'web-0', namespace: 'payments' });
    const probe = { labelCalls: 0, podCalls: 0 };
    const denied = await index.evaluate(input(exec, { pod: privileged }, probe));
    expect(denied.denied && denied.cause).to.equal('pod-security');
    expect(denied.denied && denied.detail).to.equal('pod security risk score 100 exceeds threshold');
    expect(probe.podCalls).to.equal(1);
    expect((await index.evaluate(input(exec, { pod: { spec: { containers: [{ name: 'c' }] } } }))).denied).to.equal(false);
    const logs = { labelCalls: 0, podCalls: 0 };
    expect((await index.evaluate(input({ ...exec, subresource: 'log' }, { pod: privileged }, logs))).denied).to.equal(false);
    expect(logs.podCalls).to.equal(0);
    const unreadable = await index.evaluate(input(exec, { pod: 'fail' }));
    expect(unreadable.denied && unreadable.detail).to.equal('pod spec unavailable for security evaluation (fail-closed)');
  });

  it('collects pod security warnings without denying', async () => {
    const index = new DenyPolicyIndex([
      policy('warn', { podSecurityRules: { riskFactors: { hostNetwork: 10 }, thresholds: [{ maxScore: 50, action: 'warn' }] } }),
    ]);
    const exec = action({ verb: 'create', resource: 'pods', subresource: 'exec', name: 'x', namespace: 'n' });
    const outcome = await index.evaluate(input(exec, { pod: { spec: { hostNetwork: true } } }));
    expect(outcome.denied).to.equal(false);
    expect(outcome.warnings.map((w) => [w.policy, w.score])).to.deep.equal([['warn', 10]]);
  });

  it('denies impersonation through impersonationRules, globally or per session', () => {
    const index = new DenyPolicyIndex([
      policy('no-sa', { impersonationRules: [{ identityResources: ['serviceaccounts'], reason: 'no service accounts' }] }),
      policy('s1-users', { appliesTo: { sessions: ['s1'] }, impersonationRules: [{ identityResources: ['users'], identities: ['admin-*'] }] }),
    ]);
    const scope = { cluster: 'prod', tenant: '', sessions: ['s1'] };
    const request = { mode: 'legacy', actionVerb: '', identityResource: 'serviceaccounts', identity: 'default', namespace: 'x', extraKey: '' };
    expect(index.evaluateImpersonation(request, scope)).to.deep.equal({ policy: 'no-sa', reason: 'no service accounts', pass: 'global' });
    const users = { ...request, identityResource: 'users', identity: 'admin-bob' };
    expect(index.evaluateImpersonation(users, scope)?.pass).to.equal('session');
    expect(index.evaluateImpersonation({ ...users, identity: 'carol' }, scope)).to.equal(undefined);
    expect(index.evaluateImpersonation(users, { ...scope, sessions: [] })).to.equal(undefined);
  });
});
