/**
 * The API of breakglass: group/version, one CrdSource per kind, and the CustomResourceDefinition
 * manifests rendered from them. The schemas in the kind files are the single source; the YAML in
 * crds/generated/ is derived from here (`npm run gen:crds`).
 */
import { breakglassEscalationCrd } from './breakglass-escalation.ts';
import { breakglassSessionCrd } from './breakglass-session.ts';
import { clusterConfigCrd } from './cluster-config.ts';
import type { CrdSource } from './common.ts';
import { denyPolicyCrd } from './deny-policy.ts';
import { identityProviderCrd } from './identity-provider.ts';

export const GROUP = 'breakglass.t-caas.telekom.com';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
/**
 * A BreakglassSession's requester email (lower case), recorded at creation by the API:
 * spec.user holds the ClusterConfig's userIdentifierClaim, which may be a `sub` or username of
 * one identity provider, and self-approval must also be refused to the same person logging in
 * through another one. Admission refuses changing or removing it.
 */
export const REQUESTER_EMAIL_ANNOTATION = `${GROUP}/requester-email`;
/** `kubectl get breakglass` lists every kind of the group. */
export const CATEGORY = 'breakglass';

export type KindName = 'BreakglassSession' | 'BreakglassEscalation' | 'ClusterConfig' | 'IdentityProvider' | 'DenyPolicy';

export const crdSources: readonly CrdSource[] = [
  breakglassSessionCrd,
  breakglassEscalationCrd,
  clusterConfigCrd,
  identityProviderCrd,
  denyPolicyCrd,
];

/** Resource plural of each kind, for custom object API calls. */
export const plurals: Readonly<Record<KindName, string>> = {
  BreakglassSession: breakglassSessionCrd.plural,
  BreakglassEscalation: breakglassEscalationCrd.plural,
  ClusterConfig: clusterConfigCrd.plural,
  IdentityProvider: identityProviderCrd.plural,
  DenyPolicy: denyPolicyCrd.plural,
};

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** Plain JSON with object keys sorted, so that rendering is deterministic and diffs are small. */
function sortedJson(value: unknown): JsonValue {
  if (Array.isArray(value)) return value.map(sortedJson);
  if (value !== null && typeof value === 'object') {
    const out: JsonObject = {};
    for (const key of Object.keys(value).sort()) {
      const entry = (value as Record<string, unknown>)[key];
      if (entry !== undefined) out[key] = sortedJson(entry);
    }
    return out;
  }
  return value as JsonValue;
}

/**
 * The openAPIV3Schema of a kind: the TypeBox schema without its symbol keys, with `metadata` as a
 * plain object (the API server owns the ObjectMeta schema and forbids most constraints on it).
 */
export function openApiSchema(source: CrdSource): JsonObject {
  // JSON round trip drops TypeBox's symbol-keyed bookkeeping.
  const schema = JSON.parse(JSON.stringify(source.schema)) as JsonObject;
  const properties = schema['properties'] as JsonObject;
  properties['metadata'] = { type: 'object' };
  return sortedJson(schema) as JsonObject;
}

export function crdName(source: CrdSource): string {
  return `${source.plural}.${GROUP}`;
}

/** The apiextensions.k8s.io/v1 CustomResourceDefinition of a kind, as plain JSON. */
export function crdManifest(source: CrdSource): JsonObject {
  const version: Record<string, unknown> = {
    name: VERSION,
    served: true,
    storage: true,
    schema: { openAPIV3Schema: openApiSchema(source) },
    additionalPrinterColumns: source.printerColumns,
  };
  if (source.statusSubresource) version['subresources'] = { status: {} };
  if (source.selectableFields.length > 0) {
    version['selectableFields'] = source.selectableFields.map((jsonPath) => ({ jsonPath }));
  }
  const names: Record<string, unknown> = {
    kind: source.kind,
    listKind: `${source.kind}List`,
    plural: source.plural,
    singular: source.singular,
    categories: [CATEGORY],
  };
  if (source.shortNames.length > 0) names['shortNames'] = source.shortNames;
  return sortedJson({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: crdName(source), labels: { 'app.kubernetes.io/part-of': 'breakglass' } },
    spec: { group: GROUP, names, scope: source.scope, versions: [version] },
  }) as JsonObject;
}

export function allCrdManifests(): JsonObject[] {
  return crdSources.map(crdManifest);
}

export * from './common.ts';
export * from './breakglass-session.ts';
export * from './breakglass-escalation.ts';
export * from './cluster-config.ts';
export * from './identity-provider.ts';
export * from './deny-policy.ts';
