/**
 * DenyPolicy `podSecurityRules` (reference §6.6): risk scoring of the pod a user wants to exec,
 * attach or port-forward into. Rules are compiled once per policy; evaluation reads the pod the
 * decision pipeline fetched (live, from the spoke) and, only when a selector needs them, the
 * namespace's labels.
 */
import { DEFAULT_POD_SECURITY_SUBRESOURCES, type BreakglassEscalationSpec, type PodSecurityRules } from '../../crds/index.ts';
import { compileNamespaceFilter, type CompiledNamespaceFilter, type Labels } from './namespace-filter.ts';

/** The parts of a core/v1 Pod that scoring reads (a V1Pod from client-node fits). */
export interface PodLike {
  metadata?: { name?: string; namespace?: string; labels?: Readonly<Record<string, string>> };
  spec?: {
    hostNetwork?: boolean;
    hostPID?: boolean;
    hostIPC?: boolean;
    securityContext?: { runAsUser?: number };
    containers?: readonly ContainerLike[];
    initContainers?: readonly ContainerLike[];
    ephemeralContainers?: readonly ContainerLike[];
    volumes?: readonly { name: string; hostPath?: { path?: string } }[];
  };
}

export interface ContainerLike {
  name: string;
  securityContext?: {
    privileged?: boolean;
    runAsUser?: number;
    capabilities?: { add?: readonly string[] };
  };
  volumeMounts?: readonly { name: string; readOnly?: boolean }[];
}

export type PodSecurityAction = 'allow' | 'warn' | 'deny';

export interface PodSecurityResult {
  readonly action: PodSecurityAction;
  readonly score: number;
  readonly factors: readonly string[];
  /** Why it was denied or warned; '' for a plain allow. */
  readonly reason: string;
  readonly exempt: boolean;
  readonly overrideApplied: boolean;
}

export const POD_UNAVAILABLE_REASON = 'pod spec unavailable for security evaluation (fail-closed)';

/** The escalation's `podSecurityOverrides`, compiled. */
export interface CompiledPodSecurityOverride {
  readonly maxAllowedScore: number | undefined;
  readonly exemptFactors: readonly string[];
  readonly namespaceScope: CompiledNamespaceFilter;
}

type Overrides = NonNullable<BreakglassEscalationSpec['podSecurityOverrides']>;

/** Undefined unless the override is enabled (§6.6 step 3). */
export function compilePodSecurityOverride(overrides: Overrides | undefined): CompiledPodSecurityOverride | undefined {
  if (overrides?.enabled !== true) return undefined;
  return {
    maxAllowedScore: overrides.maxAllowedScore,
    exemptFactors: (overrides.exemptFactors ?? []).map(factorEntry),
    namespaceScope: compileNamespaceFilter(overrides.namespaceScope),
  };
}

type TemplateVariable = 'Score' | 'Factors' | 'Pod' | 'Namespace';
interface TemplateValues {
  Score: number;
  Factors: readonly string[];
  Pod: string;
  Namespace: string;
}
type ReasonTemplate = (values: TemplateValues) => string;

const TEMPLATE_ACTION = /\{\{-?\s*\.(Score|Factors|Pod|Namespace)\s*-?\}\}/g;

/** The reference's Go template subset: `{{.Score}} {{.Factors}} {{.Pod}} {{.Namespace}}`. */
function compileReason(template: string | undefined, fallback: ReasonTemplate): ReasonTemplate {
  if (template === undefined || template === '') return fallback;
  const parts: (string | TemplateVariable)[] = [];
  const variables = new Set<number>();
  let last = 0;
  for (const match of template.matchAll(TEMPLATE_ACTION)) {
    parts.push(template.slice(last, match.index));
    variables.add(parts.length);
    parts.push(match[1] as TemplateVariable);
    last = match.index + match[0].length;
  }
  parts.push(template.slice(last));
  return (values) => {
    let out = '';
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i] as string;
      if (!variables.has(i)) out += part;
      else if (part === 'Factors') out += `[${values.Factors.join(' ')}]`; // Go's %v of a []string
      else out += String(values[part as TemplateVariable]);
    }
    return out;
  };
}

interface CompiledThreshold {
  readonly maxScore: number;
  readonly action: PodSecurityAction;
  readonly reason: ReasonTemplate;
}

export interface CompiledPodSecurityRules {
  readonly subresources: ReadonlySet<string>;
  readonly failMode: 'open' | 'closed';
  readonly weights: {
    readonly hostNetwork: number;
    readonly hostPID: number;
    readonly hostIPC: number;
    readonly privilegedContainer: number;
    readonly hostPathWritable: number;
    readonly hostPathReadOnly: number;
    readonly runAsRoot: number;
    readonly capabilities: ReadonlyMap<string, number>;
  };
  readonly thresholds: readonly CompiledThreshold[];
  readonly blockFactors: readonly string[];
  readonly exemptNamespaces: CompiledNamespaceFilter;
  readonly exemptPodLabels: readonly (readonly [string, string])[];
}

/** Capability names compare without the `CAP_` prefix and case-insensitively, as the kernel names them. */
function capabilityKey(name: string): string {
  const upper = name.toUpperCase();
  return upper.startsWith('CAP_') ? upper.slice(4) : upper;
}

/**
 * A blockFactors / exemptFactors entry in the form factors are reported in: the capability of
 * `capability:cap_sys_admin[:c]` as `SYS_ADMIN`, so that it matches what the scoring reports.
 */
function factorEntry(entry: string): string {
  const [kind, cap, ...rest] = entry.split(':');
  return kind === 'capability' && cap !== undefined && cap !== '' ? [kind, capabilityKey(cap), ...rest].join(':') : entry;
}

const defaultDenyReason: ReasonTemplate = (v) => `pod security risk score ${v.Score} exceeds threshold`;
const defaultWarnReason: ReasonTemplate = (v) => `pod security risk score ${v.Score} (factors: ${v.Factors.join(', ')})`;
const noReason: ReasonTemplate = () => '';

export function compilePodSecurityRules(rules: PodSecurityRules): CompiledPodSecurityRules {
  const risk = rules.riskFactors ?? {};
  return {
    subresources: new Set(rules.appliesTo?.subresources ?? DEFAULT_POD_SECURITY_SUBRESOURCES),
    failMode: rules.failMode ?? 'closed',
    weights: {
      hostNetwork: risk.hostNetwork ?? 0,
      hostPID: risk.hostPID ?? 0,
      hostIPC: risk.hostIPC ?? 0,
      privilegedContainer: risk.privilegedContainer ?? 0,
      hostPathWritable: risk.hostPathWritable ?? 0,
      hostPathReadOnly: risk.hostPathReadOnly ?? 0,
      runAsRoot: risk.runAsRoot ?? 0,
      capabilities: new Map(Object.entries(risk.capabilities ?? {}).map(([cap, weight]) => [capabilityKey(cap), weight])),
    },
    thresholds: (rules.thresholds ?? []).map((t) => ({
      maxScore: t.maxScore,
      action: t.action,
      reason: compileReason(t.reason, t.action === 'deny' ? defaultDenyReason : t.action === 'warn' ? defaultWarnReason : noReason),
    })),
    blockFactors: (rules.blockFactors ?? []).map(factorEntry),
    exemptNamespaces: compileNamespaceFilter(rules.exemptions?.namespaces),
    exemptPodLabels: Object.entries(rules.exemptions?.podLabels ?? {}),
  };
}

/** Whether the rules look at this request at all (core pods, a listed subresource, a pod name). */
export function podSecurityApplies(
  rules: CompiledPodSecurityRules,
  request: { readonly apiGroup: string; readonly resource: string; readonly subresource: string; readonly name: string },
): boolean {
  return request.apiGroup === '' && request.resource === 'pods' && request.name !== '' && rules.subresources.has(request.subresource);
}

/** `entry` names `factor` itself or a prefix of it: "privilegedContainer" covers "privilegedContainer:app". */
function factorMatches(entry: string, factor: string): boolean {
  return factor === entry || (factor.length > entry.length && factor.startsWith(entry) && factor[entry.length] === ':');
}

export interface PodRisk {
  readonly score: number;
  readonly factors: readonly string[];
}

/** §6.6 steps 4 and 6: the factors present and their summed weight. */
export function scorePod(rules: CompiledPodSecurityRules, pod: PodLike): PodRisk {
  const w = rules.weights;
  const spec = pod.spec ?? {};
  const factors: string[] = [];
  let score = 0;
  if (spec.hostNetwork === true) {
    factors.push('hostNetwork');
    score += w.hostNetwork;
  }
  if (spec.hostPID === true) {
    factors.push('hostPID');
    score += w.hostPID;
  }
  if (spec.hostIPC === true) {
    factors.push('hostIPC');
    score += w.hostIPC;
  }
  const podRunAsUser = spec.securityContext?.runAsUser;
  let privileged = false;
  let root = false;
  const writableMounts = new Set<string>();
  const mounted = new Set<string>();
  for (const list of [spec.containers, spec.initContainers, spec.ephemeralContainers]) {
    for (const container of list ?? []) {
      const context = container.securityContext;
      if (context?.privileged === true) {
        factors.push(`privilegedContainer:${container.name}`);
        privileged = true;
      }
      // The container's runAsUser overrides the pod's; either way the process runs as that user.
      if ((context?.runAsUser ?? podRunAsUser) === 0) {
        factors.push(`runAsRoot:${container.name}`);
        root = true;
      }
      for (const cap of context?.capabilities?.add ?? []) {
        const key = capabilityKey(cap);
        factors.push(`capability:${key}:${container.name}`);
        score += w.capabilities.get(key) ?? 0;
      }
      for (const mount of container.volumeMounts ?? []) {
        mounted.add(mount.name);
        if (mount.readOnly !== true) writableMounts.add(mount.name);
      }
    }
  }
  if (privileged) score += w.privilegedContainer;
  if (root) score += w.runAsRoot;
  for (const volume of spec.volumes ?? []) {
    if (volume.hostPath === undefined) continue;
    if (writableMounts.has(volume.name)) {
      factors.push(`hostPathWritable:${volume.name}`);
      score += w.hostPathWritable;
    } else {
      factors.push(`hostPathReadOnly:${volume.name}`);
      score += w.hostPathReadOnly;
    }
  }
  return { score, factors };
}

export interface PodSecurityInput {
  readonly namespace: string;
  readonly podName: string;
  /** undefined: the pod could not be read (not found, spoke error). */
  readonly pod: PodLike | undefined;
  /** The namespace's labels, fetched on first call; undefined when they cannot be read. */
  readonly namespaceLabels: () => Promise<Labels | undefined>;
  readonly override: CompiledPodSecurityOverride | undefined;
}

const EMPTY: readonly string[] = [];

function result(action: PodSecurityAction, reason: string, risk?: PodRisk, flags?: { exempt?: boolean; overrideApplied?: boolean }): PodSecurityResult {
  return {
    action,
    reason,
    score: risk?.score ?? 0,
    factors: risk?.factors ?? EMPTY,
    exempt: flags?.exempt ?? false,
    overrideApplied: flags?.overrideApplied ?? false,
  };
}

async function namespaceMatches(filter: CompiledNamespaceFilter, input: PodSecurityInput): Promise<boolean> {
  if (filter.empty) return false;
  if (filter.matchesName(input.namespace)) return true;
  if (!filter.hasSelectors) return false;
  // Unreadable labels: the selector cannot be shown to match, so no exemption (fail-closed).
  const labels = await input.namespaceLabels();
  return labels !== undefined && filter.matchesLabels(labels);
}

/** §6.6 steps 1-8 for one policy's rules. */
export async function evaluatePodSecurity(rules: CompiledPodSecurityRules, input: PodSecurityInput): Promise<PodSecurityResult> {
  const pod = input.pod;
  if (pod === undefined) {
    return rules.failMode === 'open' ? result('allow', '') : result('deny', POD_UNAVAILABLE_REASON);
  }
  if (await namespaceMatches(rules.exemptNamespaces, input)) return result('allow', '', undefined, { exempt: true });
  const podLabels = pod.metadata?.labels;
  if (rules.exemptPodLabels.length > 0 && podLabels !== undefined) {
    let all = true;
    for (const [key, value] of rules.exemptPodLabels) {
      if (!Object.prototype.hasOwnProperty.call(podLabels, key) || podLabels[key] !== value) {
        all = false;
        break;
      }
    }
    if (all) return result('allow', '', undefined, { exempt: true });
  }

  const override = input.override;
  const overrideApplies =
    override !== undefined && (override.namespaceScope.empty || (await namespaceMatches(override.namespaceScope, input)));
  const risk = scorePod(rules, pod);

  for (const entry of rules.blockFactors) {
    for (const factor of risk.factors) {
      if (!factorMatches(entry, factor)) continue;
      if (overrideApplies && override.exemptFactors.some((exempt) => factorMatches(exempt, factor))) continue;
      return result('deny', `blocked security factor detected: ${factor}`, risk);
    }
  }

  if (overrideApplies && override.maxAllowedScore !== undefined && risk.score <= override.maxAllowedScore) {
    return result('allow', '', risk, { overrideApplied: true });
  }

  const values: TemplateValues = { Score: risk.score, Factors: risk.factors, Pod: input.podName, Namespace: input.namespace };
  for (const threshold of rules.thresholds) {
    if (risk.score <= threshold.maxScore) return result(threshold.action, threshold.reason(values), risk);
  }
  // Deliberately stricter than the reference (which allows here): a score above every threshold
  // is riskier than the riskiest one the policy names, so it is denied.
  if (rules.thresholds.length > 0) return result('deny', defaultDenyReason(values), risk);
  return result('allow', '', risk);
}
