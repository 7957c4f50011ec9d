/**
 * The impersonation guard of reference §6.3 step 6: which SARs are about impersonation (legacy
 * `impersonate`, constrained `impersonate:<mode>` / `impersonate-on:<mode>:<verb>` of KEP-5284),
 * the fixed refusals (system:masters, any group, unrecognised verbs, legacy when forbidden), and
 * DenyPolicy `impersonationRules` compiled for matching.
 */
import { IMPERSONATION_MODES, type ClusterConfig, type ImpersonationRule } from '../../crds/index.ts';
import { compileGlob } from '../../crds/validation/checks.ts';
import { compileNamespaceFilter, type CompiledNamespaceFilter } from './namespace-filter.ts';
import type { ResourceAttributes } from './subject-access-review.ts';

const IDENTITY_RESOURCES = new Set(['users', 'groups', 'uids', 'userextras', 'serviceaccounts', 'nodes']);
const CONSTRAINED_MODES: ReadonlySet<string> = new Set(IMPERSONATION_MODES.filter((m) => m !== 'legacy'));

export interface ImpersonationRequest {
  /** `legacy` for the plain `impersonate` verb. */
  readonly mode: string;
  /** The verb to be performed as the impersonated identity (`impersonate-on:<mode>:<verb>`), or ''. */
  readonly actionVerb: string;
  /** users, groups, uids, userextras, serviceaccounts or nodes. */
  readonly identityResource: string;
  /** The impersonated identity (resource name); '' means any. */
  readonly identity: string;
  readonly namespace: string;
  /** For userextras: the extra key (the SAR's subresource). */
  readonly extraKey: string;
}

export type ImpersonationParse =
  | { readonly kind: 'none' }
  | { readonly kind: 'unrecognised'; readonly verb: string }
  | { readonly kind: 'impersonation'; readonly request: ImpersonationRequest };

const NONE: ImpersonationParse = { kind: 'none' };

/** Whether and how a resource SAR asks to impersonate. */
export function parseImpersonation(r: ResourceAttributes): ImpersonationParse {
  const verb = r.verb;
  if (!verb.startsWith('impersonate')) return NONE;
  let mode: string;
  let actionVerb = '';
  if (verb === 'impersonate') {
    mode = 'legacy';
  } else if (verb.startsWith('impersonate:')) {
    mode = verb.slice('impersonate:'.length);
    if (!CONSTRAINED_MODES.has(mode)) return { kind: 'unrecognised', verb };
  } else if (verb.startsWith('impersonate-on:')) {
    const rest = verb.slice('impersonate-on:'.length);
    const colon = rest.indexOf(':');
    mode = colon < 0 ? rest : rest.slice(0, colon);
    actionVerb = colon < 0 ? '' : rest.slice(colon + 1);
    if (!CONSTRAINED_MODES.has(mode) || actionVerb === '') return { kind: 'unrecognised', verb };
  } else {
    return NONE; // e.g. a custom verb "impersonated" is not impersonation
  }
  if (mode === 'legacy' && !IDENTITY_RESOURCES.has(r.resource)) return NONE;
  return {
    kind: 'impersonation',
    request: { mode, actionVerb, identityResource: r.resource, identity: r.name, namespace: r.namespace, extraKey: r.subresource },
  };
}

/** The fixed refusals; returns the reason, or undefined to continue with DenyPolicies. */
export function impersonationRefusal(parse: ImpersonationParse, cluster: ClusterConfig): string | undefined {
  const settings = cluster.spec.constrainedImpersonation;
  if (parse.kind === 'unrecognised') {
    return settings?.denyUnrecognisedVerbs === false ? undefined : `impersonation verb "${parse.verb}" is not recognised`;
  }
  if (parse.kind !== 'impersonation') return undefined;
  const request = parse.request;
  if (request.identityResource === 'groups' && (request.identity === 'system:masters' || request.identity === '*' || request.identity === '')) {
    return request.identity === 'system:masters'
      ? 'impersonating group system:masters is not allowed'
      : 'impersonating any group is not allowed';
  }
  if (request.mode === 'legacy' && settings?.legacyFallback === 'Forbidden') {
    return 'legacy impersonation is forbidden on this cluster; use constrained impersonation';
  }
  return undefined;
}

export interface CompiledImpersonationRule {
  readonly reason: string;
  matches(request: ImpersonationRequest): boolean;
}

const list = (values: readonly string[] | undefined): ReadonlySet<string> | undefined =>
  values === undefined || values.length === 0 ? undefined : new Set(values);

/** Each non-empty list must contain the request's value; an empty rule matches all impersonation. */
export function compileImpersonationRule(rule: ImpersonationRule): CompiledImpersonationRule {
  const modes = list(rule.modes);
  const resources = list(rule.identityResources);
  const identities = (rule.identities ?? []).map(compileGlob);
  const namespaces: CompiledNamespaceFilter = compileNamespaceFilter(rule.namespaces);
  const extraKeys = list(rule.extraKeys);
  const actionVerbs = list(rule.actionVerbs);
  return {
    reason: rule.reason ?? '',
    matches(request) {
      if (modes !== undefined && !modes.has(request.mode)) return false;
      if (resources !== undefined && !resources.has(request.identityResource)) return false;
      // An unnamed target ("any identity") matches every identity glob.
      if (identities.length > 0 && request.identity !== '' && !identities.some((glob) => glob(request.identity))) return false;
      if (!namespaces.empty && !namespaces.matchesName(request.namespace)) return false;
      if (extraKeys !== undefined && !extraKeys.has(request.extraKey)) return false;
      if (actionVerbs !== undefined && !actionVerbs.has(request.actionVerb) && !actionVerbs.has('*')) return false;
      return true;
    },
  };
}
