import { expect } from 'chai';
import type { PodSecurityRules } from '../../crds/index.ts';
import { checkList } from '../../crds/validation/checks.ts';
import { Findings } from '../../crds/validation/field-error.ts';
import type { Labels } from './namespace-filter.ts';
import {
  POD_UNAVAILABLE_REASON,
  compilePodSecurityOverride,
  compilePodSecurityRules,
  evaluatePodSecurity,
  podSecurityApplies,
  scorePod,
  type CompiledPodSecurityOverride,
  type PodLike,
  type PodSecurityResult,
} from './pod-security.ts';

const weights: PodSecurityRules['riskFactors'] = {
  hostNetwork: 10,
  hostPID: 20,
  hostIPC: 5,
  privilegedContainer: 50,
  hostPathWritable: 30,
  hostPathReadOnly: 8,
  runAsRoot: 15,
  capabilities: { SYS_ADMIN: 40, NET_RAW: 3 },
};

const thresholds: PodSecurityRules['thresholds'] = [
  { maxScore: 20, action: 'allow' },
  { maxScore: 60, action: 'warn' },
  { maxScore: 200, action: 'deny', reason: 'risk {{.Score}} for {{ .Namespace }}/{{.Pod}}: {{.Factors}}' },
];

const harmless: PodLike = { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app' }] } };
const privileged: PodLike = { spec: { containers: [{ name: 'app', securityContext: { privileged: true } }] } };

async function evaluate(
  rules: PodSecurityRules,
  pod: PodLike | undefined,
  options: { namespace?: string; labels?: Labels; override?: CompiledPodSecurityOverride } = {},
): Promise<PodSecurityResult> {
  return evaluatePodSecurity(compilePodSecurityRules(rules), {
    namespace: options.namespace ?? 'payments',
    podName: 'web-0',
    pod,
    namespaceLabels: async () => options.labels,
    override: options.override,
  });
}

describe('pod security scoring', () => {
  it('detects every factor of §6.6 over containers, init and ephemeral containers', () => {
    const rules = compilePodSecurityRules({ riskFactors: weights });
    const risk = scorePod(rules, {
      spec: {
        hostNetwork: true,
        hostPID: true,
        hostIPC: true,
        securityContext: { runAsUser: 0 },
        containers: [
          { name: 'a', securityContext: { privileged: true, capabilities: { add: ['CAP_SYS_ADMIN', 'NET_RAW'] } }, volumeMounts: [{ name: 'root', readOnly: true }] },
          { name: 'b', securityContext: { privileged: true, runAsUser: 1000 }, volumeMounts: [{ name: 'root' }] },
        ],
        initContainers: [{ name: 'init', securityContext: { runAsUser: 0 } }],
        ephemeralContainers: [{ name: 'debug', volumeMounts: [{ name: 'logs', readOnly: true }] }],
        volumes: [{ name: 'root', hostPath: { path: '/' } }, { name: 'logs', hostPath: { path: '/var/log' } }, { name: 'tmp' }],
      },
    });
    expect(risk.factors).to.deep.equal([
      'hostNetwork',
      'hostPID',
      'hostIPC',
      'privilegedContainer:a',
      'runAsRoot:a',
      'capability:SYS_ADMIN:a',
      'capability:NET_RAW:a',
      'privilegedContainer:b',
      'runAsRoot:init',
      'runAsRoot:debug', // inherits the pod's runAsUser 0
      'hostPathWritable:root',
      'hostPathReadOnly:logs',
    ]);
    // host* 10+20+5, privileged once 50, root once 15, caps 40+3, hostPath 30+8.
    expect(risk.score).to.equal(35 + 50 + 15 + 43 + 38);
    // Admission accepts every factor reported, bare and narrowed, so a policy can name each one.
    const named = [...risk.factors, ...risk.factors.map((f) => f.split(':')[0]!)];
    for (const factor of new Set(named)) {
      const findings = new Findings();
      checkList(findings, 'blockFactors', [factor], { podSecurityFactor: true });
      expect(findings.errors, factor).to.deep.equal([]);
    }
  });

  it('scores a harmless pod zero', () => {
    expect(scorePod(compilePodSecurityRules({ riskFactors: weights }), harmless)).to.deep.equal({ score: 0, factors: [] });
  });

  it('applies to exec, attach and portforward on a named pod by default, or the listed subresources', () => {
    const defaults = compilePodSecurityRules({});
    const on = (resource: string, subresource: string, name: string, apiGroup = '') => ({ apiGroup, resource, subresource, name });
    expect(['exec', 'attach', 'portforward', 'log'].map((s) => podSecurityApplies(defaults, on('pods', s, 'x')))).to.deep.equal([
      true,
      true,
      true,
      false,
    ]);
    expect(podSecurityApplies(defaults, on('pods', 'exec', ''))).to.equal(false);
    expect(podSecurityApplies(defaults, on('deployments', 'exec', 'x'))).to.equal(false);
    expect(podSecurityApplies(defaults, on('pods', 'exec', 'x', 'example.com')), 'a CRD named pods').to.equal(false);
    expect(podSecurityApplies(compilePodSecurityRules({ appliesTo: { subresources: ['log'] } }), on('pods', 'log', 'x'))).to.equal(true);
  });
});

describe('pod security evaluation', () => {
  it('uses the first threshold the score fits under', async () => {
    const rules = { riskFactors: weights, thresholds };
    expect((await evaluate(rules, harmless)).action).to.equal('allow');
    const warned = await evaluate(rules, { spec: { hostNetwork: true, hostPID: true, containers: [] } });
    expect([warned.action, warned.score]).to.deep.equal(['warn', 30]);
    const rootPrivileged: PodLike = { spec: { containers: [{ name: 'app', securityContext: { privileged: true, runAsUser: 0 } }] } };
    const denied = await evaluate(rules, rootPrivileged, { namespace: 'prod' });
    expect(denied.action).to.equal('deny');
    expect(denied.reason).to.equal('risk 65 for prod/web-0: [privilegedContainer:app runAsRoot:app]');
  });

  it('denies a score above every threshold (stricter than the reference) but allows without thresholds', async () => {
    const rules = { riskFactors: weights, thresholds: [{ maxScore: 10, action: 'allow' as const }] };
    const result = await evaluate(rules, privileged);
    expect([result.action, result.reason]).to.deep.equal(['deny', 'pod security risk score 50 exceeds threshold']);
    expect((await evaluate({ riskFactors: weights }, privileged)).action).to.equal('allow');
  });

  it('fails closed by default when the pod cannot be read, open when configured', async () => {
    const closed = await evaluate({ thresholds }, undefined);
    expect([closed.action, closed.reason]).to.deep.equal(['deny', POD_UNAVAILABLE_REASON]);
    expect((await evaluate({ thresholds, failMode: 'open' }, undefined)).action).to.equal('allow');
  });

  it('blocks listed factors regardless of score, by name or full factor', async () => {
    const byName = await evaluate({ blockFactors: ['privilegedContainer'] }, privileged);
    expect([byName.action, byName.reason]).to.deep.equal(['deny', 'blocked security factor detected: privilegedContainer:app']);
    const capPod: PodLike = { spec: { containers: [{ name: 'c', securityContext: { capabilities: { add: ['SYS_PTRACE'] } } }] } };
    expect((await evaluate({ blockFactors: ['capability:SYS_PTRACE'] }, capPod)).action).to.equal('deny');
    expect((await evaluate({ blockFactors: ['capability:SYS_ADMIN'] }, capPod)).action).to.equal('allow');
    // Written as in a pod spec (lower case, CAP_ prefix) it still names the reported factor.
    expect((await evaluate({ blockFactors: ['capability:cap_sys_ptrace'] }, capPod)).action).to.equal('deny');
    expect((await evaluate({ blockFactors: ['capability:CAP_SYS_PTRACE:c'] }, capPod)).action).to.equal('deny');
    expect((await evaluate({ blockFactors: ['privileged'] }, privileged)).action, 'a prefix of a word is not a factor').to.equal('allow');
  });

  it('exempts namespaces by pattern or labels, and pods carrying all exemption labels', async () => {
    const rules: PodSecurityRules = {
      riskFactors: weights,
      thresholds,
      blockFactors: ['privilegedContainer'],
      exemptions: { namespaces: { patterns: ['debug-*'], selectorTerms: [{ matchLabels: { tier: 'sandbox' } }] }, podLabels: { 'breakglass/exempt': 'true', team: 'sre' } },
    };
    expect((await evaluate(rules, privileged, { namespace: 'debug-1' })).exempt).to.equal(true);
    expect((await evaluate(rules, privileged, { labels: { tier: 'sandbox' } })).exempt).to.equal(true);
    expect((await evaluate(rules, privileged, { labels: undefined })).action, 'unreadable labels: no exemption').to.equal('deny');
    const labelled = (labels: Record<string, string>): PodLike => ({ ...privileged, metadata: { labels } });
    expect((await evaluate(rules, labelled({ 'breakglass/exempt': 'true', team: 'sre' }))).exempt).to.equal(true);
    expect((await evaluate(rules, labelled({ 'breakglass/exempt': 'true' }))).action).to.equal('deny');
  });

  it('honours an enabled escalation override within its namespace scope', async () => {
    const rules: PodSecurityRules = { riskFactors: weights, thresholds, blockFactors: ['hostPID'] };
    const pod: PodLike = { spec: { hostPID: true, containers: [{ name: 'c', securityContext: { privileged: true } }] } };
    const override = compilePodSecurityOverride({ enabled: true, maxAllowedScore: 80, exemptFactors: ['hostPID'], namespaceScope: { patterns: ['ops-*'] } });
    const inScope = await evaluate(rules, pod, { namespace: 'ops-1', override });
    expect([inScope.action, inScope.overrideApplied, inScope.score]).to.deep.equal(['allow', true, 70]);
    const outOfScope = await evaluate(rules, pod, { namespace: 'payments', override });
    expect(outOfScope.reason).to.equal('blocked security factor detected: hostPID');
    expect(compilePodSecurityOverride({ maxAllowedScore: 80 }), 'disabled override').to.equal(undefined);
  });
});
