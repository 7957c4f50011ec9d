/**
 * Admission validation as a plain domain function: the admission server decodes the
 * AdmissionReview and calls validateAdmission; nothing here knows about HTTP.
 *
 * Order: the CRD schema first (the same TypeBox schema the API server enforces); only a
 * structurally valid object reaches the cross-field rules, so those can rely on the types.
 */
import type { TSchema } from '@sinclair/typebox';
import { BreakglassEscalationSchema, type BreakglassEscalation } from '../breakglass-escalation.ts';
import { BreakglassSessionSchema, type BreakglassSession } from '../breakglass-session.ts';
import { ClusterConfigSchema, type ClusterConfig } from '../cluster-config.ts';
import { DenyPolicySchema, type DenyPolicy } from '../deny-policy.ts';
import { IdentityProviderSchema, type IdentityProvider } from '../identity-provider.ts';
import { validateClusterConfig } from './cluster-config.ts';
import { validateDenyPolicy } from './deny-policy.ts';
import { validateEscalation } from './escalation.ts';
import { Findings, type ValidationOutcome } from './field-error.ts';
import { validateIdentityProvider } from './identity-provider.ts';
import type { ObjectLookup, RuleContext } from './lookup.ts';
import { validateSession } from './session.ts';
import { validateStructure } from './structural.ts';

export type { FieldError, ValidationOutcome } from './field-error.ts';
export { formatFieldErrors } from './field-error.ts';
export type { ObjectLookup, UniquelyNamedKind } from './lookup.ts';
export { isValidStateTransition } from './session.ts';
export { globMatches, globError } from './checks.ts';

export type AdmissionKind = 'BreakglassSession' | 'BreakglassEscalation' | 'ClusterConfig' | 'IdentityProvider' | 'DenyPolicy';

export interface AdmissionInput {
  kind: AdmissionKind;
  operation: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
  object: unknown;
  oldObject?: unknown;
  namespace?: string;
  name?: string;
}

const SCHEMAS: Record<AdmissionKind, TSchema> = {
  BreakglassSession: BreakglassSessionSchema,
  BreakglassEscalation: BreakglassEscalationSchema,
  ClusterConfig: ClusterConfigSchema,
  IdentityProvider: IdentityProviderSchema,
  DenyPolicy: DenyPolicySchema,
};

export const ADMISSION_KINDS = Object.keys(SCHEMAS) as AdmissionKind[];

function isAdmissionKind(kind: unknown): kind is AdmissionKind {
  return typeof kind === 'string' && Object.hasOwn(SCHEMAS, kind);
}

/** The object with the request's name filled in when the body has none (generateName on CREATE). */
function withName(object: unknown, name: string | undefined): unknown {
  if (name === undefined || name === '' || typeof object !== 'object' || object === null || Array.isArray(object)) return object;
  const record = object as { metadata?: unknown };
  const metadata = typeof record.metadata === 'object' && record.metadata !== null ? (record.metadata as Record<string, unknown>) : {};
  if (typeof metadata['name'] === 'string' && metadata['name'] !== '') return object;
  return { ...record, metadata: { ...metadata, name } };
}

async function validateKind(kind: AdmissionKind, object: unknown, old: unknown, ctx: RuleContext): Promise<Findings> {
  switch (kind) {
    case 'BreakglassSession':
      return validateSession(object as BreakglassSession, old as BreakglassSession | undefined, ctx);
    case 'BreakglassEscalation':
      return validateEscalation(object as BreakglassEscalation, ctx);
    case 'ClusterConfig':
      return validateClusterConfig(object as ClusterConfig, ctx);
    case 'IdentityProvider':
      return validateIdentityProvider(object as IdentityProvider, ctx);
    case 'DenyPolicy':
      return validateDenyPolicy(object as DenyPolicy);
  }
}

/**
 * Validates one admission request. DELETE and CONNECT are always allowed. Never throws: bad input
 * and failing lookups become FieldErrors (failing closed).
 */
export async function validateAdmission(input: AdmissionInput, lookup: ObjectLookup, now: Date = new Date()): Promise<ValidationOutcome> {
  if (input.operation === 'DELETE' || input.operation === 'CONNECT') return { errors: [], warnings: [] };
  if (!isAdmissionKind(input.kind)) {
    return { errors: [{ field: 'kind', message: `unsupported kind "${String(input.kind)}"` }], warnings: [] };
  }
  if (input.operation !== 'CREATE' && input.operation !== 'UPDATE') {
    return { errors: [{ field: 'operation', message: `unsupported operation "${String(input.operation)}"` }], warnings: [] };
  }
  const schema = SCHEMAS[input.kind];
  const object = withName(input.object, input.name);
  const structural = validateStructure(schema, object);
  if (structural.length > 0) return { errors: structural, warnings: [] };

  // An old object that does not fit the schema (stored before a schema change) is not compared.
  const old = input.operation === 'UPDATE' && validateStructure(schema, input.oldObject).length === 0 ? input.oldObject : undefined;
  const ctx: RuleContext = { operation: input.operation, namespace: input.namespace, lookup, now };
  try {
    const findings = await validateKind(input.kind, object, old, ctx);
    return { errors: [...findings.errors], warnings: [...findings.warnings] };
  } catch (err) {
    // A bug in a rule must not turn into a 500 from the webhook; refuse with the reason instead.
    const reason = err instanceof Error ? err.message : String(err);
    return { errors: [{ field: '', message: `validation failed unexpectedly: ${reason}` }], warnings: [] };
  }
}
