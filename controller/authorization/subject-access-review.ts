/**
 * The `authorization.k8s.io/v1` SubjectAccessReview a spoke API server sends (reference §6.2):
 * parsing with bounds into a plain request, and the response body.
 *
 * Unknown fields are ignored on purpose: kube-apiserver adds attributes across releases
 * (`fieldSelector`/`labelSelector` in 1.31), and rejecting them would turn a spoke upgrade into
 * denials. Known fields with the wrong type, and sizes beyond the bounds, are a
 * SubjectAccessReviewError naming the field (the transport answers 400).
 */

export const SAR_API_VERSION = 'authorization.k8s.io/v1';
export const SAR_KIND = 'SubjectAccessReview';
/** The transport reads at most this many bytes of body (§6.1: 1 MiB, else 413). */
export const MAX_SAR_BODY_BYTES = 1024 * 1024;
export const MAX_SAR_GROUPS = 1000;
export const MAX_SAR_EXTRA_KEYS = 100;
export const MAX_SAR_EXTRA_VALUES = 100;
/** Bound for user, group, uid, attribute and extra strings (a path may be long; 4 KiB is ample). */
export const MAX_SAR_STRING_LENGTH = 4096;

/** The extra the spoke may map the token issuer into (§6.3 step 3). */
export const ISSUER_EXTRA_KEY = 'identity.t-caas.telekom.com/issuer';

export interface ResourceAttributes {
  readonly namespace: string;
  readonly verb: string;
  readonly group: string;
  readonly version: string;
  readonly resource: string;
  readonly subresource: string;
  readonly name: string;
}

export interface NonResourceAttributes {
  readonly path: string;
  readonly verb: string;
}

/** Exactly one of `resource` and `nonResource` is set. */
export interface RequestAttributes {
  readonly resource?: ResourceAttributes;
  readonly nonResource?: NonResourceAttributes;
}

export interface SubjectAccessReviewRequest extends RequestAttributes {
  /** Echoed in the response. */
  readonly apiVersion: string;
  readonly kind: string;
  readonly user: string;
  readonly groups: readonly string[];
  readonly uid: string;
  readonly extra: Readonly<Record<string, readonly string[]>>;
  /** `metadata.annotations[ISSUER_EXTRA_KEY]`, the reference's fallback for the issuer. */
  readonly issuerAnnotation: string;
}

/** A malformed review; `field` is the JSON path of the offending field. */
export class SubjectAccessReviewError extends Error {
  readonly status = 400;
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`${field}: ${problem}`);
    this.name = 'SubjectAccessReviewError';
  }
}

type JsonRecord = Record<string, unknown>;

function isRecord(value: unknown): value is JsonRecord {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function optionalRecord(parent: JsonRecord, key: string, path: string): JsonRecord | undefined {
  const value = parent[key];
  if (value === undefined || value === null) return undefined;
  if (!isRecord(value)) throw new SubjectAccessReviewError(path, 'must be an object');
  return value;
}

function optionalString(parent: JsonRecord, key: string, path: string): string {
  const value = parent[key];
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw new SubjectAccessReviewError(path, 'must be a string');
  if (value.length > MAX_SAR_STRING_LENGTH) {
    throw new SubjectAccessReviewError(path, `must be at most ${MAX_SAR_STRING_LENGTH} characters long`);
  }
  return value;
}

function stringArray(value: unknown, path: string, maxItems: number): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new SubjectAccessReviewError(path, 'must be an array of strings');
  if (value.length > maxItems) throw new SubjectAccessReviewError(path, `must have at most ${maxItems} items`);
  for (let i = 0; i < value.length; i++) {
    const item: unknown = value[i];
    if (typeof item !== 'string') throw new SubjectAccessReviewError(`${path}[${i}]`, 'must be a string');
    if (item.length > MAX_SAR_STRING_LENGTH) {
      throw new SubjectAccessReviewError(`${path}[${i}]`, `must be at most ${MAX_SAR_STRING_LENGTH} characters long`);
    }
  }
  return value as string[];
}

function parseExtra(spec: JsonRecord): Record<string, readonly string[]> {
  const extra = optionalRecord(spec, 'extra', 'spec.extra');
  if (extra === undefined) return {};
  const keys = Object.keys(extra);
  if (keys.length > MAX_SAR_EXTRA_KEYS) {
    throw new SubjectAccessReviewError('spec.extra', `must have at most ${MAX_SAR_EXTRA_KEYS} keys`);
  }
  // A null-prototype copy: a key such as "__proto__" is data, never a prototype.
  const out: Record<string, readonly string[]> = Object.create(null) as Record<string, readonly string[]>;
  for (const key of keys) {
    if (key.length > MAX_SAR_STRING_LENGTH) throw new SubjectAccessReviewError('spec.extra', 'has a key that is too long');
    out[key] = stringArray(extra[key], `spec.extra[${JSON.stringify(key)}]`, MAX_SAR_EXTRA_VALUES);
  }
  return out;
}

function parseResourceAttributes(value: JsonRecord): ResourceAttributes {
  const p = 'spec.resourceAttributes';
  const verb = optionalString(value, 'verb', `${p}.verb`);
  if (verb === '') throw new SubjectAccessReviewError(`${p}.verb`, 'is required');
  return {
    namespace: optionalString(value, 'namespace', `${p}.namespace`),
    verb,
    group: optionalString(value, 'group', `${p}.group`),
    version: optionalString(value, 'version', `${p}.version`),
    resource: optionalString(value, 'resource', `${p}.resource`),
    subresource: optionalString(value, 'subresource', `${p}.subresource`),
    name: optionalString(value, 'name', `${p}.name`),
  };
}

function parseNonResourceAttributes(value: JsonRecord): NonResourceAttributes {
  const p = 'spec.nonResourceAttributes';
  const verb = optionalString(value, 'verb', `${p}.verb`);
  if (verb === '') throw new SubjectAccessReviewError(`${p}.verb`, 'is required');
  return { path: optionalString(value, 'path', `${p}.path`), verb };
}

/** Validates a decoded JSON body; throws SubjectAccessReviewError. */
export function parseSubjectAccessReview(body: unknown): SubjectAccessReviewRequest {
  if (!isRecord(body)) throw new SubjectAccessReviewError('(body)', 'must be a JSON object');
  const apiVersion = optionalString(body, 'apiVersion', 'apiVersion');
  if (apiVersion !== SAR_API_VERSION) {
    throw new SubjectAccessReviewError('apiVersion', `must be "${SAR_API_VERSION}"`);
  }
  const kind = optionalString(body, 'kind', 'kind');
  if (kind !== SAR_KIND) throw new SubjectAccessReviewError('kind', `must be "${SAR_KIND}"`);
  const spec = optionalRecord(body, 'spec', 'spec');
  if (spec === undefined) throw new SubjectAccessReviewError('spec', 'is required');

  // Sessions are matched by user name (§6.4); a review without one can never be decided.
  const user = optionalString(spec, 'user', 'spec.user');
  if (user === '') throw new SubjectAccessReviewError('spec.user', 'is required');

  const resourceValue = optionalRecord(spec, 'resourceAttributes', 'spec.resourceAttributes');
  const nonResourceValue = optionalRecord(spec, 'nonResourceAttributes', 'spec.nonResourceAttributes');
  if ((resourceValue === undefined) === (nonResourceValue === undefined)) {
    throw new SubjectAccessReviewError('spec', 'exactly one of resourceAttributes or nonResourceAttributes must be set');
  }

  const metadata = optionalRecord(body, 'metadata', 'metadata');
  const annotations = metadata === undefined ? undefined : optionalRecord(metadata, 'annotations', 'metadata.annotations');
  const issuerAnnotation =
    annotations === undefined
      ? ''
      : optionalString(annotations, ISSUER_EXTRA_KEY, `metadata.annotations[${JSON.stringify(ISSUER_EXTRA_KEY)}]`);

  return {
    apiVersion,
    kind,
    user,
    groups: stringArray(spec.groups, 'spec.groups', MAX_SAR_GROUPS),
    uid: optionalString(spec, 'uid', 'spec.uid'),
    extra: parseExtra(spec),
    issuerAnnotation,
    ...(resourceValue !== undefined
      ? { resource: parseResourceAttributes(resourceValue) }
      : { nonResource: parseNonResourceAttributes(nonResourceValue as JsonRecord) }),
  };
}

/** The issuer of the user's token as the spoke reports it (§6.3 step 3), or ''. */
export function issuerOf(review: SubjectAccessReviewRequest): string {
  return review.extra[ISSUER_EXTRA_KEY]?.[0] ?? review.issuerAnnotation;
}

/** `"<verb> <resource>[/<sub>][ <name>] in namespace <ns|(cluster-wide)>"` or `"<verb> <path>"` (§6.3). */
export function describeAction(attributes: RequestAttributes): string {
  const r = attributes.resource;
  if (r === undefined) {
    const n = attributes.nonResource as NonResourceAttributes;
    return `${n.verb} ${n.path}`;
  }
  const resource = r.subresource === '' ? r.resource : `${r.resource}/${r.subresource}`;
  const name = r.name === '' ? '' : ` ${r.name}`;
  return `${r.verb} ${resource}${name} in namespace ${r.namespace === '' ? '(cluster-wide)' : r.namespace}`;
}

export interface SubjectAccessReviewResponse {
  apiVersion: string;
  kind: string;
  status: { allowed: boolean; reason: string };
}

/**
 * The response body (§6.2, HTTP 200 for every decision). `denied` is never set, so a "no" leaves
 * later authorizers free to decide; `evaluationError` is never set because evaluation errors are
 * answered with HTTP 500 and no body, which makes the spoke apply its failurePolicy.
 */
export function buildSubjectAccessReviewResponse(
  review: Pick<SubjectAccessReviewRequest, 'apiVersion' | 'kind'>,
  decision: { allowed: boolean; reason: string },
): SubjectAccessReviewResponse {
  return { apiVersion: review.apiVersion, kind: review.kind, status: { allowed: decision.allowed, reason: decision.reason } };
}
