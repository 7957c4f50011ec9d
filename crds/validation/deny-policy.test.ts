import { expect } from 'chai';
import { admit, denyPolicy, errorLines } from './fixtures.test-support.ts';

describe('DenyPolicy admission', () => {
  it('refuses a blockFactors entry that names no pod security factor: a typo would block nothing', async () => {
    const rules = { thresholds: [{ maxScore: 50, action: 'deny' as const }], blockFactors: ['privileged', 'hostNetwork:x', 'capability:', 'privilegedContainer:a:b', 'privilegedContainer', 'capability:SYS_ADMIN:app', 'hostPathWritable:root'] };
    expect(errorLines(await admit('DenyPolicy', denyPolicy({ podSecurityRules: rules })))).to.deep.equal([
      'spec.podSecurityRules.blockFactors[0]: unknown pod security factor "privileged": one of hostNetwork, hostPID, hostIPC, privilegedContainer, runAsRoot, capability, hostPathWritable, hostPathReadOnly, the last five optionally narrowed with \':<container, volume or capability>\'',
      'spec.podSecurityRules.blockFactors[1]: unknown pod security factor "hostNetwork:x": one of hostNetwork, hostPID, hostIPC, privilegedContainer, runAsRoot, capability, hostPathWritable, hostPathReadOnly, the last five optionally narrowed with \':<container, volume or capability>\'',
      'spec.podSecurityRules.blockFactors[2]: unknown pod security factor "capability:": one of hostNetwork, hostPID, hostIPC, privilegedContainer, runAsRoot, capability, hostPathWritable, hostPathReadOnly, the last five optionally narrowed with \':<container, volume or capability>\'',
      'spec.podSecurityRules.blockFactors[3]: unknown pod security factor "privilegedContainer:a:b": one of hostNetwork, hostPID, hostIPC, privilegedContainer, runAsRoot, capability, hostPathWritable, hostPathReadOnly, the last five optionally narrowed with \':<container, volume or capability>\'',
    ]);
  });

  it('answers a policy full of duplicates with the first 100 errors and a count of the rest, at once', async () => {
    // 365 KB, within the CRD's limits, 57,000 distinct faults: listing them all took 30 s and
    // produced a denial of megabytes (the API server gives up after the webhook's 5 s).
    const rule = { verbs: Array(20).fill('get'), apiGroups: Array(50).fill(''), resources: Array(100).fill('secrets'), resourceNames: Array(100).fill('x') };
    const outcome = await admit('DenyPolicy', denyPolicy({ rules: Array.from({ length: 200 }, () => rule) }));
    expect(outcome.errors).to.have.length(101);
    expect(outcome.errors[0]?.field).to.match(/^spec\.rules\[0\]\./);
    expect(outcome.errors[100]).to.deep.include({ field: '' });
    expect(outcome.errors[100]?.message).to.match(/^and \d+ more errors$/);
    expect(Number(/\d+/.exec(outcome.errors[100]!.message)![0])).to.be.greaterThan(50_000);
  });

  it('accepts a policy with rules, pod security rules or impersonation rules', async () => {
    expect((await admit('DenyPolicy', denyPolicy())).errors).to.deep.equal([]);
    const pod = denyPolicy({ rules: undefined, podSecurityRules: { thresholds: [{ maxScore: 50, action: 'deny' }] } });
    expect((await admit('DenyPolicy', pod)).errors).to.deep.equal([]);
    expect((await admit('DenyPolicy', denyPolicy({ rules: undefined, impersonationRules: [{}] }))).errors).to.deep.equal([]);
  });

  it('rejects an empty policy', async () => {
    const outcome = await admit('DenyPolicy', denyPolicy({ rules: [] }));
    expect(errorLines(outcome)).to.deep.equal(['spec: at least one of rules, podSecurityRules or impersonationRules must be specified']);
  });

  it('rejects a rule without verbs, API groups or resources', async () => {
    const empty = await admit('DenyPolicy', denyPolicy({ rules: [{ verbs: [], apiGroups: [], resources: [] }] }));
    expect(errorLines(empty)).to.deep.equal([
      'spec.rules[0].verbs: at least one verb must be specified',
      'spec.rules[0].apiGroups: at least one API group must be specified ("" is the core group)',
      'spec.rules[0].resources: at least one resource must be specified',
    ]);
    const missing = await admit('DenyPolicy', { ...denyPolicy(), spec: { rules: [{ apiGroups: [''], resources: ['pods'] }] } });
    expect(errorLines(missing)).to.deep.equal(['spec.rules[0].verbs: Required value']);
  });

  it('rejects malformed globs in namespaces and resource names', async () => {
    const outcome = await admit(
      'DenyPolicy',
      denyPolicy({ rules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'], namespaces: { patterns: ['kube-[system'] }, resourceNames: ['db-\\'] }] }),
    );
    expect(errorLines(outcome)).to.deep.equal([
      'spec.rules[0].resourceNames[0]: "db-\\" is not a valid glob pattern: it ends with an unescaped backslash',
      'spec.rules[0].namespaces.patterns[0]: "kube-[system" is not a valid glob pattern: it has an unterminated or malformed character class',
    ]);
  });

  it('rejects selector expressions whose values do not fit the operator', async () => {
    const outcome = await admit(
      'DenyPolicy',
      denyPolicy({
        rules: [
          {
            verbs: ['delete'],
            apiGroups: ['apps'],
            resources: ['deployments'],
            namespaces: { selectorTerms: [{ matchExpressions: [{ key: 'env', operator: 'In' }, { key: 'tier', operator: 'Exists', values: ['x'] }] }] },
          },
        ],
      }),
    );
    expect(errorLines(outcome)).to.deep.equal([
      'spec.rules[0].namespaces.selectorTerms[0].matchExpressions[0].values: must not be empty when operator is In',
      'spec.rules[0].namespaces.selectorTerms[0].matchExpressions[1].values: must be empty when operator is Exists',
    ]);
  });

  it('rejects impersonation rules that combine identities and actionVerbs, and unknown modes', async () => {
    const combined = await admit('DenyPolicy', denyPolicy({ impersonationRules: [{ identities: ['system:*'], actionVerbs: ['get'] }] }));
    expect(errorLines(combined)).to.deep.equal(['spec.impersonationRules[0]: identities and actionVerbs cannot be combined in one impersonation rule']);
    const mode = await admit('DenyPolicy', { ...denyPolicy(), spec: { impersonationRules: [{ modes: ['root'] }] } });
    expect(errorLines(mode)).to.deep.equal([
      'spec.impersonationRules[0].modes[0]: must be one of "user-info", "serviceaccount", "arbitrary-node", "associated-node", "legacy"',
    ]);
  });

  it('rejects a negative precedence and a threshold with an unknown action', async () => {
    const outcome = await admit('DenyPolicy', {
      ...denyPolicy(),
      spec: { precedence: -1, podSecurityRules: { thresholds: [{ maxScore: 10, action: 'block' }] } },
    });
    expect(errorLines(outcome)).to.have.members([
      'spec.precedence: must be >= 0',
      'spec.podSecurityRules.thresholds[0].action: must be one of "allow", "warn", "deny"',
    ]);
  });
});
