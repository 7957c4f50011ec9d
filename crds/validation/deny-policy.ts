/**
 * DenyPolicy admission rules (reference §2.5, §7.5).
 */
import type { DenyPolicy, ImpersonationRule } from '../deny-policy.ts';
import { Findings } from './field-error.ts';
import { checkList, checkNamespaceFilter, nonEmpty } from './checks.ts';

/** API group lists may hold "" (the core group), so only uniqueness applies. */
function checkUniqueApiGroups(findings: Findings, field: string, groups: readonly string[] | undefined): void {
  const seen = new Set<string>();
  groups?.forEach((group, i) => {
    if (seen.has(group)) findings.error(`${field}[${i}]`, `duplicate value "${group}"`);
    seen.add(group);
  });
}

function checkImpersonationRule(findings: Findings, field: string, rule: ImpersonationRule): void {
  checkList(findings, `${field}.identities`, rule.identities, { glob: true });
  checkList(findings, `${field}.extraKeys`, rule.extraKeys);
  checkList(findings, `${field}.actionVerbs`, rule.actionVerbs);
  checkList(findings, `${field}.targetResources`, rule.targetResources);
  checkUniqueApiGroups(findings, `${field}.targetAPIGroups`, rule.targetAPIGroups);
  checkNamespaceFilter(findings, `${field}.namespaces`, rule.namespaces);
  if (nonEmpty(rule.identities) && nonEmpty(rule.actionVerbs)) {
    findings.error(field, 'identities and actionVerbs cannot be combined in one impersonation rule');
  }
  if (nonEmpty(rule.extraKeys) && nonEmpty(rule.identityResources) && !rule.identityResources.includes('userextras')) {
    findings.warn(`${field}.extraKeys has no effect unless identityResources includes "userextras"`);
  }
  if (nonEmpty(rule.targetAPIGroups) && !nonEmpty(rule.targetResources)) {
    findings.warn(`${field}.targetAPIGroups has no effect without targetResources`);
  }
}

export function validateDenyPolicy(policy: DenyPolicy): Findings {
  const findings = new Findings();
  const spec = policy.spec;
  if (!nonEmpty(spec.rules) && spec.podSecurityRules === undefined && !nonEmpty(spec.impersonationRules)) {
    findings.error('spec', 'at least one of rules, podSecurityRules or impersonationRules must be specified');
  }
  checkList(findings, 'spec.appliesTo.clusters', spec.appliesTo?.clusters, { glob: true });
  checkList(findings, 'spec.appliesTo.tenants', spec.appliesTo?.tenants);
  checkList(findings, 'spec.appliesTo.sessions', spec.appliesTo?.sessions);
  spec.rules?.forEach((rule, i) => {
    const field = `spec.rules[${i}]`;
    if (rule.verbs.length === 0) findings.error(`${field}.verbs`, 'at least one verb must be specified');
    if (rule.apiGroups.length === 0) findings.error(`${field}.apiGroups`, 'at least one API group must be specified ("" is the core group)');
    if (rule.resources.length === 0) findings.error(`${field}.resources`, 'at least one resource must be specified');
    checkList(findings, `${field}.verbs`, rule.verbs);
    checkList(findings, `${field}.resources`, rule.resources);
    checkList(findings, `${field}.subresources`, rule.subresources);
    checkList(findings, `${field}.resourceNames`, rule.resourceNames, { glob: true });
    checkUniqueApiGroups(findings, `${field}.apiGroups`, rule.apiGroups);
    checkNamespaceFilter(findings, `${field}.namespaces`, rule.namespaces);
  });
  spec.impersonationRules?.forEach((rule, i) => checkImpersonationRule(findings, `spec.impersonationRules[${i}]`, rule));
  const pod = spec.podSecurityRules;
  if (pod !== undefined) {
    checkList(findings, 'spec.podSecurityRules.blockFactors', pod.blockFactors, { podSecurityFactor: true });
    checkList(findings, 'spec.podSecurityRules.appliesTo.subresources', pod.appliesTo?.subresources);
    checkNamespaceFilter(findings, 'spec.podSecurityRules.exemptions.namespaces', pod.exemptions?.namespaces);
    if (!nonEmpty(pod.thresholds) && !nonEmpty(pod.blockFactors)) {
      findings.warn('spec.podSecurityRules has neither thresholds nor blockFactors: it never denies');
    }
  }
  return findings;
}
