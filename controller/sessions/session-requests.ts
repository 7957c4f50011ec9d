/**
 * Requesting a session (reference §8.7, T1): identity, escalation matching, reasons, duration,
 * scheduled start, duplicates and limits, then the object.
 *
 * A half-created session never grants or blocks anything: the object is created without a
 * state (which neither grants access nor occupies a request slot, predicates.ts) and only the
 * status write of T1 makes it Pending. If that write fails, the object is deleted again (uid +
 * resourceVersion precondition); if even that fails, what remains is a stateless object that
 * the webhook ignores and the duplicate check does not count.
 */
import {
  API_VERSION,
  REQUESTER_EMAIL_ANNOTATION,
  type BreakglassEscalation,
  type BreakglassSession,
  type BreakglassSessionSpec,
  type ClusterConfig,
} from '../../crds/index.ts';
import { setTimeout as delay } from 'node:timers/promises';
import { formatDuration } from '../../crds/durations.ts';
import {
  findClusterConfig,
  isClusterConfigUsable,
  isEscalationReady,
  matchesCluster,
  matchesGroups,
  requestIdentityProviders,
} from '../escalations/matching.ts';
import type { VerifiedIdentity } from '../identity/identity.ts';
import type { Logger } from '../observability/logger.ts';
import { occupiesSlot, stateOf } from './predicates.ts';
import { sanitizeRequestReason } from './reasons.ts';
import { RequestError } from './request-errors.ts';
import { publicSession, type SessionDomainDeps } from './session-context.ts';
import { positiveDuration, DEFAULT_APPROVAL_TIMEOUT_MS, DEFAULT_MAX_VALID_FOR_MS } from './session-durations.ts';
import { GROUP_LABEL, labelValue, sessionGenerateName, sessionLabels, tripleSelector, USER_LABEL } from './session-labels.ts';
import { limitViolation, sessionLimitsFor, type SessionLimits } from './session-limits.ts';
import { SessionCreateRefusedError } from './session-store.ts';
import { transition } from './state-machine.ts';
import { parseTime } from './timestamps.ts';

export interface SessionRequestInput {
  cluster: string;
  /** Optional: must be one of the caller's identifiers when given. */
  user?: string;
  group: string;
  reason?: string;
  /** Requested validity in seconds (60 .. escalation maxValidFor). */
  duration?: number;
  /** RFC 3339; the session starts then instead of at approval. */
  scheduledStartTime?: string;
}

export const MIN_DURATION_SECONDS = 60;

type IdentifierClaim = 'email' | 'preferred_username' | 'sub';

function identifierFor(caller: VerifiedIdentity, claim: IdentifierClaim): string | undefined {
  const value = claim === 'email' ? caller.email : claim === 'preferred_username' ? caller.username : caller.subject;
  return value === undefined || value === '' ? undefined : value;
}

function required(value: string | undefined, field: string): string {
  const trimmed = value?.trim() ?? '';
  if (trimmed === '') throw new RequestError('Unprocessable', `missing input request data: ${field} is required`);
  return trimmed;
}

/** The escalation a request is made under, and the ClusterConfig of its cluster (if any). */
export function resolveRequestEscalation(
  caller: VerifiedIdentity,
  cluster: string,
  group: string,
  escalations: readonly BreakglassEscalation[],
  clusterConfigs: readonly ClusterConfig[],
): { escalation: BreakglassEscalation; clusterConfig: ClusterConfig | undefined } {
  const groups = caller.groups ?? [];
  const matching = escalations.filter((e) => {
    if (!matchesCluster(e, cluster) || !matchesGroups(e, groups)) return false;
    const idps = requestIdentityProviders(e);
    return idps.length === 0 || idps.includes(caller.identityProvider);
  });
  const details =
    caller.groups === undefined ? 'the token carries no groups claim' : `caller groups: [${groups.join(', ')}]`;
  if (!matching.some((e) => e.spec.escalatedGroup === group)) {
    throw new RequestError('Forbidden', 'user not authorized for requested group', { details });
  }
  const ready = matching.filter((e) => e.spec.escalatedGroup === group && isEscalationReady(e));
  if (ready.length === 0) throw new RequestError('Forbidden', 'requested cluster/escalation is not ready');
  const lookup = findClusterConfig(clusterConfigs, cluster);
  if (lookup.kind === 'ambiguous' || (lookup.kind === 'found' && !isClusterConfigUsable(lookup.config))) {
    throw new RequestError('Forbidden', 'requested ClusterConfig is not ready or is ambiguous');
  }
  // Several escalations may grant the same group; the oldest-named first is chosen, so every
  // replica chooses the same one.
  const escalation = [...ready].sort((a, b) =>
    `${a.metadata?.namespace}/${a.metadata?.name}`.localeCompare(`${b.metadata?.namespace}/${b.metadata?.name}`),
  )[0] as BreakglassEscalation;
  return { escalation, clusterConfig: lookup.kind === 'found' ? lookup.config : undefined };
}

/** The 409 answer for an existing session of the same (cluster, user, group). */
function duplicateError(existing: BreakglassSession): RequestError {
  const state = stateOf(existing);
  const message =
    state === 'Approved' || parseTime(existing.status?.approvedAt) !== undefined
      ? 'already approved'
      : state === 'Pending'
        ? 'already requested'
        : 'session exists';
  const { uid: _uid, resourceVersion: _rv, generation: _gen, ...metadata } = existing.metadata ?? {};
  void _uid;
  void _rv;
  void _gen;
  return new RequestError('Conflict', message, {
    session: publicSession({ ...existing, metadata }),
    details: `session ${existing.metadata?.namespace}/${existing.metadata?.name} is ${state}`,
  });
}

/** How long a request waits for a concurrent one, created after it, to get its first state or vanish. */
const RESOLUTION_WAIT_MS = 3000;
const RESOLUTION_POLL_MS = 50;

function sameRequest(a: BreakglassSession, b: BreakglassSession): boolean {
  return a.spec.cluster === b.spec.cluster && a.spec.user === b.spec.user && a.spec.grantedGroup === b.spec.grantedGroup;
}

/** A stateless session younger than a minute: maybe a concurrent request whose first status write is under way. */
function mayBeUnderCreation(session: BreakglassSession, now: Date): boolean {
  return stateOf(session) === '' && now.getTime() - Date.parse(session.metadata?.creationTimestamp ?? '') < 60_000;
}

/** Which of concurrently created duplicates stands: approved ones first, then the oldest, then by name. */
export function concurrentOrder(a: BreakglassSession, b: BreakglassSession): number {
  const rank = (s: BreakglassSession) => (stateOf(s) === 'Approved' || stateOf(s) === 'WaitingForScheduledTime' ? 0 : 1);
  return (
    rank(a) - rank(b) ||
    (a.metadata?.creationTimestamp ?? '').localeCompare(b.metadata?.creationTimestamp ?? '') ||
    (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? '')
  );
}

export class SessionRequests {
  /** Requests being created in this process, by cluster/user/group (the cross-request guard). */
  private readonly inFlight = new Set<string>();

  constructor(
    private readonly deps: SessionDomainDeps,
    private readonly logger: Logger,
  ) {}

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  async request(caller: VerifiedIdentity, input: SessionRequestInput): Promise<BreakglassSession> {
    const identifiers = [caller.email, caller.username, caller.subject].filter((v): v is string => !!v);
    if (identifiers.length === 0) throw new RequestError('Unauthenticated', 'user identity not found');
    const requestedUser = input.user?.trim();
    if (requestedUser && !identifiers.some((id) => id.toLowerCase() === requestedUser.toLowerCase())) {
      throw new RequestError('Forbidden', 'user identity mismatch', {
        details: 'user must be one of the email, preferred_username or sub claims of the token',
      });
    }
    const cluster = required(input.cluster, 'cluster');
    const group = required(input.group, 'group');
    const reason = sanitizeRequestReason(input.reason);
    if (!caller.email) throw new RequestError('Unauthenticated', 'email claim is required for session creation');

    const { escalation, clusterConfig } = resolveRequestEscalation(
      caller,
      cluster,
      group,
      this.deps.escalations.list(),
      this.deps.clusterConfigs.list(),
    );
    if (escalation.spec.requestReason?.mandatory === true && reason === '') {
      throw new RequestError('Unprocessable', 'missing required request reason', {
        ...(escalation.spec.requestReason.description ? { details: escalation.spec.requestReason.description } : {}),
      });
    }
    const claim = clusterConfig?.spec.userIdentifierClaim ?? 'email';
    const user = identifierFor(caller, claim);
    if (user === undefined) {
      throw new RequestError('Forbidden', `failed to extract user identifier (${claim}) from token`, {
        details: `ClusterConfig ${cluster} identifies users by the ${claim} claim`,
      });
    }
    const now = this.now();
    const spec = this.buildSpec({ caller, escalation, clusterConfig, cluster, user, group, reason, input, now });

    const key = `${cluster}/${user}/${group}`;
    if (this.inFlight.has(key)) throw new RequestError('Conflict', 'session creation already in progress');
    this.inFlight.add(key);
    try {
      // Fresh from the API server: a session just created on another replica may not be in this
      // replica's cache yet.
      const existing = await this.deps.sessions.listLive({ labelSelector: tripleSelector(cluster, user, group) });
      const duplicate = existing.find(
        (s) => s.spec.cluster === cluster && s.spec.user === user && s.spec.grantedGroup === group && occupiesSlot(s, now),
      );
      if (duplicate !== undefined) throw duplicateError(duplicate);

      const limits = sessionLimitsFor(
        escalation,
        caller.groups ?? [],
        this.deps.identityProviders.list().find((p) => p.metadata?.name === caller.identityProvider),
      );
      const violation = limitViolation({ limits, escalation, user, sessions: this.deps.sessions.listCached(), now });
      if (violation !== undefined) throw new RequestError('Unprocessable', violation);

      return await this.createPending(escalation, spec, user, caller, limits);
    } finally {
      this.inFlight.delete(key);
    }
  }

  private buildSpec(args: {
    caller: VerifiedIdentity;
    escalation: BreakglassEscalation;
    clusterConfig: ClusterConfig | undefined;
    cluster: string;
    user: string;
    group: string;
    reason: string;
    input: SessionRequestInput;
    now: Date;
  }): BreakglassSessionSpec {
    const { escalation, input } = args;
    const e = escalation.spec;
    const spec: BreakglassSessionSpec = {
      cluster: args.cluster,
      user: args.user,
      grantedGroup: args.group,
      identityProviderName: args.caller.identityProvider,
      identityProviderIssuer: args.caller.issuer,
      allowIDPMismatch: requestIdentityProviders(escalation).length === 0 && (args.clusterConfig?.spec.identityProviderRefs ?? []).length === 0,
    };
    if (args.reason !== '') spec.requestReason = args.reason;
    if (e.maxValidFor !== undefined) spec.maxValidFor = e.maxValidFor;
    if (e.retainFor !== undefined) spec.retainFor = e.retainFor;
    if (e.idleTimeout !== undefined) spec.idleTimeout = e.idleTimeout;
    if (e.denyPolicyRefs !== undefined && e.denyPolicyRefs.length > 0) spec.denyPolicyRefs = [...e.denyPolicyRefs];
    if (e.requestReason !== undefined) spec.requestReasonConfig = { ...e.requestReason };
    if (e.approvalReason !== undefined) spec.approvalReasonConfig = { ...e.approvalReason };

    if (input.duration !== undefined) {
      const maxMs = positiveDuration(e.maxValidFor) ?? DEFAULT_MAX_VALID_FOR_MS;
      const maxSeconds = Math.floor(maxMs / 1000);
      if (!Number.isInteger(input.duration) || input.duration < MIN_DURATION_SECONDS) {
        throw new RequestError('Unprocessable', 'invalid duration: duration must be at least 60 seconds (1 minute)', {
          details: `duration: ${input.duration}`,
        });
      }
      if (input.duration > maxSeconds) {
        throw new RequestError(
          'Unprocessable',
          `invalid duration: requested duration ${input.duration} seconds exceeds maximum allowed ${maxSeconds} seconds`,
        );
      }
      spec.maxValidFor = formatDuration(input.duration * 1000);
    }
    if (input.scheduledStartTime !== undefined) {
      const start = Date.parse(input.scheduledStartTime);
      if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.test(input.scheduledStartTime) || Number.isNaN(start)) {
        throw new RequestError('Unprocessable', 'invalid scheduledStartTime format (expected ISO 8601)', {
          details: `scheduledStartTime: ${input.scheduledStartTime.slice(0, 64)}`,
        });
      }
      if (start <= args.now.getTime()) throw new RequestError('Unprocessable', 'scheduledStartTime must be in the future');
      spec.scheduledStartTime = new Date(Math.floor(start / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    }
    return spec;
  }

  private async createPending(
    escalation: BreakglassEscalation,
    spec: BreakglassSessionSpec,
    user: string,
    caller: VerifiedIdentity,
    limits: SessionLimits,
  ): Promise<BreakglassSession> {
    const namespace = escalation.metadata?.namespace ?? '';
    const uid = escalation.metadata?.uid;
    if (!uid) throw new Error(`escalation ${namespace}/${escalation.metadata?.name} has no uid`);
    const body: BreakglassSession = {
      apiVersion: API_VERSION,
      kind: 'BreakglassSession',
      metadata: {
        generateName: sessionGenerateName(spec.cluster, spec.grantedGroup),
        namespace,
        labels: sessionLabels(spec.cluster, user, spec.grantedGroup),
        // Creation requires an email claim (checked above).
        annotations: { [REQUESTER_EMAIL_ANNOTATION]: (caller.email ?? '').toLowerCase() },
        ownerReferences: [
          {
            apiVersion: API_VERSION,
            kind: 'BreakglassEscalation',
            name: escalation.metadata?.name ?? '',
            uid,
            controller: true,
          },
        ],
      },
      spec,
    };
    let created: BreakglassSession;
    try {
      created = await this.deps.sessions.create(body);
    } catch (err) {
      if (err instanceof SessionCreateRefusedError) {
        throw new RequestError(err.status === 403 ? 'Forbidden' : err.status === 400 ? 'BadRequest' : 'Unprocessable', err.message);
      }
      throw err;
    }
    let lateViolation: string | undefined;
    try {
      lateViolation = await this.limitViolationAfterCreate(created, escalation, limits);
    } catch (err) {
      await this.removeHalfCreated(created);
      throw err;
    }
    if (lateViolation !== undefined) {
      await this.removeHalfCreated(created);
      throw new RequestError('Unprocessable', lateViolation, {
        details: 'found when checked again after creation: a request made at the same time holds the slot; if none stands, request again',
      });
    }
    const approvalTimeoutMs = positiveDuration(escalation.spec.approvalTimeout) ?? DEFAULT_APPROVAL_TIMEOUT_MS;
    const result = transition(created, { type: 'request', username: caller.email ?? user, approvalTimeoutMs }, this.now());
    let stored: BreakglassSession;
    try {
      stored = await this.deps.sessions.writeStatus(created, result.status, created.metadata?.resourceVersion ?? '');
    } catch (err) {
      await this.removeHalfCreated(created);
      throw err;
    }
    const winner = await this.concurrentDuplicateOf(stored);
    if (winner !== undefined) {
      // Another replica created the same request at the same moment; every replica picks the
      // same survivor, so exactly one of the two requests stands.
      try {
        const ended = transition(stored, { type: 'terminateDuplicate', survivor: winner.metadata?.name ?? '' }, this.now());
        await this.deps.sessions.writeStatus(stored, ended.status, stored.metadata?.resourceVersion ?? '');
      } catch (err) {
        // Left Pending, it is still a duplicate the cleanup loop ends (T15).
        this.logger.warn({ session: `${stored.metadata?.namespace}/${stored.metadata?.name}`, err: String(err) }, 'concurrent duplicate not withdrawn');
      }
      throw duplicateError(winner);
    }
    await this.deps.audit.record({
      action: 'requested',
      session: stored,
      actor: caller.email ?? user,
      ...(spec.requestReason ? { reason: spec.requestReason } : {}),
      identityProvider: caller.identityProvider,
    });
    return publicSession(stored);
  }

  /**
   * After creation: another session of the same (cluster, user, group) that was created
   * concurrently (possibly on another replica, past this replica's duplicate check) and wins
   * over `created` by CONCURRENT_ORDER; undefined when `created` stands.
   */
  private async concurrentDuplicateOf(created: BreakglassSession): Promise<BreakglassSession | undefined> {
    const { cluster, user, grantedGroup } = created.spec;
    const now = this.now();
    const others = (await this.deps.sessions.listLive({ labelSelector: tripleSelector(cluster, user, grantedGroup) })).filter(
      (s) =>
        s.metadata?.uid !== created.metadata?.uid &&
        sameRequest(s, created) &&
        (occupiesSlot(s, now) || mayBeUnderCreation(s, now)),
    );
    for (const candidate of [created, ...others].sort(concurrentOrder)) {
      if (candidate === created) return undefined;
      if (stateOf(candidate) !== '') return candidate;
      // A stateless winner may be half-created: its first status write failed and its creator is
      // deleting it. Withdrawing for it would leave the user with no request at all, so it is
      // re-read live: gone, replaced or ended, the next candidate decides.
      const live = await this.deps.sessions.getLive(candidate.metadata?.namespace ?? '', candidate.metadata?.name ?? '');
      if (live === undefined || live.metadata?.uid !== candidate.metadata?.uid) continue;
      if (stateOf(live) === '' || occupiesSlot(live, now)) return live;
    }
    return undefined;
  }

  /**
   * The limits again, now that `created` exists, from the API server (merged with the cache,
   * which also holds sessions created without labels); `created` itself does not count.
   *
   * A concurrent request under creation (stateless, younger than a minute) counts when it comes
   * before `created` in CONCURRENT_ORDER; one that comes after is waited for until it has a
   * state (it counts if it occupies a slot) or is gone. Of two racing requests the later-created
   * one always lists the earlier one, so this keeps at most the limit, and exactly one of two
   * racing requests for the last slot stands. One still unresolved after the wait counts.
   * Skipped, with no extra request, when no limit applies.
   */
  private async limitViolationAfterCreate(
    created: BreakglassSession,
    escalation: BreakglassEscalation,
    limits: SessionLimits,
  ): Promise<string | undefined> {
    if (limits.limits.length === 0) return undefined;
    const selectors = new Set<string>();
    for (const limit of limits.limits) {
      selectors.add(limit.scope === 'user' ? `${USER_LABEL}=${labelValue(created.spec.user)}` : `${GROUP_LABEL}=${labelValue(created.spec.grantedGroup)}`);
    }
    const byUid = new Map<string, BreakglassSession>();
    for (const session of this.deps.sessions.listCached()) byUid.set(session.metadata?.uid ?? '', session);
    for (const selector of selectors) {
      for (const session of await this.deps.sessions.listLive({ labelSelector: selector })) byUid.set(session.metadata?.uid ?? '', session);
    }
    byUid.delete(created.metadata?.uid ?? '');
    // A concurrent request for the same cluster, user and group is a duplicate, not a second
    // slot: concurrentDuplicateOf settles it with 409 and the session that stands.
    for (const [key, session] of byUid) if (sameRequest(session, created)) byUid.delete(key);

    const user = created.spec.user.toLowerCase();
    const uid = escalation.metadata?.uid;
    const relevant = (s: BreakglassSession) =>
      limits.limits.some((l) => (l.scope === 'user' ? s.spec.user.toLowerCase() === user : s.metadata?.ownerReferences?.some((r) => r.uid === uid)));
    const counted: BreakglassSession[] = [];
    const unresolved = new Set<string>();
    for (const session of byUid.values()) {
      if (!mayBeUnderCreation(session, this.now()) || !relevant(session)) {
        counted.push(session);
        continue;
      }
      // One that comes first is read once more, not waited for (it may be waiting for this
      // one): gone (a cache entry deleted since, a loser that withdrew) it does not count.
      const resolved = concurrentOrder(session, created) < 0 ? await this.liveStateOf(session) : await this.resolutionOf(session);
      if (resolved === 'unresolved') unresolved.add(session.metadata?.uid ?? '');
      else if (resolved !== undefined) counted.push(resolved);
    }
    const now = this.now();
    return limitViolation({
      limits,
      escalation,
      user: created.spec.user,
      sessions: [...counted, ...[...byUid.values()].filter((s) => unresolved.has(s.metadata?.uid ?? ''))],
      occupies: (s) => unresolved.has(s.metadata?.uid ?? '') || occupiesSlot(s, now),
      now,
    });
  }

  /** A session under creation, read live: as it is now, undefined when gone, 'unresolved' while still stateless. */
  private async liveStateOf(session: BreakglassSession): Promise<BreakglassSession | undefined | 'unresolved'> {
    const live = await this.deps.sessions.getLive(session.metadata?.namespace ?? '', session.metadata?.name ?? '');
    if (live === undefined || live.metadata?.uid !== session.metadata?.uid) return undefined;
    return stateOf(live) === '' ? 'unresolved' : live;
  }

  /** A session under creation, re-read until it has a state or is gone (undefined); 'unresolved' after the wait. */
  private async resolutionOf(session: BreakglassSession): Promise<BreakglassSession | undefined | 'unresolved'> {
    const deadline = Date.now() + RESOLUTION_WAIT_MS;
    for (;;) {
      const live = await this.deps.sessions.getLive(session.metadata?.namespace ?? '', session.metadata?.name ?? '');
      if (live === undefined || live.metadata?.uid !== session.metadata?.uid) return undefined;
      if (stateOf(live) !== '') return live;
      if (Date.now() >= deadline) return 'unresolved';
      await delay(RESOLUTION_POLL_MS);
    }
  }

  private async removeHalfCreated(created: BreakglassSession): Promise<void> {
    const namespace = created.metadata?.namespace ?? '';
    const name = created.metadata?.name ?? '';
    try {
      await this.deps.sessions.delete(namespace, name, {
        uid: created.metadata?.uid ?? '',
        resourceVersion: created.metadata?.resourceVersion ?? '',
      });
    } catch (err) {
      // What is left has no state: it grants nothing, and counts towards a session limit only
      // in its first minute; the cleanup loop deletes it.
      this.logger.error({ session: `${namespace}/${name}`, err: err instanceof Error ? err.message : String(err) }, 'half-created session not removed');
    }
  }
}
