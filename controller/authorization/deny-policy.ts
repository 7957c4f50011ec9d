/**
 * DenyPolicy evaluation (reference §2.5, §6.3 step 7, §6.6), compiled once per informer change so
 * that a decision does set lookups and precompiled glob tests only.
 *
 * Passes: a global pass (no session), then one pass per usable session so that
 * `appliesTo.sessions` can match. Policies without a sessions list see the same input in every
 * pass, so a session pass only evaluates the session-scoped ones; the outcome equals evaluating
 * everything again, without the repeated work. Within a pass policies run by precedence
 * (ascending, stable); the first matching rule denies, else podSecurityRules may deny.
 */
import { DENY_POLICY_DEFAULT_PRECEDENCE, type DenyPolicy, type DenyRule } from '../../crds/index.ts';
import { compileGlob } from '../../crds/validation/checks.ts';
import { compileImpersonationRule, type CompiledImpersonationRule, type ImpersonationRequest } from './impersonation.ts';
import { compileNamespaceFilter, type CompiledNamespaceFilter, type Labels } from './namespace-filter.ts';
import {
  compilePodSecurityRules,
  evaluatePodSecurity,
  podSecurityApplies,
  type CompiledPodSecurityOverride,
  type CompiledPodSecurityRules,
  type PodLike,
  type PodSecurityResult,
} from './pod-security.ts';

/** What is being asked, as DenyPolicies see it (§6.3 step 7). */
export interface DenyAction {
  readonly verb: string;
  /** "" is the core group. */
  readonly apiGroup: string;
  readonly resource: string;
  readonly subresource: string;
  /** "" for cluster-scoped requests. */
  readonly namespace: string;
  readonly name: string;
  readonly cluster: string;
  /** ClusterConfig `spec.tenant`, "" when unset. */
  readonly tenant: string;
}

export interface DenyEvaluationInput {
  readonly action: DenyAction;
  /** Names of the user's usable sessions on this cluster. */
  readonly sessions: readonly string[];
  /** The namespace's labels, fetched at most once and only if a selector needs them; undefined = unreadable. */
  readonly namespaceLabels: () => Promise<Labels | undefined>;
  /** The target pod for exec/attach/portforward, fetched at most once; undefined = unreadable. */
  readonly pod: () => Promise<PodLike | undefined>;
  readonly podSecurityOverride: CompiledPodSecurityOverride | undefined;
}

export const POLICY_EVALUATION_FAILED_REASON = 'DenyPolicy evaluation failed; request denied fail-closed';

export interface PodSecurityWarning {
  readonly policy: string;
  readonly score: number;
  readonly factors: readonly string[];
  readonly reason: string;
}

export type DenyOutcome =
  | { readonly denied: false; readonly warnings: readonly PodSecurityWarning[] }
  | {
      readonly denied: true;
      /** `labels` when a selector needed namespace labels that could not be read (fail-closed). */
      readonly cause: 'rule' | 'pod-security' | 'labels';
      readonly policy: string;
      /** The pass that denied: `global` or `session` (§6.8 deny_source). */
      readonly pass: 'global' | 'session';
      /** The reason from pod security (a rule or label failure has none of its own). */
      readonly detail: string;
      readonly warnings: readonly PodSecurityWarning[];
    };

export interface ImpersonationDenial {
  readonly policy: string;
  /** The rule's `reason`, '' when it has none. */
  readonly reason: string;
  readonly pass: 'global' | 'session';
}

/** A `*`-aware string set: "each list must contain the value, a literal `*` matches anything". */
interface ValueSet {
  readonly any: boolean;
  readonly values: ReadonlySet<string>;
}

function valueSet(list: readonly string[]): ValueSet {
  return { any: list.includes('*'), values: new Set(list) };
}

const inSet = (set: ValueSet, value: string): boolean => set.any || set.values.has(value);

interface CompiledRule {
  readonly verbs: ValueSet;
  readonly apiGroups: ValueSet;
  readonly resources: ValueSet;
  /** undefined: any subresource (empty list; code behaviour of the reference, §2.5). */
  readonly subresources: ValueSet | undefined;
  /** undefined: any name. */
  readonly resourceNames: ((name: string) => boolean)[] | undefined;
  readonly namespaces: CompiledNamespaceFilter;
}

function compileRule(rule: DenyRule): CompiledRule {
  const subresources = rule.subresources ?? [];
  const names = rule.resourceNames ?? [];
  return {
    verbs: valueSet(rule.verbs),
    apiGroups: valueSet(rule.apiGroups),
    resources: valueSet(rule.resources),
    subresources: subresources.length === 0 ? undefined : valueSet(subresources),
    resourceNames: names.length === 0 || names.includes('*') ? undefined : names.map(compileGlob),
    namespaces: compileNamespaceFilter(rule.namespaces),
  };
}

interface CompiledPolicy {
  readonly name: string;
  readonly precedence: number;
  readonly clusters: ValueSet | undefined;
  readonly tenants: ValueSet | undefined;
  readonly sessions: ValueSet | undefined;
  readonly rules: readonly CompiledRule[];
  /** Union of the rules' verbs and resources: most requests skip a policy's rules on these two lookups. */
  readonly ruleVerbs: ValueSet;
  readonly ruleResources: ValueSet;
  readonly impersonationRules: readonly CompiledImpersonationRule[];
  readonly podSecurity: CompiledPodSecurityRules | undefined;
}

function optionalSet(list: readonly string[] | undefined): ValueSet | undefined {
  return list === undefined || list.length === 0 ? undefined : valueSet(list);
}

function compilePolicy(policy: DenyPolicy): CompiledPolicy {
  const spec = policy.spec;
  return {
    name: policy.metadata?.name ?? '',
    precedence: spec.precedence ?? DENY_POLICY_DEFAULT_PRECEDENCE,
    clusters: optionalSet(spec.appliesTo?.clusters),
    tenants: optionalSet(spec.appliesTo?.tenants),
    sessions: optionalSet(spec.appliesTo?.sessions),
    rules: (spec.rules ?? []).map(compileRule),
    ruleVerbs: valueSet((spec.rules ?? []).flatMap((r) => r.verbs)),
    ruleResources: valueSet((spec.rules ?? []).flatMap((r) => r.resources)),
    impersonationRules: (spec.impersonationRules ?? []).map(compileImpersonationRule),
    podSecurity: spec.podSecurityRules === undefined ? undefined : compilePodSecurityRules(spec.podSecurityRules),
  };
}

/** Policies in scope for one (cluster, tenant), split by whether they name sessions. */
interface ScopedPolicies {
  /** Evaluated in the global pass: no sessions list, or one containing `*`. */
  readonly global: readonly CompiledPolicy[];
  /** Evaluated per session: a sessions list without `*`. */
  readonly perSession: readonly CompiledPolicy[];
}

const NO_RULES: readonly CompiledRule[] = [];
const MAX_SCOPE_CACHE_ENTRIES = 1024;

/** Every rule matching except its namespace filter. */
function ruleMatchesRequest(rule: CompiledRule, action: DenyAction): boolean {
  if (!inSet(rule.verbs, action.verb) || !inSet(rule.apiGroups, action.apiGroup) || !inSet(rule.resources, action.resource)) {
    return false;
  }
  if (rule.subresources !== undefined && !inSet(rule.subresources, action.subresource)) return false;
  if (rule.resourceNames !== undefined) {
    let named = false;
    for (const glob of rule.resourceNames) {
      if (glob(action.name)) {
        named = true;
        break;
      }
    }
    if (!named) return false;
  }
  return true;
}

type NamespaceMatch = 'match' | 'no-match' | 'labels-unavailable';

/**
 * Empty filter: any namespace, cluster-scoped requests included (the reference's code). A
 * non-empty filter names namespaces, so it never matches a cluster-scoped request.
 */
async function namespaceMatch(filter: CompiledNamespaceFilter, input: DenyEvaluationInput): Promise<NamespaceMatch> {
  if (filter.empty) return 'match';
  const namespace = input.action.namespace;
  if (namespace === '') return 'no-match';
  if (filter.matchesName(namespace)) return 'match';
  if (!filter.hasSelectors) return 'no-match';
  const labels = await input.namespaceLabels();
  if (labels === undefined) return 'labels-unavailable';
  return filter.matchesLabels(labels) ? 'match' : 'no-match';
}

export class DenyPolicyIndex {
  private readonly policies: readonly CompiledPolicy[];
  private readonly scopes = new Map<string, ScopedPolicies>();

  /** Compiles the policies (once per change of the DenyPolicy cache, not per request). */
  constructor(policies: readonly DenyPolicy[]) {
    // Array.prototype.sort is stable: equal precedence keeps the given order.
    this.policies = policies.map(compilePolicy).sort((a, b) => a.precedence - b.precedence);
  }

  get size(): number {
    return this.policies.length;
  }

  /** Evaluates the global pass, then each session's pass; first deny wins. */
  async evaluate(input: DenyEvaluationInput): Promise<DenyOutcome> {
    const scoped = this.scoped(input.action.cluster, input.action.tenant);
    const warnings: PodSecurityWarning[] = [];
    if (scoped.global.length === 0 && scoped.perSession.length === 0) return { denied: false, warnings };
    for (const policy of scoped.global) {
      const result = this.evaluatePolicy(policy, input, 'global', warnings);
      const denied = result instanceof Promise ? await result : result;
      if (denied !== undefined) return denied;
    }
    if (scoped.perSession.length > 0) {
      for (const session of input.sessions) {
        for (const policy of scoped.perSession) {
          if (!(policy.sessions as ValueSet).values.has(session)) continue;
          const result = this.evaluatePolicy(policy, input, 'session', warnings);
          const denied = result instanceof Promise ? await result : result;
          if (denied !== undefined) return denied;
        }
      }
    }
    return { denied: false, warnings };
  }

  /**
   * DenyPolicy `impersonationRules` (§6.3 step 6): global pass, then per session; the first
   * matching rule denies.
   */
  evaluateImpersonation(
    request: ImpersonationRequest,
    scope: { readonly cluster: string; readonly tenant: string; readonly sessions: readonly string[] },
  ): ImpersonationDenial | undefined {
    const scoped = this.scoped(scope.cluster, scope.tenant);
    for (const policy of scoped.global) {
      const rule = policy.impersonationRules.find((r) => r.matches(request));
      if (rule !== undefined) return { policy: policy.name, reason: rule.reason, pass: 'global' };
    }
    for (const session of scope.sessions) {
      for (const policy of scoped.perSession) {
        if (!(policy.sessions as ValueSet).values.has(session)) continue;
        const rule = policy.impersonationRules.find((r) => r.matches(request));
        if (rule !== undefined) return { policy: policy.name, reason: rule.reason, pass: 'session' };
      }
    }
    return undefined;
  }

  private scoped(cluster: string, tenant: string): ScopedPolicies {
    const key = `${cluster}\u0000${tenant}`;
    const cached = this.scopes.get(key);
    if (cached !== undefined) return cached;
    const global: CompiledPolicy[] = [];
    const perSession: CompiledPolicy[] = [];
    for (const policy of this.policies) {
      if (policy.clusters !== undefined && !inSet(policy.clusters, cluster)) continue;
      if (policy.tenants !== undefined && !inSet(policy.tenants, tenant)) continue;
      if (policy.sessions === undefined || policy.sessions.any) global.push(policy);
      else perSession.push(policy);
    }
    const entry: ScopedPolicies = { global, perSession };
    // Bounded: cluster names come from ClusterConfigs, but a bound costs nothing.
    if (this.scopes.size >= MAX_SCOPE_CACHE_ENTRIES) this.scopes.clear();
    this.scopes.set(key, entry);
    return entry;
  }

  /**
   * One policy: synchronous unless a rule needs the namespace's labels or pod security needs the
   * pod, so that the common case costs no promise per policy.
   */
  private evaluatePolicy(
    policy: CompiledPolicy,
    input: DenyEvaluationInput,
    pass: 'global' | 'session',
    warnings: PodSecurityWarning[],
  ): DenyOutcome | undefined | Promise<DenyOutcome | undefined> {
    const action = input.action;
    const rules = inSet(policy.ruleVerbs, action.verb) && inSet(policy.ruleResources, action.resource) ? policy.rules : NO_RULES;
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i] as CompiledRule;
      if (!ruleMatchesRequest(rule, action)) continue;
      const filter = rule.namespaces;
      if (filter.empty || (action.namespace !== '' && filter.matchesName(action.namespace))) {
        return { denied: true, cause: 'rule', policy: policy.name, pass, detail: '', warnings };
      }
      if (action.namespace !== '' && filter.hasSelectors) return this.evaluateFromRule(policy, i, input, pass, warnings);
    }
    return this.evaluatePodSecurityOf(policy, input, pass, warnings);
  }

  /** The rest of a policy from rule `from` on, once labels may be needed. */
  private async evaluateFromRule(
    policy: CompiledPolicy,
    from: number,
    input: DenyEvaluationInput,
    pass: 'global' | 'session',
    warnings: PodSecurityWarning[],
  ): Promise<DenyOutcome | undefined> {
    const rules = policy.rules;
    for (let i = from; i < rules.length; i++) {
      const rule = rules[i] as CompiledRule;
      if (!ruleMatchesRequest(rule, input.action)) continue;
      const match = await namespaceMatch(rule.namespaces, input);
      if (match === 'no-match') continue;
      const cause = match === 'match' ? 'rule' : 'labels';
      return { denied: true, cause, policy: policy.name, pass, detail: '', warnings };
    }
    return this.evaluatePodSecurityOf(policy, input, pass, warnings);
  }

  private evaluatePodSecurityOf(
    policy: CompiledPolicy,
    input: DenyEvaluationInput,
    pass: 'global' | 'session',
    warnings: PodSecurityWarning[],
  ): Promise<DenyOutcome | undefined> | undefined {
    const action = input.action;
    const podSecurity = policy.podSecurity;
    if (podSecurity === undefined || !podSecurityApplies(podSecurity, action)) {
      return undefined;
    }
    return (async () => {
      const result: PodSecurityResult = await evaluatePodSecurity(podSecurity, {
        namespace: action.namespace,
        podName: action.name,
        pod: await input.pod(),
        namespaceLabels: input.namespaceLabels,
        override: input.podSecurityOverride,
      });
      if (result.action === 'deny') {
        return { denied: true, cause: 'pod-security', policy: policy.name, pass, detail: result.reason, warnings } as const;
      }
      if (result.action === 'warn') {
        warnings.push({ policy: policy.name, score: result.score, factors: result.factors, reason: result.reason });
      }
      return undefined;
    })();
  }
}

/** Wraps a loader so it runs at most once per request, on first use. */
export function once<T>(load: () => Promise<T>): () => Promise<T> {
  let promise: Promise<T> | undefined;
  return () => (promise ??= load());
}
