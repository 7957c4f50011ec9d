/**
 * BreakglassEscalation admission rules (reference §2.2, §7.2), for a CREATE or an UPDATE that
 * changes the spec.
 */
import { parseExtendedDuration } from '../durations.ts';
import { ESCALATION_DEFAULT_APPROVAL_TIMEOUT, ESCALATION_DEFAULT_MAX_VALID_FOR, type BreakglassEscalation, type BreakglassEscalationSpec } from '../breakglass-escalation.ts';
import { Findings } from './field-error.ts';
import { checkApproverDomains, checkDuration, checkIdentifier, checkList, checkNamespaceFilter, nonEmpty } from './checks.ts';
import { checkUniqueName, type RuleContext } from './lookup.ts';

export const MIN_IDLE_TIMEOUT_MS = 60_000;

/**
 * The duration rules shared with sessions: positive durations, idleTimeout within
 * [1m, effective maxValidFor]; returns the effective maxValidFor in ms.
 */
export function checkSessionDurations(
  findings: Findings,
  spec: { maxValidFor?: string; idleTimeout?: string; retainFor?: string },
): number | undefined {
  const maxValidFor = checkDuration(findings, 'spec.maxValidFor', spec.maxValidFor);
  checkDuration(findings, 'spec.retainFor', spec.retainFor);
  const idle = checkDuration(findings, 'spec.idleTimeout', spec.idleTimeout);
  const maxText = spec.maxValidFor !== undefined && spec.maxValidFor !== '' ? spec.maxValidFor : ESCALATION_DEFAULT_MAX_VALID_FOR;
  const effectiveMax = spec.maxValidFor !== undefined && spec.maxValidFor !== '' ? maxValidFor : parseExtendedDuration(maxText);
  if (idle !== undefined) {
    if (idle < MIN_IDLE_TIMEOUT_MS) findings.error('spec.idleTimeout', 'idleTimeout must be at least 1m');
    else if (effectiveMax !== undefined && idle > effectiveMax) {
      findings.error('spec.idleTimeout', `idleTimeout (${spec.idleTimeout}) must not exceed maxValidFor (${maxText})`);
    }
  }
  return effectiveMax;
}

function checkApprovers(findings: Findings, spec: BreakglassEscalationSpec): void {
  const approvers = spec.approvers;
  if (!nonEmpty(approvers?.users) && !nonEmpty(approvers?.groups)) {
    findings.error('spec.approvers', 'at least one approver user or group must be specified');
  }
  checkList(findings, 'spec.approvers.users', approvers?.users, { identifier: true });
  checkList(findings, 'spec.approvers.groups', approvers?.groups, { identifier: true });
  checkList(findings, 'spec.approvers.hiddenFromUI', approvers?.hiddenFromUI, { identifier: true });
  const known = new Set([...(approvers?.users ?? []), ...(approvers?.groups ?? [])]);
  approvers?.hiddenFromUI?.forEach((entry, i) => {
    if (entry.trim() !== '' && !known.has(entry)) {
      // Hiding someone who cannot approve has no effect; likely a typo, but not worth a rejection.
      findings.warn(`spec.approvers.hiddenFromUI[${i}]: "${entry}" is neither an approver user nor an approver group`);
    }
  });
  if (spec.blockSelfApproval === true) {
    if (!nonEmpty(approvers?.groups)) {
      findings.error('spec.blockSelfApproval', 'blockSelfApproval requires at least one approver group');
    }
    if (approvers?.groups?.includes(spec.escalatedGroup)) {
      findings.error('spec.escalatedGroup', 'escalatedGroup must not be an approver group when blockSelfApproval is true');
    }
    if (approvers?.hiddenFromUI?.includes(spec.escalatedGroup)) {
      findings.error('spec.escalatedGroup', 'escalatedGroup must not be in approvers.hiddenFromUI when blockSelfApproval is true');
    }
  }
}

function checkIdentityProviderLists(findings: Findings, spec: BreakglassEscalationSpec): void {
  checkList(findings, 'spec.allowedIdentityProviders', spec.allowedIdentityProviders, { identifier: true });
  checkList(findings, 'spec.allowedIdentityProvidersForRequests', spec.allowedIdentityProvidersForRequests, { identifier: true });
  checkList(findings, 'spec.allowedIdentityProvidersForApprovers', spec.allowedIdentityProvidersForApprovers, { identifier: true });
  const forRequests = nonEmpty(spec.allowedIdentityProvidersForRequests);
  const forApprovers = nonEmpty(spec.allowedIdentityProvidersForApprovers);
  if (nonEmpty(spec.allowedIdentityProviders) && (forRequests || forApprovers)) {
    findings.error(
      'spec.allowedIdentityProviders',
      'allowedIdentityProviders is mutually exclusive with allowedIdentityProvidersForRequests and allowedIdentityProvidersForApprovers',
    );
  }
  if (forRequests !== forApprovers) {
    findings.error(
      'spec.allowedIdentityProvidersForRequests',
      'allowedIdentityProvidersForRequests and allowedIdentityProvidersForApprovers must both be set or both be empty',
    );
  }
}

function checkTargets(findings: Findings, spec: BreakglassEscalationSpec): void {
  checkList(findings, 'spec.allowed.clusters', spec.allowed.clusters, { identifier: true, glob: true });
  checkList(findings, 'spec.clusterConfigRefs', spec.clusterConfigRefs, { identifier: true, glob: true });
  checkList(findings, 'spec.allowed.groups', spec.allowed.groups, { identifier: true });
  const hasClusters = nonEmpty(spec.allowed.clusters) || nonEmpty(spec.clusterConfigRefs);
  const hasGroups = nonEmpty(spec.allowed.groups);
  if (!hasClusters && !hasGroups) {
    findings.error('spec.allowed', 'at least one of allowed.groups, allowed.clusters or clusterConfigRefs must be specified');
  } else if (!hasClusters) {
    findings.warn('spec.allowed: no allowed.clusters or clusterConfigRefs; this escalation applies to no cluster');
  } else if (!hasGroups) {
    findings.warn('spec.allowed.groups: no groups; nobody can request this escalation');
  }
}

function checkTimeouts(findings: Findings, spec: BreakglassEscalationSpec): void {
  const effectiveMax = checkSessionDurations(findings, spec);
  const approvalTimeout = checkDuration(findings, 'spec.approvalTimeout', spec.approvalTimeout);
  if (approvalTimeout !== undefined && effectiveMax !== undefined && approvalTimeout > effectiveMax) {
    const maxText = spec.maxValidFor !== undefined && spec.maxValidFor !== '' ? spec.maxValidFor : ESCALATION_DEFAULT_MAX_VALID_FOR;
    // The API server fills in the default before admission, so the user may never have written
    // it: say so, and what to do, when it is the default that does not fit.
    const defaulted = spec.approvalTimeout === ESCALATION_DEFAULT_APPROVAL_TIMEOUT;
    findings.error(
      'spec.approvalTimeout',
      defaulted
        ? `approvalTimeout (${spec.approvalTimeout}, the default when it is not set) must be less than or equal to maxValidFor (${maxText}); set approvalTimeout to at most ${maxText}`
        : `approvalTimeout (${spec.approvalTimeout}) must be less than or equal to maxValidFor (${maxText})`,
    );
  }
}

export function checkEscalationSpec(findings: Findings, spec: BreakglassEscalationSpec): void {
  if (spec.escalatedGroup.trim() === '') findings.error('spec.escalatedGroup', 'escalatedGroup is required');
  checkIdentifier(findings, 'spec.escalatedGroup', spec.escalatedGroup);
  checkTargets(findings, spec);
  checkApprovers(findings, spec);
  checkIdentityProviderLists(findings, spec);
  checkTimeouts(findings, spec);
  checkList(findings, 'spec.denyPolicyRefs', spec.denyPolicyRefs, { identifier: true });
  checkApproverDomains(findings, 'spec.allowedApproverDomains', spec.allowedApproverDomains);
  checkList(findings, 'spec.notificationExclusions.users', spec.notificationExclusions?.users, { identifier: true });
  checkList(findings, 'spec.notificationExclusions.groups', spec.notificationExclusions?.groups, { identifier: true });
  checkIdentifier(findings, 'spec.mailProvider', spec.mailProvider);
  const limits = spec.sessionLimitsOverride;
  if (limits?.unlimited === true && (limits.maxActiveSessionsPerUser !== undefined || limits.maxActiveSessionsTotal !== undefined)) {
    findings.error(
      'spec.sessionLimitsOverride.unlimited',
      'unlimited is mutually exclusive with maxActiveSessionsPerUser and maxActiveSessionsTotal',
    );
  }
  const pod = spec.podSecurityOverrides;
  if (pod !== undefined) {
    checkList(findings, 'spec.podSecurityOverrides.exemptFactors', pod.exemptFactors, { podSecurityFactor: true });
    checkNamespaceFilter(findings, 'spec.podSecurityOverrides.namespaceScope', pod.namespaceScope);
    checkList(findings, 'spec.podSecurityOverrides.approvers.groups', pod.approvers?.groups, { identifier: true });
    checkList(findings, 'spec.podSecurityOverrides.approvers.users', pod.approvers?.users, { identifier: true });
    if (pod.requireApproval === true && !nonEmpty(pod.approvers?.groups) && !nonEmpty(pod.approvers?.users)) {
      findings.error('spec.podSecurityOverrides.approvers', 'at least one approver is required when requireApproval is true');
    }
  }
}

export async function validateEscalation(escalation: BreakglassEscalation, ctx: RuleContext): Promise<Findings> {
  const findings = new Findings();
  checkEscalationSpec(findings, escalation.spec);
  await checkUniqueName(findings, 'BreakglassEscalation', escalation, ctx);
  return findings;
}
