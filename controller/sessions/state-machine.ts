/**
 * The session state machine (reference §3.3): the one place where session transitions are
 * defined and checked.
 *
 * Every status change of a BreakglassSession (REST actions, the cleanup loop, cluster deletion)
 * is computed by `transition()`. It refuses what the table does not allow and returns the
 * complete new status (state, timestamps, condition, reasonEnded, retainedUntil); callers only
 * write that status with the resourceVersion they read. Deletions (T18, T19) are not status
 * transitions; their predicates live in predicates.ts.
 */
import type { BreakglassSession, BreakglassSessionStatus, Condition, SessionState } from '../../crds/index.ts';
import { formatDuration } from '../../crds/durations.ts';
import { setCondition, type ConditionInput } from './conditions.ts';
import {
  isApprovalTimedOut,
  isExpired,
  isIdle,
  isPendingApproval,
  stateOf,
} from './predicates.ts';
import {
  DEFAULT_APPROVAL_TIMEOUT_MS,
  idleTimeoutMs,
  maxValidForMs,
  retainForMs,
} from './session-durations.ts';
import { formatTime, parseTime } from './timestamps.ts';

/** What happened to a session. The actor's authorization is checked by the caller. */
export type SessionEvent =
  /** T1: a requester created the session. */
  | { type: 'request'; username: string; approvalTimeoutMs?: number }
  /** T2/T3: an authorized approver approved. */
  | { type: 'approve'; approver: string; reason?: string }
  /** T7: an authorized approver (or the requester) rejected. */
  | { type: 'reject'; approver: string; reason?: string }
  /** T8: the requester withdrew a pending request. */
  | { type: 'withdraw' }
  /** T9/T10: the requester dropped the session. */
  | { type: 'drop' }
  /** T11: an authorized approver canceled an approved session. */
  | { type: 'cancel'; approver: string }
  /** T4/T5/T6: the cleanup loop found a waiting session whose start is due (or missing). */
  | { type: 'activateScheduled' }
  /** T12: the cleanup loop found a pending session past its approval deadline. */
  | { type: 'approvalTimeout' }
  /** T13: the cleanup loop found an approved session past expiresAt. */
  | { type: 'expire' }
  /** T14: the cleanup loop found an approved session idle for longer than its idle timeout. */
  | { type: 'idleExpire' }
  /** T15/T16: the cleanup loop ends a duplicate of `survivor` (same cluster, user and group). */
  | { type: 'terminateDuplicate'; survivor: string }
  /** T17: the session's ClusterConfig was deleted. */
  | { type: 'clusterDeleted'; cluster: string };

export type SessionEventType = SessionEvent['type'];

export type TransitionId =
  | 'T1' | 'T2' | 'T3' | 'T4' | 'T5' | 'T6' | 'T7' | 'T8' | 'T9'
  | 'T10' | 'T11' | 'T12' | 'T13' | 'T14' | 'T15' | 'T16' | 'T17';

export interface TransitionResult {
  id: TransitionId;
  from: SessionState | '';
  to: SessionState;
  /** The complete status to write (replaces the old one). */
  status: BreakglassSessionStatus;
  /** The condition this transition set (also contained in status.conditions). */
  condition: Condition;
}

export type RefusalKind =
  /** The session's state does not allow this event at all. */
  | 'InvalidState'
  /** The state allows it, but a time or field precondition does not hold (now). */
  | 'PreconditionFailed'
  /** The escalation demands an approver reason and none was given. */
  | 'ReasonRequired';

/** A transition the table does not allow. */
export class TransitionRefusedError extends Error {
  constructor(
    readonly kind: RefusalKind,
    readonly event: SessionEventType,
    readonly state: SessionState | '',
    message: string,
  ) {
    super(message);
    this.name = 'TransitionRefusedError';
  }
}

/** What a rule writes besides the state, the condition and observedGeneration. */
interface Writes {
  set: Partial<BreakglassSessionStatus>;
  clear?: readonly (keyof BreakglassSessionStatus)[];
  condition: ConditionInput;
}

/** Values every rule's `write` may use. */
interface WriteContext<E extends SessionEvent> {
  session: BreakglassSession;
  status: BreakglassSessionStatus;
  event: E;
  /** now, truncated to whole seconds, as written. */
  now: number;
  nowText: string;
  /** now + spec.retainFor. */
  retainedUntil: string;
}

interface TransitionRule<E extends SessionEvent = SessionEvent> {
  id: TransitionId;
  event: E['type'];
  from: readonly (SessionState | '')[];
  to: SessionState;
  /** Selects among rules of the same event and state (e.g. immediate vs scheduled approval). */
  applies?(session: BreakglassSession, event: E, now: Date): boolean;
  /** Why the transition may not happen now; undefined when it may. */
  refuse?(session: BreakglassSession, event: E, now: Date): { kind: RefusalKind; message: string } | undefined;
  reasonEnded?: string;
  write(ctx: WriteContext<E>): Writes;
}

type EventOf<T extends SessionEventType> = Extract<SessionEvent, { type: T }>;

function rule<T extends SessionEventType>(definition: TransitionRule<EventOf<T>> & { event: T }): TransitionRule {
  return definition as unknown as TransitionRule;
}

const PENDING: readonly SessionState[] = ['Pending'];
const WAITING: readonly SessionState[] = ['WaitingForScheduledTime'];
const APPROVED: readonly SessionState[] = ['Approved'];
const APPROVED_OR_WAITING: readonly SessionState[] = ['Approved', 'WaitingForScheduledTime'];
const NON_TERMINAL: readonly SessionState[] = ['Pending', 'WaitingForScheduledTime', 'Approved'];

function hasTime(value: string | undefined): boolean {
  return parseTime(value) !== undefined;
}

function addApprover(approvers: readonly string[] | undefined, approver: string): string[] {
  const list = [...(approvers ?? [])];
  if (!list.includes(approver)) list.push(approver);
  return list;
}

/** Refusals shared by approve and reject (§8.9). */
function refuseDecision(conditionType: 'Approved' | 'Rejected') {
  return (
    session: BreakglassSession,
    event: EventOf<'approve'> | EventOf<'reject'>,
    now: Date,
  ): { kind: RefusalKind; message: string } | undefined => {
    if (isApprovalTimedOut(session, now)) {
      return { kind: 'PreconditionFailed', message: `session approval timed out at ${session.status?.timeoutAt}` };
    }
    const conditions = session.status?.conditions ?? [];
    if (conditions.length > 0 && conditions[conditions.length - 1]?.type === conditionType) {
      return { kind: 'InvalidState', message: `session is already ${conditionType.toLowerCase()}` };
    }
    const reasonConfig = session.spec.approvalReasonConfig;
    if (reasonConfig?.mandatory === true && (event.reason ?? '').trim() === '') {
      const hint = reasonConfig.description ? ` (${reasonConfig.description})` : '';
      return { kind: 'ReasonRequired', message: `reason is required${hint}` };
    }
    return undefined;
  };
}

function approvalWrites(ctx: WriteContext<EventOf<'approve'>>, expiresAt: number, immediate: boolean): Writes {
  const { event, status, nowText } = ctx;
  const reason = event.reason?.trim();
  return {
    set: {
      approvedAt: nowText,
      expiresAt: formatTime(expiresAt),
      approver: event.approver,
      approvers: addApprover(status.approvers, event.approver),
      ...(immediate ? { actualStartTime: nowText } : {}),
      ...(reason ? { approvalReason: reason } : {}),
    },
    clear: ['rejectedAt', 'timeoutAt', 'retainedUntil', ...(immediate ? [] : (['actualStartTime'] as const))],
    condition: {
      type: 'Approved',
      status: 'True',
      reason: 'EditedByApprover',
      message: `User "${event.approver}" set session to ${immediate ? 'Approved' : 'WaitingForScheduledTime'}`,
    },
  };
}

/** T5/T6: expiresAt becomes now unless it is already earlier. */
function expiredBeforeActivation(ctx: WriteContext<SessionEvent>, reason: string, message: string): Writes {
  const expiresAt = parseTime(ctx.status.expiresAt);
  return {
    set: {
      retainedUntil: ctx.retainedUntil,
      ...(expiresAt === undefined || expiresAt > ctx.now ? { expiresAt: ctx.nowText } : {}),
    },
    condition: { type: 'Expired', status: 'True', reason, message },
  };
}

/** The transition table (reference §3.3). Order matters only among rules of one event. */
export const TRANSITIONS: readonly TransitionRule[] = [
  rule({
    id: 'T1', event: 'request', from: [''], to: 'Pending',
    write: ({ event, now }) => ({
      set: { timeoutAt: formatTime(now + (event.approvalTimeoutMs ?? DEFAULT_APPROVAL_TIMEOUT_MS)) },
      condition: {
        type: 'Idle', status: 'True', reason: 'EditedByApprover',
        message: `User "${event.username}" requested session.`,
      },
    }),
  }),
  rule({
    id: 'T2', event: 'approve', from: PENDING, to: 'Approved',
    applies: (session) => !hasTime(session.spec.scheduledStartTime),
    refuse: refuseDecision('Approved'),
    write: (ctx) => approvalWrites(ctx, ctx.now + maxValidForMs(ctx.session), true),
  }),
  rule({
    id: 'T3', event: 'approve', from: PENDING, to: 'WaitingForScheduledTime',
    applies: (session) => hasTime(session.spec.scheduledStartTime),
    refuse: refuseDecision('Approved'),
    write: (ctx) =>
      approvalWrites(ctx, (parseTime(ctx.session.spec.scheduledStartTime) as number) + maxValidForMs(ctx.session), false),
  }),
  rule({
    id: 'T4', event: 'activateScheduled', from: WAITING, to: 'Approved',
    applies: (session, _event, now) => {
      const start = parseTime(session.spec.scheduledStartTime);
      const expiresAt = parseTime(session.status?.expiresAt);
      return start !== undefined && !(now.getTime() >= start && expiresAt !== undefined && now.getTime() >= expiresAt);
    },
    refuse: (session, _event, now) => {
      const start = parseTime(session.spec.scheduledStartTime) as number;
      return now.getTime() < start
        ? { kind: 'PreconditionFailed', message: `scheduled start time ${session.spec.scheduledStartTime} not reached` }
        : undefined;
    },
    write: ({ nowText }) => ({
      set: { actualStartTime: nowText },
      condition: {
        type: 'ScheduledStartTimeReached', status: 'True', reason: 'ActivationTriggered',
        message: 'Scheduled start time reached; session activated.',
      },
    }),
  }),
  rule({
    id: 'T5', event: 'activateScheduled', from: WAITING, to: 'Expired', reasonEnded: 'missingScheduledStartTime',
    applies: (session) => !hasTime(session.spec.scheduledStartTime),
    write: (ctx) =>
      expiredBeforeActivation(ctx, 'MissingScheduledStartTime', 'Session has no scheduled start time and cannot be activated.'),
  }),
  rule({
    id: 'T6', event: 'activateScheduled', from: WAITING, to: 'Expired',
    reasonEnded: 'scheduledSessionExpiredBeforeActivation',
    applies: (session, _event, now) => {
      const start = parseTime(session.spec.scheduledStartTime);
      const expiresAt = parseTime(session.status?.expiresAt);
      return start !== undefined && expiresAt !== undefined && now.getTime() >= start && now.getTime() >= expiresAt;
    },
    write: (ctx) =>
      expiredBeforeActivation(ctx, 'ScheduledSessionExpiredBeforeActivation', 'Scheduled session expired before it was activated.'),
  }),
  rule({
    id: 'T7', event: 'reject', from: PENDING, to: 'Rejected', reasonEnded: 'rejected',
    refuse: refuseDecision('Rejected'),
    write: ({ event, status, nowText, retainedUntil }) => {
      const reason = event.reason?.trim();
      return {
        set: {
          rejectedAt: nowText,
          retainedUntil,
          approver: event.approver,
          approvers: addApprover(status.approvers, event.approver),
          ...(reason ? { approvalReason: reason } : {}),
        },
        condition: {
          type: 'Rejected', status: 'True', reason: 'EditedByApprover',
          message: `User "${event.approver}" set session to Rejected`,
        },
      };
    },
  }),
  rule({
    id: 'T8', event: 'withdraw', from: PENDING, to: 'Withdrawn', reasonEnded: 'withdrawn',
    refuse: (session, _event, now) =>
      isPendingApproval(session, now)
        ? undefined
        : { kind: 'PreconditionFailed', message: `session approval timed out at ${session.status?.timeoutAt}` },
    write: ({ nowText, retainedUntil }) => ({
      set: { withdrawnAt: nowText, retainedUntil },
      clear: ['approver', 'approvers'],
      condition: { type: 'Canceled', status: 'True', reason: 'EditedByApprover', message: 'Session withdrawn by requester' },
    }),
  }),
  rule({
    id: 'T9', event: 'drop', from: NON_TERMINAL, to: 'Withdrawn', reasonEnded: 'withdrawn',
    applies: (session) => !hasTime(session.status?.approvedAt),
    write: ({ nowText, retainedUntil }) => ({
      set: { withdrawnAt: nowText, retainedUntil },
      clear: ['approver', 'approvers'],
      condition: { type: 'Canceled', status: 'True', reason: 'EditedByApprover', message: 'Session dropped by owner' },
    }),
  }),
  rule({
    id: 'T10', event: 'drop', from: APPROVED_OR_WAITING, to: 'Expired', reasonEnded: 'dropped',
    applies: (session) => hasTime(session.status?.approvedAt),
    write: ({ nowText, retainedUntil }) => ({
      set: { expiresAt: nowText, retainedUntil },
      condition: { type: 'Expired', status: 'True', reason: 'EditedByApprover', message: 'Session dropped by owner' },
    }),
  }),
  rule({
    id: 'T11', event: 'cancel', from: APPROVED_OR_WAITING, to: 'Expired', reasonEnded: 'canceled',
    refuse: (session) =>
      hasTime(session.status?.approvedAt)
        ? undefined
        : { kind: 'PreconditionFailed', message: 'session was never approved' },
    write: ({ event, status, nowText, retainedUntil }) => ({
      set: {
        expiresAt: nowText,
        retainedUntil,
        approver: event.approver,
        approvers: addApprover(status.approvers, event.approver),
      },
      condition: { type: 'Expired', status: 'True', reason: 'EditedByApprover', message: 'Session canceled by approver' },
    }),
  }),
  rule({
    id: 'T12', event: 'approvalTimeout', from: PENDING, to: 'ApprovalTimeout', reasonEnded: 'approvalTimeout',
    refuse: (session, _event, now) =>
      isApprovalTimedOut(session, now)
        ? undefined
        : { kind: 'PreconditionFailed', message: 'approval deadline (status.timeoutAt) not reached' },
    write: ({ retainedUntil }) => ({
      set: { retainedUntil },
      condition: { type: 'Expired', status: 'True', reason: 'ApprovalTimeout', message: 'Session approval timed out.' },
    }),
  }),
  rule({
    id: 'T13', event: 'expire', from: APPROVED, to: 'Expired', reasonEnded: 'timeExpired',
    refuse: (session, _event, now) =>
      isExpired(session, now)
        ? undefined
        : { kind: 'PreconditionFailed', message: 'session has not reached status.expiresAt' },
    write: ({ status, retainedUntil }) => ({
      set: { retainedUntil },
      condition: {
        type: 'Expired', status: 'True', reason: 'ExpiredByTime',
        message: `Session expired at ${status.expiresAt}.`,
      },
    }),
  }),
  rule({
    id: 'T14', event: 'idleExpire', from: APPROVED, to: 'IdleExpired', reasonEnded: 'idleTimeout',
    refuse: (session, _event, now) =>
      isIdle(session, now)
        ? undefined
        : { kind: 'PreconditionFailed', message: 'session is not idle for its spec.idleTimeout (plus the 65 s recorded activity may lag)' },
    write: ({ session, status, now, retainedUntil }) => {
      const idleFor = Math.floor((now - (parseTime(status.lastActivity) as number)) / 1000) * 1000;
      const timeout = formatDuration(idleTimeoutMs(session) as number);
      return {
        set: { retainedUntil },
        condition: {
          type: 'Idle', status: 'True', reason: 'IdleTimeout',
          message: `Session expired after ${formatDuration(idleFor)} of inactivity (idle timeout: ${timeout}).`,
        },
      };
    },
  }),
  rule({
    id: 'T15', event: 'terminateDuplicate', from: ['Pending', 'WaitingForScheduledTime'], to: 'Withdrawn',
    reasonEnded: 'withdrawn',
    write: ({ event, status, nowText, retainedUntil }) => ({
      set: {
        ...(hasTime(status.withdrawnAt) ? {} : { withdrawnAt: nowText }),
        ...(hasTime(status.retainedUntil) ? {} : { retainedUntil }),
      },
      condition: {
        type: 'Canceled', status: 'True', reason: 'DuplicateSessionWithdrawn',
        message: `Withdrawn as a duplicate of session ${event.survivor}.`,
      },
    }),
  }),
  rule({
    id: 'T16', event: 'terminateDuplicate', from: APPROVED, to: 'Expired', reasonEnded: 'duplicateCleanup',
    write: ({ event, status, nowText, retainedUntil }) => ({
      set: { expiresAt: nowText, ...(hasTime(status.retainedUntil) ? {} : { retainedUntil }) },
      condition: {
        type: 'Expired', status: 'True', reason: 'DuplicateSessionTerminated',
        message: `Terminated as a duplicate of session ${event.survivor}.`,
      },
    }),
  }),
  rule({
    id: 'T17', event: 'clusterDeleted', from: NON_TERMINAL, to: 'Expired', reasonEnded: 'clusterDeleted',
    write: ({ event, nowText, retainedUntil }) => ({
      set: { expiresAt: nowText, retainedUntil },
      condition: {
        type: 'Expired', status: 'True', reason: 'ExpiredByClusterDeletion',
        message: `ClusterConfig ${event.cluster} was deleted.`,
      },
    }),
  }),
];

/**
 * Computes the transition `event` causes on `session` at `now`.
 * Throws TransitionRefusedError when the table does not allow it.
 */
export function transition(session: BreakglassSession, event: SessionEvent, now: Date): TransitionResult {
  const from = stateOf(session);
  const candidates = TRANSITIONS.filter((r) => r.event === event.type && r.from.includes(from));
  if (candidates.length === 0) {
    throw new TransitionRefusedError(
      'InvalidState',
      event.type,
      from,
      `cannot ${event.type} a session in state ${from === '' ? '(none)' : from}`,
    );
  }
  const chosen = candidates.find((r) => r.applies === undefined || r.applies(session, event, now));
  if (chosen === undefined) {
    throw new TransitionRefusedError(
      'InvalidState',
      event.type,
      from,
      `cannot ${event.type} a session in state ${from} with its current status`,
    );
  }
  const refusal = chosen.refuse?.(session, event, now);
  if (refusal !== undefined) throw new TransitionRefusedError(refusal.kind, event.type, from, refusal.message);

  const nowMs = Math.floor(now.getTime() / 1000) * 1000;
  const previous: BreakglassSessionStatus = structuredClone(session.status ?? {});
  const writes = chosen.write({
    session,
    status: previous,
    event,
    now: nowMs,
    nowText: formatTime(nowMs),
    retainedUntil: formatTime(nowMs + retainForMs(session)),
  });
  const status: BreakglassSessionStatus = { ...previous, ...writes.set, state: chosen.to };
  for (const field of writes.clear ?? []) delete status[field];
  if (chosen.reasonEnded !== undefined) status.reasonEnded = chosen.reasonEnded;
  const generation = session.metadata?.generation;
  if (generation !== undefined) status.observedGeneration = generation;
  // Every rule changes the state, so its condition records a transition that happens now.
  status.conditions = setCondition(previous.conditions, writes.condition, new Date(nowMs), generation, { transition: true });
  const condition = status.conditions.find((c) => c.type === writes.condition.type) as Condition;
  return { id: chosen.id, from, to: chosen.to, status, condition };
}
