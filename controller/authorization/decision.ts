/**
 * The decision pipeline of the authorization webhook (reference §6.3), over injected lookups so
 * that it is plain logic: cluster lookup, the user's usable sessions (§6.4), impersonation guard,
 * DenyPolicies with pod security, the grant check of each session's group on the spoke, and for a
 * denial the escalations that would allow the request.
 *
 * Deliberate differences from the reference (spec §15):
 * - one grant check per session (its group, with the configured OIDC prefixes) instead of an
 *   extra "RBAC probe" of all groups; so every allow is attributed to a session and records
 *   activity (§15.11, §15.15);
 * - failures are typed (GrantCheckError), never classified by message text;
 * - the deny hint names only escalations a dry run on the spoke showed would allow the request,
 *   with their deep links, or says that none would (issue 9 item 4); the reference's
 *   "escalatedGroup == API group" discovery is not copied (§15.16);
 * - reasons never name sessions (§15.18).
 */
import type { BreakglassEscalation, BreakglassSession, ClusterConfig } from '../../crds/index.ts';
import type { Clock } from '../clock/clock.ts';
import { isUsableForAuthorization } from '../sessions/predicates.ts';
import type { ActivityTarget } from './activity.ts';
import { once, POLICY_EVALUATION_FAILED_REASON, type DenyAction, type DenyPolicyIndex, type PodSecurityWarning } from './deny-policy.ts';
import { GrantCheckError, type GrantChecker } from './grant-checker.ts';
import { impersonationRefusal, parseImpersonation } from './impersonation.ts';
import { clusterLabel, noopWebhookMetrics, type DecisionLabel, type DenySource, type WebhookMetrics, type WebhookPhase } from './metrics.ts';
import type { Labels } from './namespace-filter.ts';
import { compilePodSecurityOverride, type CompiledPodSecurityOverride, type PodLike } from './pod-security.ts';
import {
  clusterLink,
  clusterMissingReason,
  finalizeReason,
  hintUnavailable,
  idpMismatchNote,
  noneWouldAllowHint,
  nothingRequestableHint,
  policyDeniedReason,
  sessionAllowedReason,
  sessionChecksSkippedNote,
  sessionsDoNotAllowNote,
  wouldAllowHint,
  type RequestableEscalation,
} from './reasons.ts';
import { describeAction, issuerOf, type SubjectAccessReviewRequest } from './subject-access-review.ts';

/** An informer cache that has not completed its first list: no decision can be trusted. */
export class CacheNotSyncedError extends Error {
  constructor(readonly cache: string) {
    super(`${cache} cache has not synced`);
    this.name = 'CacheNotSyncedError';
  }
}

/** More than one ClusterConfig has the name (admission should prevent it, §1.6). */
export class AmbiguousClusterError extends Error {
  constructor(readonly cluster: string) {
    super(`more than one ClusterConfig is named ${cluster}`);
    this.name = 'AmbiguousClusterError';
  }
}

export interface ClusterDirectory {
  /** The ClusterConfig by name (across namespaces); throws CacheNotSyncedError or AmbiguousClusterError. */
  get(name: string): ClusterConfig | undefined;
}

export interface SessionDirectory {
  /** Sessions with spec.cluster and spec.user equal to these (an informer index); throws CacheNotSyncedError. */
  forClusterUser(cluster: string, user: string): readonly BreakglassSession[];
}

export interface EscalationDirectory {
  /** The escalation owning a session (its controller ownerReference), for podSecurityOverrides. */
  ownerOf(session: BreakglassSession): BreakglassEscalation | undefined;
}

/** The escalations `user` with `groups` may request on `cluster` (§4.3 matching). */
export interface RequestableEscalations {
  forUser(cluster: string, user: string, groups: readonly string[]): readonly RequestableEscalation[];
}

export interface SpokeObjects {
  /** The namespace's labels, live from the spoke; rejects when they cannot be read. */
  namespaceLabels(cluster: string, namespace: string): Promise<Labels>;
  /** The pod, live from the spoke; undefined when it does not exist; rejects on errors. */
  getPod(cluster: string, namespace: string, name: string): Promise<PodLike | undefined>;
}

export interface DecisionDependencies {
  readonly clusters: ClusterDirectory;
  readonly sessions: SessionDirectory;
  readonly escalations: EscalationDirectory;
  readonly requestable: RequestableEscalations;
  /** The compiled DenyPolicies; throws CacheNotSyncedError before the first list (-> fail-closed deny). */
  readonly denyPolicies: () => DenyPolicyIndex;
  readonly spoke: SpokeObjects;
  /** Usually a CachingGrantChecker. */
  readonly grants: GrantChecker;
  /** Usually an ActivityRecorder. */
  readonly activity: { record(target: ActivityTarget): void };
  readonly clock: Pick<Clock, 'now' | 'wallNow'>;
  readonly metrics?: WebhookMetrics;
}

export interface DecisionOptions {
  /** `frontend.baseURL`; links are omitted without it. */
  readonly frontendBaseUrl?: string;
  /** `kubernetes.oidcPrefixes`: a group is also checked with each prefix (the spoke may bind "oidc:<group>"). */
  readonly oidcPrefixes?: readonly string[];
  /** At most this many escalations are dry-run for the hint. Default 10. */
  readonly maxHintEscalations?: number;
  /** The IDP hint of §6.5 for a token issuer, e.g. "(Your token was authenticated by 'Corporate')". */
  readonly issuerHint?: (issuer: string) => string | undefined;
}

export type FailureKind = 'cache-not-synced' | 'spoke-unavailable' | 'ambiguous-cluster';

export type AuthorizationOutcome =
  | {
      readonly kind: 'decision';
      readonly allowed: boolean;
      readonly reason: string;
      readonly decision: DecisionLabel;
      readonly denySource: DenySource;
      /** The bounded `cluster` metrics label (§6.8). */
      readonly clusterLabel: string;
      /** The session whose group allowed the request. */
      readonly session?: BreakglassSession;
      readonly warnings: readonly PodSecurityWarning[];
    }
  | {
      /** HTTP 500 without body: the spoke's failurePolicy decides (§6.2, §6.7). */
      readonly kind: 'failure';
      readonly failure: FailureKind;
      readonly httpStatus: 500;
      readonly message: string;
      readonly clusterLabel: string;
    };

const SYSTEM_AUTHENTICATED = 'system:authenticated';
const NO_WARNINGS: readonly PodSecurityWarning[] = [];

export class AuthorizationPipeline {
  private readonly metrics: WebhookMetrics;
  private readonly prefixes: readonly string[];
  private readonly maxHints: number;
  /** Compiled overrides per escalation spec object (informer objects are replaced, never mutated). */
  private readonly overrides = new WeakMap<object, CompiledPodSecurityOverride | null>();
  /** The request-access link per cluster name (built on every decision otherwise; bounded, names come from the path). */
  private readonly links = new Map<string, string>();
  private readonly groupForms = new Map<string, readonly string[]>();

  constructor(
    private readonly deps: DecisionDependencies,
    private readonly options: DecisionOptions = {},
  ) {
    this.metrics = deps.metrics ?? noopWebhookMetrics;
    this.prefixes = options.oidcPrefixes ?? [];
    this.maxHints = options.maxHintEscalations ?? 10;
  }

  /** Decides one SubjectAccessReview for the cluster named in the path. */
  async authorize(clusterName: string, review: SubjectAccessReviewRequest): Promise<AuthorizationOutcome> {
    const deps = this.deps;
    let label = clusterLabel(clusterName, false);
    let phaseStart = deps.clock.now();
    const phase = (name: WebhookPhase): void => {
      const now = deps.clock.now();
      this.metrics.observePhase(label, name, (now - phaseStart) / 1000);
      phaseStart = now;
    };
    const failure = (kind: FailureKind, message: string): AuthorizationOutcome => ({
      kind: 'failure',
      failure: kind,
      httpStatus: 500,
      message,
      clusterLabel: label,
    });
    const link = this.linkFor(clusterName);
    const deny = (reason: string, decision: DecisionLabel, denySource: DenySource, warnings = NO_WARNINGS): AuthorizationOutcome => ({
      kind: 'decision',
      allowed: false,
      reason,
      decision,
      denySource,
      clusterLabel: label,
      warnings,
    });

    // cluster_config
    let cluster: ClusterConfig | undefined;
    try {
      cluster = deps.clusters.get(clusterName);
    } catch (error) {
      return lookupFailure(error, failure);
    }
    phase('cluster_config');
    if (cluster === undefined) {
      return deny(finalizeReason(clusterMissingReason(clusterName, describeAction(review)), false, link), 'cluster-missing', 'cluster-missing');
    }
    label = clusterLabel(clusterName, true);

    // sessions (§6.4): exact cluster and user, usable now; sessions from another IDP set aside.
    const now = deps.clock.wallNow();
    const issuer = issuerOf(review);
    let candidates: readonly BreakglassSession[];
    try {
      candidates = deps.sessions.forClusterUser(clusterName, review.user);
    } catch (error) {
      return lookupFailure(error, failure);
    }
    const usable: BreakglassSession[] = [];
    const mismatched: BreakglassSession[] = [];
    for (const session of candidates) {
      if (session.spec.cluster !== clusterName || session.spec.user !== review.user) continue;
      if (!isUsableForAuthorization(session, now)) continue;
      if (issuer !== '' && session.spec.allowIDPMismatch !== true && session.spec.identityProviderIssuer !== issuer) {
        mismatched.push(session);
      } else {
        usable.push(session);
      }
    }
    const sessionNames = usable.map((s) => s.metadata?.name ?? '');
    phase('sessions');

    const tenant = cluster.spec.tenant ?? '';
    let warnings = NO_WARNINGS;
    const resource = review.resource;
    if (resource !== undefined) {
      // impersonation
      const impersonation = parseImpersonation(resource);
      if (impersonation.kind !== 'none') {
        const refusal = impersonationRefusal(impersonation, cluster);
        if (refusal !== undefined) return deny(finalizeReason(`Impersonation denied: ${refusal}`, false, link), 'denied', 'global');
        if (impersonation.kind === 'impersonation') {
          let index: DenyPolicyIndex;
          try {
            index = deps.denyPolicies();
          } catch {
            return deny(POLICY_EVALUATION_FAILED_REASON, 'policy-error', 'policy-error');
          }
          const denial = index.evaluateImpersonation(impersonation.request, { cluster: clusterName, tenant, sessions: sessionNames });
          if (denial !== undefined) {
            return deny(finalizeReason(policyDeniedReason(denial.policy, denial.reason), false, link), 'denied', denial.pass);
          }
        }
      }
      phase('impersonation');

      // deny_policy
      let index: DenyPolicyIndex;
      try {
        index = deps.denyPolicies();
      } catch {
        return deny(POLICY_EVALUATION_FAILED_REASON, 'policy-error', 'policy-error');
      }
      if (index.size > 0) {
        const denyAction: DenyAction = {
          verb: resource.verb,
          apiGroup: resource.group,
          resource: resource.resource,
          subresource: resource.subresource,
          namespace: resource.namespace,
          name: resource.name,
          cluster: clusterName,
          tenant,
        };
        const outcome = await index.evaluate({
          action: denyAction,
          sessions: sessionNames,
          namespaceLabels: once(() =>
            deps.spoke.namespaceLabels(clusterName, resource.namespace).then(
              (labels) => labels,
              () => undefined,
            ),
          ),
          pod: once(() =>
            deps.spoke.getPod(clusterName, resource.namespace, resource.name).then(
              (pod) => pod,
              () => undefined,
            ),
          ),
          podSecurityOverride: this.podSecurityOverride(usable),
        });
        warnings = outcome.warnings;
        if (outcome.denied) {
          if (outcome.cause === 'labels') return deny(POLICY_EVALUATION_FAILED_REASON, 'policy-error', 'policy-error', warnings);
          const reason = policyDeniedReason(outcome.policy, outcome.detail);
          // A global policy denies whatever the user requests, so no escalation is suggested.
          const suffix =
            outcome.pass === 'global'
              ? 'no breakglass escalation can allow this request'
              : 'a breakglass escalation that is not subject to this policy may allow it';
          return deny(finalizeReason(`${reason}; ${suffix}`, false, link), 'denied', outcome.pass, warnings);
        }
      }
      phase('deny_policy');
    }

    // session_sars: each usable session's group on the spoke; the first that allows wins.
    let unavailable: GrantCheckError | undefined;
    let skipped: GrantCheckError | undefined;
    for (const session of usable) {
      const group = session.spec.grantedGroup;
      try {
        const groups = this.candidateGroups(group);
        // A cached answer without a promise: most decisions are answered from the grant cache.
        const allowed = deps.grants.cached?.(clusterName, groups, review) ?? (await deps.grants.allowed(clusterName, groups, review));
        this.metrics.observeSessionCheck(label, allowed ? 'allowed' : 'denied');
        if (!allowed) continue;
        phase('session_sars');
        deps.activity.record(activityTarget(session));
        this.metrics.observeActivity(label, group);
        return {
          kind: 'decision',
          allowed: true,
          reason: finalizeReason(sessionAllowedReason(session.metadata?.name ?? '', group), true, link),
          decision: 'allowed',
          denySource: '',
          clusterLabel: label,
          session,
          warnings,
        };
      } catch (error) {
        const checkError = asGrantCheckError(error, clusterName);
        this.metrics.observeSessionCheck(label, 'error');
        if (checkError.spokeUnavailable) unavailable ??= checkError;
        else skipped ??= checkError;
      }
    }
    phase('session_sars');
    if (unavailable !== undefined) return failure('spoke-unavailable', unavailable.message);
    if (skipped !== undefined) this.metrics.observeSessionChecksSkipped(label);

    // escalations: what the user could request that would allow this.
    const action = describeAction(review); // only denials describe the action
    const hint = await this.hint(clusterName, review, usable, mismatched, action, link);
    phase('escalations');

    const notes: string[] = [hint];
    if (usable.length > 0 && skipped === undefined) notes.unshift(sessionsDoNotAllowNote(usable.length, action));
    if (skipped !== undefined) notes.push(sessionChecksSkippedNote(usable.length, skipped.message));
    if (mismatched.length > 0 && issuer !== '') {
      const providers = [...new Set(mismatched.map((s) => s.spec.identityProviderName || s.spec.identityProviderIssuer || 'unknown'))];
      notes.push(idpMismatchNote(mismatched.length, providers));
    }
    const idp = issuer === '' ? undefined : this.options.issuerHint?.(issuer);
    if (idp !== undefined && idp !== '') notes.push(idp);
    return deny(notes.join(' '), 'denied', 'final', warnings);
  }

  private linkFor(cluster: string): string {
    let link = this.links.get(cluster);
    if (link === undefined) {
      link = clusterLink(this.options.frontendBaseUrl, cluster);
      if (this.links.size >= 1024) this.links.clear();
      this.links.set(cluster, link);
    }
    return link;
  }

  /** The group as granted, plus each OIDC-prefixed form (one SAR: RBAC allows if any group does); memoized per group. */
  private candidateGroups(group: string): readonly string[] {
    let groups = this.groupForms.get(group);
    if (groups === undefined) {
      const forms = [group];
      for (const prefix of this.prefixes) {
        const prefixed = prefix + group;
        if (!forms.includes(prefixed)) forms.push(prefixed);
      }
      groups = forms;
      // Groups come from sessions and escalations, but a bound costs nothing.
      if (this.groupForms.size >= 1024) this.groupForms.clear();
      this.groupForms.set(group, groups);
    }
    return groups;
  }

  /** The first enabled podSecurityOverrides among the escalations owning the usable sessions (§6.3 step 7). */
  private podSecurityOverride(sessions: readonly BreakglassSession[]): CompiledPodSecurityOverride | undefined {
    for (const session of sessions) {
      const overrides = this.deps.escalations.ownerOf(session)?.spec.podSecurityOverrides;
      if (overrides === undefined) continue;
      let compiled = this.overrides.get(overrides);
      if (compiled === undefined) {
        compiled = compilePodSecurityOverride(overrides) ?? null;
        this.overrides.set(overrides, compiled);
      }
      if (compiled !== null) return compiled;
    }
    return undefined;
  }

  /** Dry-runs the requestable escalations on the spoke and names those that would allow the request. */
  private async hint(
    cluster: string,
    review: SubjectAccessReviewRequest,
    usable: readonly BreakglassSession[],
    mismatched: readonly BreakglassSession[],
    action: string,
    link: string,
  ): Promise<string> {
    const held = new Set(usable.map((s) => s.spec.grantedGroup));
    const groups = new Set<string>([SYSTEM_AUTHENTICATED]);
    for (const session of [...usable, ...mismatched]) groups.add(session.spec.grantedGroup);
    for (const group of review.groups) groups.add(this.stripPrefix(group));
    let requestable: readonly RequestableEscalation[];
    try {
      requestable = this.deps.requestable.forUser(cluster, review.user, [...groups]);
    } catch {
      return hintUnavailable(link);
    }
    // A group the user already holds was just checked and does not allow it.
    const byGroup = new Map<string, RequestableEscalation>();
    for (const escalation of requestable) {
      if (!held.has(escalation.escalatedGroup) && !byGroup.has(escalation.escalatedGroup)) byGroup.set(escalation.escalatedGroup, escalation);
    }
    if (byGroup.size === 0) return requestable.length === 0 ? nothingRequestableHint(cluster) : noneWouldAllowHint(cluster, action);
    const tried = [...byGroup.values()].slice(0, this.maxHints);
    // Cached answers without a promise each; only the missing ones wait for the spoke, together.
    const grants = this.deps.grants;
    const results: ('yes' | 'no' | 'unknown')[] = [];
    const pending: Promise<void>[] = [];
    tried.forEach((e, i) => {
      const groups = this.candidateGroups(e.escalatedGroup);
      const cached = grants.cached?.(cluster, groups, review);
      if (cached !== undefined) results[i] = cached ? 'yes' : 'no';
      else {
        pending.push(
          grants.allowed(cluster, groups, review).then(
            (allowed) => void (results[i] = allowed ? 'yes' : 'no'),
            () => void (results[i] = 'unknown'),
          ),
        );
      }
    });
    if (pending.length > 0) await Promise.all(pending);
    const allowing = tried.filter((_, i) => results[i] === 'yes');
    if (allowing.length > 0) return wouldAllowHint(allowing, this.options.frontendBaseUrl, cluster);
    if (results.includes('unknown')) return hintUnavailable(link);
    return noneWouldAllowHint(cluster, action);
  }

  private stripPrefix(group: string): string {
    for (const prefix of this.prefixes) if (prefix !== '' && group.startsWith(prefix)) return group.slice(prefix.length);
    return group;
  }
}

function activityTarget(session: BreakglassSession): ActivityTarget {
  return {
    namespace: session.metadata?.namespace ?? '',
    name: session.metadata?.name ?? '',
    uid: session.metadata?.uid ?? '',
    resourceVersion: session.metadata?.resourceVersion ?? '',
    lastActivity: session.status?.lastActivity,
  };
}

function asGrantCheckError(error: unknown, cluster: string): GrantCheckError {
  return error instanceof GrantCheckError ? error : new GrantCheckError('unreachable', cluster, String(error), { cause: error });
}

function lookupFailure(error: unknown, failure: (kind: FailureKind, message: string) => AuthorizationOutcome): AuthorizationOutcome {
  if (error instanceof CacheNotSyncedError) return failure('cache-not-synced', error.message);
  if (error instanceof AmbiguousClusterError) return failure('ambiguous-cluster', error.message);
  throw error;
}
