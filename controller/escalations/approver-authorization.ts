/**
 * Who may approve, reject or cancel a session (reference §8.8), as a pure function of the
 * caller, the session, the escalations and the session's ClusterConfig.
 *
 * Deliberately different from the reference:
 * - Self-approval is blocked unless the escalation (or, when the escalation does not say, the
 *   ClusterConfig) sets `blockSelfApproval: false` explicitly.
 * - Approver groups are decided by `status.approverGroupMembers` (synced from the identity
 *   provider) where it has an entry for the group, otherwise by the token's `groups` claim. There
 *   is no "verification" by impersonating the approver on the spoke: that returns no groups
 *   (§15.17), so the reference falls back to the token anyway.
 */
import { REQUESTER_EMAIL_ANNOTATION, type BreakglassEscalation, type BreakglassSession, type ClusterConfig } from '../../crds/index.ts';
import type { VerifiedIdentity } from '../identity/identity.ts';
import { approverGroups } from './group-sync-status.ts';
import { approverIdentityProviders, matchesCluster } from './matching.ts';

export type ApprovalDenialCode =
  | 'UNAUTHENTICATED'
  | 'SELF_APPROVAL_BLOCKED'
  | 'DOMAIN_NOT_ALLOWED'
  | 'IDP_NOT_ALLOWED'
  | 'NOT_AN_APPROVER'
  | 'NO_MATCHING_ESCALATION'
  | 'CLUSTER_POLICY_AMBIGUOUS';

export type ApprovalDecision =
  | { allowed: true; escalation: BreakglassEscalation }
  | { allowed: false; code: ApprovalDenialCode; message: string };

export const SELF_APPROVAL_MESSAGE =
  'Self-approval is not allowed for this cluster/escalation. Please ask another approver to approve your request.';

export interface ApprovalContext {
  caller: VerifiedIdentity;
  session: BreakglassSession;
  /** Every known escalation (the candidates are chosen here). */
  escalations: readonly BreakglassEscalation[];
  /** The ClusterConfig named session.spec.cluster: undefined when none, 'ambiguous' when several. */
  clusterConfig: ClusterConfig | 'ambiguous' | undefined;
}

/** The caller's identifiers, lower-cased, for "is this the requester?" checks. */
export function callerIdentifiers(caller: VerifiedIdentity): string[] {
  return [caller.email, caller.username, caller.subject]
    .filter((v): v is string => v !== undefined && v !== '')
    .map((v) => v.toLowerCase());
}

/**
 * Whether one of the caller's identifiers (email, preferred_username, sub; case-insensitive) is
 * the session's user, or the caller's email is the requester's recorded at creation (spec.user
 * may be a `sub` or username of the requester's identity provider).
 */
export function namesRequester(caller: VerifiedIdentity, session: BreakglassSession): boolean {
  return requesterNamer(caller)(session);
}

/** `namesRequester` for one caller over many sessions (a list): the caller's identifiers are computed once. */
export function requesterNamer(caller: VerifiedIdentity): (session: BreakglassSession) => boolean {
  const identifiers = callerIdentifiers(caller);
  const email = caller.email?.toLowerCase();
  return (session) => {
    if (identifiers.includes(session.spec.user.toLowerCase())) return true;
    const requesterEmail = session.metadata?.annotations?.[REQUESTER_EMAIL_ANNOTATION];
    return requesterEmail !== undefined && requesterEmail !== '' && email === requesterEmail;
  };
}

/**
 * Whether the caller is the session's requester: the same name at the same identity provider.
 * Names are only unique within one IdP (a `sub` or username at another realm is another
 * person), so the caller's `iss` must equal the issuer recorded at creation when the session
 * has one. `allowIDPMismatch` is deliberately not consulted: it relaxes which tokens the
 * authorization webhook honours, not who owns (withdraws, drops, reads) the request.
 */
export function isRequester(caller: VerifiedIdentity, session: BreakglassSession): boolean {
  return requesterMatcher(caller)(session);
}

/** `isRequester` for one caller over many sessions (a list): the caller's identifiers are computed once. */
export function requesterMatcher(caller: VerifiedIdentity): (session: BreakglassSession) => boolean {
  const identifiers = new Set(callerIdentifiers(caller));
  return (session) => {
    const issuer = session.spec.identityProviderIssuer;
    if (issuer !== undefined && issuer !== '' && issuer !== caller.issuer) return false;
    return identifiers.has(session.spec.user.toLowerCase());
  };
}

/** The escalations a session can be decided under: its owner (by name and UID) if it has one. */
export function candidateEscalations(
  session: BreakglassSession,
  escalations: readonly BreakglassEscalation[],
): BreakglassEscalation[] {
  const owner = session.metadata?.ownerReferences?.find((ref) => ref.kind === 'BreakglassEscalation' && ref.controller === true);
  return escalations.filter((escalation) => {
    if (escalation.spec.escalatedGroup !== session.spec.grantedGroup) return false;
    if (!matchesCluster(escalation, session.spec.cluster)) return false;
    if (owner === undefined) return true;
    return (
      escalation.metadata?.name === owner.name &&
      escalation.metadata?.uid === owner.uid &&
      escalation.metadata?.namespace === session.metadata?.namespace
    );
  });
}

/** Effective self-approval blocking: escalation, else ClusterConfig, else blocked. */
export function selfApprovalBlocked(escalation: BreakglassEscalation, cluster: ClusterConfig | undefined): boolean {
  return escalation.spec.blockSelfApproval ?? cluster?.spec.blockSelfApproval ?? true;
}

/** Whether the caller is an approver of `escalation` by user list, synced group members or token groups. */
export function isApproverOf(caller: VerifiedIdentity, escalation: BreakglassEscalation): boolean {
  const email = caller.email?.toLowerCase();
  if (email === undefined) return false;
  const users = (escalation.spec.approvers?.users ?? []).map((u) => u.toLowerCase());
  if (users.includes(email)) return true;
  const members = escalation.status?.approverGroupMembers ?? {};
  const tokenGroups = caller.groups ?? [];
  // The names as the group sync keys them (trimmed): a group written with a stray space is still found.
  for (const group of approverGroups(escalation)) {
    // Own properties only: a group named "constructor" must not find Object's.
    const synced = Object.hasOwn(members, group) ? members[group] : undefined;
    if (synced !== undefined) {
      // The synced list is authoritative for its group: someone removed from the group in the
      // identity provider cannot keep approving with an older token.
      if (synced.some((member) => member.toLowerCase() === email)) return true;
    } else if (tokenGroups.includes(group)) {
      return true;
    }
  }
  return false;
}

const DENIAL_PRECEDENCE: readonly ApprovalDenialCode[] = [
  'SELF_APPROVAL_BLOCKED',
  'DOMAIN_NOT_ALLOWED',
  'NOT_AN_APPROVER',
  'IDP_NOT_ALLOWED',
];

/** Decides whether `caller` may approve (reject, cancel) `session`. */
export function checkApprovalAuthorization(context: ApprovalContext): ApprovalDecision {
  const { caller, session } = context;
  const email = caller.email?.toLowerCase();
  if (email === undefined || email === '') {
    return { allowed: false, code: 'UNAUTHENTICATED', message: 'Unable to verify user identity: the token has no email claim' };
  }
  if (context.clusterConfig === 'ambiguous') {
    return { allowed: false, code: 'CLUSTER_POLICY_AMBIGUOUS', message: 'Cluster approval policy is ambiguous' };
  }
  const cluster = context.clusterConfig;
  const candidates = candidateEscalations(session, context.escalations);
  if (candidates.length === 0) {
    return {
      allowed: false,
      code: 'NO_MATCHING_ESCALATION',
      message: "No matching escalation found for the session's granted group",
    };
  }
  // Self-approval is blocked on the name alone: the same person logging in through a second
  // identity provider must not become their own approver.
  const self = namesRequester(caller, session);
  const denials = new Map<ApprovalDenialCode, string>();
  for (const escalation of candidates) {
    if (self && selfApprovalBlocked(escalation, cluster)) {
      denials.set('SELF_APPROVAL_BLOCKED', SELF_APPROVAL_MESSAGE);
      continue;
    }
    const ownDomains = escalation.spec.allowedApproverDomains ?? [];
    const domains = ownDomains.length > 0 ? ownDomains : (cluster?.spec.allowedApproverDomains ?? []);
    if (domains.length > 0 && !domains.some((d) => email.endsWith(`@${d.toLowerCase()}`))) {
      denials.set(
        'DOMAIN_NOT_ALLOWED',
        `Your email domain is not in the list of allowed approver domains: [${domains.join(', ')}]`,
      );
      continue;
    }
    const idps = approverIdentityProviders(escalation);
    if (idps.length > 0 && !idps.includes(caller.identityProvider)) {
      denials.set('IDP_NOT_ALLOWED', 'Your identity provider is not allowed to approve this escalation');
      continue;
    }
    if (isApproverOf(caller, escalation)) return { allowed: true, escalation };
    denials.set('NOT_AN_APPROVER', 'You are not in an approver group for this escalation');
  }
  const code = DENIAL_PRECEDENCE.find((c) => denials.has(c)) as ApprovalDenialCode;
  return { allowed: false, code, message: denials.get(code) as string };
}
