/**
 * Approve, reject, withdraw, drop and cancel (reference §8.9, §8.10) through the state machine.
 *
 * Each action reads the session fresh from the API server, decides on that read, and writes
 * the new status with the resourceVersion of that read. A concurrent change in between makes
 * the API server refuse the write (409), which is answered as a conflict: two racing actions
 * never both succeed, and a later one never overwrites an earlier one (no Withdrawn -> Approved).
 */
import type { BreakglassSession } from '../../crds/index.ts';
import { checkApprovalAuthorization, isRequester, type ApprovalDecision } from '../escalations/approver-authorization.ts';
import type { VerifiedIdentity } from '../identity/identity.ts';
import { isTerminal, stateOf } from './predicates.ts';
import { sanitizeApproverReason } from './reasons.ts';
import { RequestError } from './request-errors.ts';
import type { AuditAction } from './session-audit.ts';
import { clusterConfigFor, publicSession, type SessionDomainDeps } from './session-context.ts';
import { ConflictError, SessionNotFoundError } from './session-repository.ts';
import { transition, TransitionRefusedError, type SessionEvent } from './state-machine.ts';

/** An RFC 1123 subdomain, which every object name is. */
const OBJECT_NAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export type SessionAction = 'approve' | 'reject' | 'withdraw' | 'drop' | 'cancel';

const AUDIT_ACTIONS: Readonly<Record<SessionAction, AuditAction>> = {
  approve: 'approved',
  reject: 'rejected',
  withdraw: 'withdrawn',
  drop: 'dropped',
  cancel: 'canceled',
};

function stateName(session: BreakglassSession): string {
  return stateOf(session) || '(none)';
}

export class SessionActions {
  constructor(private readonly deps: SessionDomainDeps) {}

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  /**
   * Finds a session by name in any namespace: in the cache first, else with a live list (it may
   * have been created on another replica a moment ago). Two of the same name are refused.
   */
  async findByName(name: string): Promise<BreakglassSession> {
    // Not a valid object name: it cannot exist (and must not reach a field selector).
    if (!OBJECT_NAME.test(name)) throw new RequestError('NotFound', 'session not found', { details: name.slice(0, 253) });
    let found = this.deps.sessions.listCached().filter((s) => s.metadata?.name === name);
    if (found.length === 0) found = await this.deps.sessions.listLive({ fieldSelector: `metadata.name=${name}` });
    if (found.length === 0) throw new RequestError('NotFound', 'session not found', { details: name });
    if (found.length > 1) {
      throw new RequestError('Conflict', 'session name is ambiguous', {
        details: `sessions named ${name} exist in namespaces ${found.map((s) => s.metadata?.namespace).join(', ')}`,
      });
    }
    return found[0] as BreakglassSession;
  }

  /** The §8.8 decision for `caller` on `session`. */
  approvalDecision(caller: VerifiedIdentity, session: BreakglassSession): ApprovalDecision {
    return checkApprovalAuthorization({
      caller,
      session,
      escalations: this.deps.escalations.list(),
      clusterConfig: clusterConfigFor(this.deps.clusterConfigs.list(), session.spec.cluster),
    });
  }

  async perform(caller: VerifiedIdentity, action: SessionAction, name: string, reasonText?: string): Promise<BreakglassSession> {
    const cached = await this.findByName(name);
    const namespace = cached.metadata?.namespace ?? '';
    const session = await this.deps.sessions.getLive(namespace, name);
    if (session === undefined) throw new RequestError('NotFound', 'session not found', { details: name });

    const actor = this.authorize(caller, action, session);
    const reason = sanitizeApproverReason(reasonText);
    const event = this.eventFor(action, actor, reason);
    const now = this.now();
    let result;
    try {
      result = transition(session, event, now);
    } catch (err) {
      if (err instanceof TransitionRefusedError) throw this.refusal(action, session, err);
      throw err;
    }
    let stored: BreakglassSession;
    try {
      stored = await this.deps.sessions.writeStatus(session, result.status, session.metadata?.resourceVersion ?? '');
    } catch (err) {
      if (err instanceof ConflictError) {
        const latest = await this.deps.sessions.getLive(namespace, name).catch(() => undefined);
        throw new RequestError('Conflict', 'session update conflict, please retry', {
          details: `the session changed while it was being ${AUDIT_ACTIONS[action]}${latest ? `; it is now ${stateName(latest)}` : ''}`,
          ...(latest ? { session: publicSession(latest) } : {}),
        });
      }
      if (err instanceof SessionNotFoundError) throw new RequestError('NotFound', 'session not found', { details: name });
      throw err;
    }
    await this.deps.audit.record({
      action: AUDIT_ACTIONS[action],
      session: stored,
      actor,
      ...(reason ? { reason } : {}),
      identityProvider: caller.identityProvider,
    });
    return publicSession(stored);
  }

  /** Who may do what; returns the actor name written into the status. Throws 401/403. */
  private authorize(caller: VerifiedIdentity, action: SessionAction, session: BreakglassSession): string {
    const requester = isRequester(caller, session);
    const actor = caller.email ?? caller.username ?? caller.subject;
    switch (action) {
      case 'withdraw':
      case 'drop':
        if (!requester) throw new RequestError('Forbidden', `only the session requester can ${action}`);
        return actor;
      case 'reject':
        // The requester may reject their own pending request without approver rights.
        if (requester && stateOf(session) === 'Pending') return actor;
        return this.requireApprover(caller, session, undefined);
      case 'approve':
        return this.requireApprover(caller, session, undefined);
      case 'cancel':
        return this.requireApprover(caller, session, 'only approvers can cancel sessions');
    }
  }

  private requireApprover(caller: VerifiedIdentity, session: BreakglassSession, hiddenMessage: string | undefined): string {
    const decision = this.approvalDecision(caller, session);
    if (decision.allowed) return caller.email as string;
    if (decision.code === 'UNAUTHENTICATED') throw new RequestError('Unauthenticated', decision.message);
    throw new RequestError('Forbidden', hiddenMessage ?? decision.message, hiddenMessage ? {} : { details: decision.code });
  }

  private eventFor(action: SessionAction, actor: string, reason: string): SessionEvent {
    switch (action) {
      case 'approve':
        return { type: 'approve', approver: actor, ...(reason ? { reason } : {}) };
      case 'reject':
        return { type: 'reject', approver: actor, ...(reason ? { reason } : {}) };
      case 'cancel':
        return { type: 'cancel', approver: actor };
      case 'withdraw':
        return { type: 'withdraw' };
      case 'drop':
        return { type: 'drop' };
    }
  }

  /** A refused transition as the caller sees it: the state named, 400 / 409 / 422. */
  private refusal(action: SessionAction, session: BreakglassSession, err: TransitionRefusedError): RequestError {
    const state = stateName(session);
    const publicCopy = publicSession(session);
    if (err.kind === 'ReasonRequired') {
      return new RequestError('Unprocessable', `missing required ${action === 'approve' ? 'approval' : 'rejection'} reason`, {
        details: err.message,
      });
    }
    if ((action === 'approve' || action === 'reject') && err.kind === 'InvalidState' && err.message.startsWith('session is already')) {
      return new RequestError('Conflict', 'session already in requested state', { details: err.message, session: publicCopy });
    }
    if ((action === 'approve' || action === 'reject') && err.kind === 'PreconditionFailed') {
      return new RequestError(
        'BadRequest',
        `session approval timeout has elapsed; cannot perform ${action === 'approve' ? 'approval' : 'rejection'}`,
        { details: err.message, session: publicCopy },
      );
    }
    switch (action) {
      case 'approve':
      case 'reject':
        return new RequestError('BadRequest', `session must be pending to perform ${action}; current state: ${state}`, {
          session: publicCopy,
        });
      case 'withdraw':
        return new RequestError('BadRequest', `Session is not pending and cannot be withdrawn; current state: ${state}`, {
          details: err.message,
        });
      case 'drop':
        return new RequestError(
          'BadRequest',
          isTerminal(session)
            ? `session is in terminal state ${state} and cannot be dropped`
            : `session cannot be dropped; current state: ${state}`,
          { details: err.message },
        );
      case 'cancel':
        return new RequestError('BadRequest', `Session is not active/approved and cannot be canceled by approver; current state: ${state}`, {
          details: err.message,
        });
    }
  }
}
