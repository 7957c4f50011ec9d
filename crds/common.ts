/**
 * Schema building blocks shared by the CRD kinds (reference §1).
 *
 * Every helper returns a TypeBox schema that is also a valid, structural OpenAPI v3 schema for a
 * CustomResourceDefinition: objects always carry `type`, maps use `additionalProperties` (never
 * `patternProperties`), enums are plain `enum` lists (never `anyOf`/`const`), and no object sets
 * `additionalProperties: false`.
 */
import { Type, type Static, type TSchema, type TUnsafe, type StringOptions } from '@sinclair/typebox';
import { EXTENDED_DURATION_PATTERN } from './durations.ts';

/** Longest Kubernetes object name / DNS subdomain; also the bound for identifiers (§1.5). */
export const MAX_NAME_LENGTH = 253;

/** A bounded string; CEL cost estimation needs maxLength on every string a rule touches. */
export function boundedString(options: StringOptions = {}) {
  return Type.String({ maxLength: MAX_NAME_LENGTH, ...options });
}

/** A list of bounded strings. */
export function stringList(maxItems: number, options: { description?: string; itemMaxLength?: number } = {}) {
  const { description, itemMaxLength = MAX_NAME_LENGTH } = options;
  return Type.Array(Type.String({ maxLength: itemMaxLength }), {
    maxItems,
    ...(description === undefined ? {} : { description }),
  });
}

/** A string restricted to a fixed set of values, emitted as `{type: string, enum: [...]}`. */
export function stringEnum<const T extends readonly string[]>(
  values: T,
  options: { description?: string; default?: T[number] } = {},
): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options });
}

/** A string-keyed map, emitted as `{type: object, additionalProperties: <value>}`. */
export function mapOf<T extends TSchema>(value: T, options: { description?: string; maxProperties?: number } = {}) {
  return Type.Unsafe<Record<string, Static<T>>>({ type: 'object', additionalProperties: value, ...options });
}

/** A duration with the optional day prefix of §1.2 ("1h", "2d12h"); parsing lives in durations.ts. */
export function durationField(description: string, defaultValue?: string) {
  return Type.String({
    description,
    pattern: EXTENDED_DURATION_PATTERN,
    maxLength: 64,
    ...(defaultValue === undefined ? {} : { default: defaultValue }),
  });
}

/** A plain Go duration (no days), as used by the Keycloak client settings (§1.2). */
export const GO_DURATION_PATTERN = '^([0-9]+(ns|us|µs|ms|s|m|h))+$';

export function goDurationField(description: string, defaultValue?: string) {
  return Type.String({
    description,
    pattern: GO_DURATION_PATTERN,
    maxLength: 64,
    ...(defaultValue === undefined ? {} : { default: defaultValue }),
  });
}

/** metav1.Time: RFC 3339 timestamp string. */
export function timestamp(description: string) {
  return Type.String({ format: 'date-time', description });
}

/** int64 counters and generations. */
export function int64(options: { description?: string; minimum?: number; default?: number } = {}) {
  return Type.Integer({ format: 'int64', ...options });
}

/** int32 numbers (qps, precedence, scores). */
export function int32(options: { description?: string; minimum?: number; maximum?: number; default?: number } = {}) {
  return Type.Integer({ format: 'int32', ...options });
}

/** An https URL (the webhook checks parseability; the pattern lets the API server refuse http early). */
export function httpsUrl(description: string) {
  return Type.String({ description, maxLength: 2048, pattern: '^https://' });
}

/** metav1.Condition. */
export const ConditionSchema = Type.Object(
  {
    type: Type.String({
      maxLength: 316,
      pattern: '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$',
      description: 'type of condition in CamelCase.',
    }),
    status: stringEnum(['True', 'False', 'Unknown'] as const, { description: 'status of the condition.' }),
    observedGeneration: Type.Optional(int64({ minimum: 0, description: 'generation the condition was set for.' })),
    lastTransitionTime: timestamp('last time the condition changed status.'),
    reason: Type.String({
      minLength: 1,
      maxLength: 1024,
      pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$',
      description: 'programmatic identifier of the last transition in CamelCase.',
    }),
    message: Type.String({ maxLength: 32768, description: 'human readable details of the transition.' }),
  },
  { description: 'metav1.Condition' },
);
export type Condition = Static<typeof ConditionSchema>;

/** `status.conditions`: a map-list keyed by `type`, as every status of the group has (§1.1). */
export function conditionsField() {
  return Type.Array(ConditionSchema, {
    maxItems: 32,
    'x-kubernetes-list-type': 'map',
    'x-kubernetes-list-map-keys': ['type'],
    description: 'conditions describe the current state of the object.',
  });
}

/** The status of a kind that reports only conditions: observedGeneration + conditions. */
export function conditionsStatus(description: string) {
  return Type.Object(
    {
      observedGeneration: Type.Optional(int64({ minimum: 0 })),
      conditions: Type.Optional(conditionsField()),
    },
    { description },
  );
}

/** Reference to a key of a Secret, possibly in another namespace (§1.3). Default key: `value`. */
export const SecretKeyReferenceSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: MAX_NAME_LENGTH, description: 'name of the Secret.' }),
    namespace: Type.String({ minLength: 1, maxLength: 63, description: 'namespace of the Secret.' }),
    key: Type.Optional(Type.String({ maxLength: MAX_NAME_LENGTH, description: 'key in the Secret data; defaults to "value".' })),
  },
  { description: 'reference to a key of a Secret.' },
);
export type SecretKeyReference = Static<typeof SecretKeyReferenceSchema>;
export const DEFAULT_SECRET_KEY = 'value';

export const LABEL_SELECTOR_OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;

/** Namespaces by name glob or by labels (§1.4). */
export const NamespaceFilterSchema = Type.Object(
  {
    patterns: Type.Optional(stringList(100, { description: 'namespace name globs ("app-*", "prod-??-*").' })),
    selectorTerms: Type.Optional(
      Type.Array(
        Type.Object({
          matchLabels: Type.Optional(mapOf(Type.String({ maxLength: 63 }), { description: 'all labels must match.' })),
          matchExpressions: Type.Optional(
            Type.Array(
              Type.Object({
                key: Type.String({ minLength: 1, maxLength: 63 }),
                operator: stringEnum(LABEL_SELECTOR_OPERATORS),
                values: Type.Optional(stringList(50, { itemMaxLength: 63 })),
              }),
              { maxItems: 20 },
            ),
          ),
        }),
        { maxItems: 20, description: 'label selector terms; any term may match.' },
      ),
    ),
  },
  { description: 'selects namespaces by name pattern or labels; any pattern or any term may match.' },
);
export type NamespaceFilter = Static<typeof NamespaceFilterSchema>;

/** Whether a free-text reason is mandatory, and what to enter (§2.1). */
export const ReasonConfigSchema = Type.Object(
  {
    mandatory: Type.Optional(Type.Boolean({ description: 'whether the reason must be given.' })),
    description: Type.Optional(Type.String({ maxLength: 1024, description: 'what to enter, e.g. "Ticket ID".' })),
  },
  { description: 'configures a free-text reason.' },
);
export type ReasonConfig = Static<typeof ReasonConfigSchema>;

/**
 * The part of ObjectMeta the product reads. The CRD itself declares metadata as a plain object
 * (the API server owns its schema); this schema only types and checks admission input.
 */
export const ObjectMetaSchema = Type.Object({
  name: Type.Optional(Type.String()),
  generateName: Type.Optional(Type.String()),
  namespace: Type.Optional(Type.String()),
  uid: Type.Optional(Type.String()),
  resourceVersion: Type.Optional(Type.String()),
  generation: Type.Optional(Type.Integer()),
  creationTimestamp: Type.Optional(Type.String()),
  deletionTimestamp: Type.Optional(Type.String()),
  labels: Type.Optional(mapOf(Type.String())),
  annotations: Type.Optional(mapOf(Type.String())),
  finalizers: Type.Optional(Type.Array(Type.String())),
  ownerReferences: Type.Optional(
    Type.Array(
      Type.Object({
        apiVersion: Type.String(),
        kind: Type.String(),
        name: Type.String(),
        uid: Type.String(),
        controller: Type.Optional(Type.Boolean()),
        blockOwnerDeletion: Type.Optional(Type.Boolean()),
      }),
    ),
  ),
});
export type ObjectMeta = Static<typeof ObjectMetaSchema>;

/** The root object schema of a kind: apiVersion, kind, metadata, spec, status. */
export function rootSchema<S extends TSchema, T extends TSchema>(description: string, spec: S, status: T) {
  return Type.Object(
    {
      apiVersion: Type.Optional(Type.String()),
      kind: Type.Optional(Type.String()),
      metadata: Type.Optional(ObjectMetaSchema),
      spec,
      status: Type.Optional(status),
    },
    { description },
  );
}

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description?: string;
  priority?: number;
}

/** The printer column showing the status of the `Ready` condition. */
export const READY_COLUMN: PrinterColumn = {
  name: 'Ready',
  type: 'string',
  jsonPath: '.status.conditions[?(@.type=="Ready")].status',
  description: 'status of the Ready condition',
};

export const AGE_COLUMN: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };

/** Everything needed to render one kind's CustomResourceDefinition. */
export interface CrdSource {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  scope: 'Namespaced' | 'Cluster';
  /** The root schema (apiVersion, kind, metadata, spec, status); it becomes openAPIV3Schema. */
  schema: TSchema;
  printerColumns: PrinterColumn[];
  /** JSON paths usable as field selectors (`.spec.cluster`). */
  selectableFields: string[];
  statusSubresource: boolean;
}

/** One CEL rule of `x-kubernetes-validations`. */
export interface CelRule {
  rule: string;
  message: string;
  fieldPath?: string;
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
}
