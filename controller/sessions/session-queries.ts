/**
 * Reading sessions (reference §8.11, §8.12): the filters of GET /api/breakglassSessions and the
 * approvalMeta of one session. Everything is answered from the watch cache; the approver check
 * per session is pure and memoizes the ClusterConfig lookup per cluster, so a list over 10,000
 * sessions makes no API call.
 */
import type { BreakglassSession, ClusterConfig } from '../../crds/index.ts';
import { checkApprovalAuthorization, isRequester, requesterMatcher, requesterNamer } from '../escalations/approver-authorization.ts';
import type { VerifiedIdentity } from '../identity/identity.ts';
import { isAccessActive, isApprovalTimedOut, isExpired, stateOf } from './predicates.ts';
import { RequestError } from './request-errors.ts';
import { clusterConfigFor, publicSession, type SessionDomainDeps } from './session-context.ts';

export const STATE_FILTERS = [
  'all',
  'pending',
  'approved',
  'active',
  'waiting',
  'waitingforscheduledtime',
  'scheduled',
  'rejected',
  'withdrawn',
  'expired',
  'idleexpired',
  'timeout',
  'approvaltimeout',
] as const;

export interface SessionListQuery {
  cluster?: string;
  user?: string;
  group?: string;
  mine?: boolean;
  approver?: boolean;
  approvedByMe?: boolean;
  activeOnly?: boolean;
  /** State tokens (any case, `-`/`_` ignored). */
  state?: readonly string[];
}

function normalizeState(token: string): string {
  return token.toLowerCase().replace(/[-_]/g, '').trim();
}

type StatePredicate = (session: BreakglassSession, now: Date) => boolean;

function statePredicate(token: string): StatePredicate | undefined {
  switch (token) {
    case 'pending':
      return (s) => stateOf(s) === 'Pending';
    case 'approved':
      return (s) => stateOf(s) === 'Approved';
    case 'active':
      return isAccessActive;
    case 'waiting':
    case 'waitingforscheduledtime':
    case 'scheduled':
      return (s) => stateOf(s) === 'WaitingForScheduledTime';
    case 'rejected':
      return (s) => stateOf(s) === 'Rejected';
    case 'withdrawn':
      return (s) => stateOf(s) === 'Withdrawn';
    case 'expired':
      return isExpired;
    case 'idleexpired':
      return (s) => stateOf(s) === 'IdleExpired';
    case 'timeout':
    case 'approvaltimeout':
      return (s) => stateOf(s) === 'ApprovalTimeout';
    default:
      return undefined;
  }
}

/** Parses state tokens; RequestError (400) naming the unsupported ones. */
export function parseStateFilter(tokens: readonly string[]): StatePredicate[] | undefined {
  const normalized = tokens.flatMap((t) => t.split(',')).map(normalizeState).filter((t) => t !== '');
  if (normalized.length === 0 || normalized.includes('all')) return undefined;
  const unsupported = normalized.filter((t) => statePredicate(t) === undefined);
  if (unsupported.length > 0) {
    throw new RequestError('BadRequest', 'invalid state filter', {
      details: `unsupported state filter value(s): ${unsupported.join(', ')}. Supported values: ${STATE_FILTERS.join(', ')}`,
    });
  }
  return normalized.map((t) => statePredicate(t) as StatePredicate);
}

export interface ApprovalMeta {
  canApprove: boolean;
  canReject: boolean;
  isRequester: boolean;
  isApprover: boolean;
  denialReason?: string;
  sessionState: string;
  stateMessage?: string;
}

function byWhom(session: BreakglassSession): string {
  return session.status?.approver ? ` by ${session.status.approver}` : '';
}

export class SessionQueries {
  constructor(private readonly deps: SessionDomainDeps) {}

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  /**
   * An approver check over many sessions. The decision depends only on the session's cluster,
   * group, owning escalation and whether the caller requested it, so it is computed once per
   * such combination: a list over 10,000 sessions makes a handful of real checks.
   */
  private approverCheck(caller: VerifiedIdentity) {
    const escalations = this.deps.escalations.list();
    const configs = this.deps.clusterConfigs.list();
    const byCluster = new Map<string, ClusterConfig | 'ambiguous' | undefined>();
    const decisions = new Map<string, boolean>();
    const namesCaller = requesterNamer(caller);
    return (session: BreakglassSession): boolean => {
      const cluster = session.spec.cluster;
      const owner = session.metadata?.ownerReferences?.find((ref) => ref.kind === 'BreakglassEscalation' && ref.controller === true);
      const self = namesCaller(session);
      const key = `${cluster}\u0000${session.spec.grantedGroup}\u0000${owner ? `${session.metadata?.namespace}/${owner.name}/${owner.uid}` : ''}\u0000${self}`;
      let allowed = decisions.get(key);
      if (allowed === undefined) {
        if (!byCluster.has(cluster)) byCluster.set(cluster, clusterConfigFor(configs, cluster));
        allowed = checkApprovalAuthorization({ caller, session, escalations, clusterConfig: byCluster.get(cluster) }).allowed;
        decisions.set(key, allowed);
      }
      return allowed;
    };
  }

  list(caller: VerifiedIdentity, query: SessionListQuery): BreakglassSession[] {
    const now = this.now();
    const states = parseStateFilter(query.state ?? []);
    const mine = query.mine === true;
    const approvedByMe = query.approvedByMe === true;
    const approver = query.approver ?? !(mine || approvedByMe);
    const identifiers = [caller.email, caller.username, caller.subject].filter((v): v is string => !!v).map((v) => v.toLowerCase());
    if (mine && identifiers.length === 0) throw new RequestError('Unauthenticated', 'user identity not found');
    const email = caller.email?.toLowerCase();
    if (approvedByMe && !email) throw new RequestError('Unauthenticated', 'email claim is required for approvedByMe filter');
    const mayApprove = approver ? this.approverCheck(caller) : undefined;
    const requested = mine ? requesterMatcher(caller) : undefined;

    const result: BreakglassSession[] = [];
    for (const session of this.deps.sessions.listCached()) {
      if (query.cluster && session.spec.cluster !== query.cluster) continue;
      if (query.user && session.spec.user !== query.user) continue;
      if (query.group && session.spec.grantedGroup !== query.group) continue;
      // The cheap filters first: an approver's inbox (state=pending) skips the approver check
      // for the many ended sessions.
      if (states !== undefined && !states.some((p) => p(session, now))) continue;
      if (query.activeOnly === true && !isAccessActive(session, now)) continue;
      const selected =
        (requested !== undefined && requested(session)) ||
        (approvedByMe &&
          email !== undefined &&
          (session.status?.approver?.toLowerCase() === email ||
            (session.status?.approvers ?? []).some((a) => a.toLowerCase() === email))) ||
        (mayApprove !== undefined && mayApprove(session));
      if (!selected) continue;
      result.push(publicSession(session));
    }
    result.sort((a, b) => (b.metadata?.creationTimestamp ?? '').localeCompare(a.metadata?.creationTimestamp ?? ''));
    return result;
  }

  /** One session with what the caller may do with it; 403 when the caller may not read it. */
  get(caller: VerifiedIdentity, session: BreakglassSession): { session: BreakglassSession; approvalMeta: ApprovalMeta } {
    const now = this.now();
    const requester = isRequester(caller, session);
    const email = caller.email?.toLowerCase();
    const decision = checkApprovalAuthorization({
      caller,
      session,
      escalations: this.deps.escalations.list(),
      clusterConfig: clusterConfigFor(this.deps.clusterConfigs.list(), session.spec.cluster),
    });
    const recordedApprover =
      email !== undefined &&
      (session.status?.approver?.toLowerCase() === email || (session.status?.approvers ?? []).some((a) => a.toLowerCase() === email));
    // Self-approval blocking still lets the requester read; any other denial is "not an approver".
    if (!requester && !recordedApprover && !decision.allowed) {
      if (decision.code === 'UNAUTHENTICATED') throw new RequestError('Unauthenticated', decision.message);
      throw new RequestError('Forbidden', 'not allowed to read this breakglass session');
    }
    const state = stateOf(session);
    const meta: ApprovalMeta = {
      canApprove: false,
      canReject: false,
      isRequester: requester,
      isApprover: decision.allowed,
      sessionState: state,
    };
    const stateMessage = this.stateMessage(session, now);
    if (stateMessage !== undefined) {
      meta.stateMessage = stateMessage;
    } else if (state !== 'Pending') {
      meta.denialReason = `Session is in unexpected state: ${state || '(none)'}`;
    } else {
      meta.canApprove = decision.allowed;
      meta.canReject = decision.allowed || requester;
      if (!decision.allowed) meta.denialReason = decision.message;
    }
    return { session: publicSession(session), approvalMeta: meta };
  }

  private stateMessage(session: BreakglassSession, now: Date): string | undefined {
    switch (stateOf(session)) {
      case 'Approved':
        return isExpired(session, now) ? 'This session has expired' : `This session has already been approved${byWhom(session)}`;
      case 'WaitingForScheduledTime':
        return `This session has already been approved${byWhom(session)}`;
      case 'Rejected':
        return `This session has already been rejected${byWhom(session)}`;
      case 'Withdrawn':
        return 'This session has been withdrawn by the requester';
      case 'Expired':
        return 'This session has expired';
      case 'ApprovalTimeout':
        return 'This session has timed out waiting for approval';
      case 'IdleExpired':
        return 'This session was expired due to inactivity';
      case 'Pending':
        return isApprovalTimedOut(session, now) ? 'This session has timed out waiting for approval' : undefined;
      default:
        return undefined;
    }
  }
}
