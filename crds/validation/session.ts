/**
 * BreakglassSession admission rules (reference §7.1).
 *
 * A CREATE gets every rule. On an UPDATE only the spec's immutability is checked: create-time
 * rules (a scheduled start at least 5 minutes ahead, an enabled identity provider) described the
 * moment of the request and must not block later label or finalizer edits. Status changes never
 * reach these rules: the CRDs have the status subresource, so the API server drops status changes
 * sent to the main resource, and the state machine lives in controller/sessions alone.
 */
import { isDeepStrictEqual } from 'node:util';
import type { BreakglassSession, BreakglassSessionSpec } from '../breakglass-session.ts';
import type { BreakglassEscalation } from '../breakglass-escalation.ts';
import type { IdentityProvider } from '../identity-provider.ts';
import { REQUESTER_EMAIL_ANNOTATION } from '../index.ts';
import { Findings } from './field-error.ts';
import { checkIdentifier, checkList, checkRequired, globMatches } from './checks.ts';
import { checkSessionDurations } from './escalation.ts';
import { checkUniqueName, listOrReport, type RuleContext } from './lookup.ts';

export const MIN_SCHEDULE_AHEAD_MS = 5 * 60_000;

const trimSlash = (s: string): string => s.replace(/\/+$/, '');

function escalationTargetsCluster(escalation: BreakglassEscalation, cluster: string): boolean {
  const targets = [...(escalation.spec.allowed.clusters ?? []), ...(escalation.spec.clusterConfigRefs ?? [])];
  return targets.some((t) => globMatches(t, cluster));
}

function checkSpecFields(findings: Findings, spec: BreakglassSessionSpec): void {
  checkRequired(findings, 'spec.cluster', spec.cluster, 'cluster');
  checkRequired(findings, 'spec.user', spec.user, 'user');
  checkRequired(findings, 'spec.grantedGroup', spec.grantedGroup, 'grantedGroup');
  checkIdentifier(findings, 'spec.cluster', spec.cluster);
  checkIdentifier(findings, 'spec.user', spec.user);
  checkIdentifier(findings, 'spec.grantedGroup', spec.grantedGroup);
  checkIdentifier(findings, 'spec.clusterConfigRef', spec.clusterConfigRef);
  checkList(findings, 'spec.denyPolicyRefs', spec.denyPolicyRefs, { identifier: true });
  checkSessionDurations(findings, spec);
}

function checkScheduledStart(findings: Findings, spec: BreakglassSessionSpec, now: Date): void {
  if (spec.scheduledStartTime === undefined) return;
  const start = Date.parse(spec.scheduledStartTime);
  if (Number.isNaN(start)) {
    findings.error('spec.scheduledStartTime', `"${spec.scheduledStartTime}" is not an RFC 3339 time`);
  } else if (start <= now.getTime()) {
    findings.error('spec.scheduledStartTime', 'scheduledStartTime must be in the future');
  } else if (start < now.getTime() + MIN_SCHEDULE_AHEAD_MS) {
    findings.error('spec.scheduledStartTime', 'scheduledStartTime must be at least 5 minutes in the future');
  }
}

function checkIssuer(findings: Findings, spec: BreakglassSessionSpec, idp: IdentityProvider): void {
  if (spec.identityProviderIssuer === undefined || spec.identityProviderIssuer === '') return;
  const issuer = trimSlash(spec.identityProviderIssuer);
  const expected = [idp.spec.issuer, idp.spec.oidc.authority].filter((v): v is string => v !== undefined && v !== '').map(trimSlash);
  if (!expected.includes(issuer)) {
    findings.error(
      'spec.identityProviderIssuer',
      `issuer does not match IdentityProvider ${idp.metadata?.name ?? ''} (expected ${expected[0] ?? '<none>'})`,
    );
  }
}

/** §7.1: the identity provider must exist, be enabled, match the issuer and be allowed by the escalations. */
async function checkIdentityProvider(findings: Findings, spec: BreakglassSessionSpec, ctx: RuleContext): Promise<void> {
  const idpName = spec.identityProviderName;
  if (idpName === undefined || idpName === '') return;
  const field = 'spec.identityProviderName';
  const idps = await listOrReport(findings, field, 'IdentityProviders', () => ctx.lookup.listIdentityProviders());
  if (idps === undefined) return;
  const idp = idps.find((p) => p.metadata?.name === idpName);
  if (idp === undefined) {
    findings.error(field, `IdentityProvider "${idpName}" not found`);
    return;
  }
  if (idp.spec.disabled === true) findings.error(field, 'referenced IdentityProvider is disabled');
  checkIssuer(findings, spec, idp);

  const escalations = await listOrReport(findings, field, 'BreakglassEscalations', () => ctx.lookup.listEscalations());
  if (escalations === undefined) return;
  const relevant = escalations.filter((e) => e.spec.escalatedGroup === spec.grantedGroup && escalationTargetsCluster(e, spec.cluster));
  const allowedBy = (e: BreakglassEscalation): string[] =>
    nonEmptyList(e.spec.allowedIdentityProviders) ?? nonEmptyList(e.spec.allowedIdentityProvidersForRequests) ?? [];
  if (relevant.some((e) => allowedBy(e).length === 0)) return;
  for (const e of relevant) {
    const allowed = allowedBy(e);
    if (!allowed.includes(idpName)) {
      findings.error(
        field,
        `IdentityProvider "${idpName}" is not allowed by escalation "${e.metadata?.name ?? ''}" (allowed IDPs: ${allowed.join(', ')})`,
      );
    }
  }
}

function nonEmptyList(values: string[] | undefined): string[] | undefined {
  return values !== undefined && values.length > 0 ? values : undefined;
}

/**
 * UPDATE: the spec may not change (the CRD's CEL rule says the same; this names the field too),
 * nor the requester email recorded at creation (the self-approval check relies on it).
 */
export function validateSessionUpdate(spec: unknown, oldSpec: unknown, annotations: unknown, oldAnnotations: unknown): Findings {
  const findings = new Findings();
  if (!isDeepStrictEqual(spec, oldSpec)) findings.error('spec', 'spec is immutable');
  const recorded = (value: unknown): unknown => (typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[REQUESTER_EMAIL_ANNOTATION] : undefined);
  const before = recorded(oldAnnotations);
  if (before !== undefined && recorded(annotations) !== before) {
    findings.error(`metadata.annotations[${REQUESTER_EMAIL_ANNOTATION}]`, 'is recorded at creation and cannot be changed or removed');
  }
  return findings;
}

/** CREATE: every field rule, the scheduled start, the identity provider and the unique name. */
export async function validateSession(session: BreakglassSession, ctx: RuleContext): Promise<Findings> {
  const findings = new Findings();
  checkSpecFields(findings, session.spec);
  checkScheduledStart(findings, session.spec, ctx.now);
  await checkIdentityProvider(findings, session.spec, ctx);
  await checkUniqueName(findings, 'BreakglassSession', session, ctx);
  return findings;
}
