/**
 * Admission validation as a plain domain function: the admission server decodes the
 * AdmissionReview and calls validateAdmission; nothing here knows about HTTP.
 *
 * Order: the CRD schema first (the same TypeBox schema the API server enforces); only a
 * structurally valid object reaches the cross-field rules, so those can rely on the types.
 *
 * An UPDATE is checked only as far as it changes something: an object being deleted is always
 * let through (finalizer removal must work), a session only has its spec compared with the old
 * one, and the other kinds get the rules again only when their spec changed. Otherwise a stored
 * object that no longer passes a since-tightened rule could never be relabelled or released.
 */
import { isDeepStrictEqual } from 'node:util';
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
import { validateSession, validateSessionUpdate } from './session.ts';
import { validateStructure } from './structural.ts';

export type { FieldError, ValidationOutcome } from './field-error.ts';
export { formatFieldErrors } from './field-error.ts';
export type { ObjectLookup, UniquelyNamedKind } from './lookup.ts';
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

async function validateKind(kind: AdmissionKind, object: unknown, ctx: RuleContext): Promise<Findings> {
  switch (kind) {
    case 'BreakglassSession':
      return validateSession(object as BreakglassSession, ctx);
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

function field(object: unknown, key: string): unknown {
  return typeof object === 'object' && object !== null && !Array.isArray(object) ? (object as Record<string, unknown>)[key] : undefined;
}

const allowed = (): ValidationOutcome => ({ errors: [], warnings: [] });

/**
 * The verdict on an UPDATE that needs no further rules, or undefined when the new spec must be
 * validated. An unchanged spec passes, so removing a finalizer always works, even from an object
 * that rules added later would refuse; an object being deleted gets no pass beyond that: it may
 * wait for a foreign finalizer indefinitely, and the controller keeps reading its spec meanwhile.
 */
function updateShortcut(input: AdmissionInput): ValidationOutcome | undefined {
  if (input.oldObject === undefined || input.oldObject === null) {
    return { errors: [{ field: 'oldObject', message: 'an UPDATE must carry the old object' }], warnings: [] };
  }
  const spec = field(input.object, 'spec');
  const oldSpec = field(input.oldObject, 'spec');
  if (input.kind === 'BreakglassSession') {
    const annotations = (object: unknown) => field(field(object, 'metadata'), 'annotations');
    return toOutcome(validateSessionUpdate(spec, oldSpec, annotations(input.object), annotations(input.oldObject)));
  }
  return isDeepStrictEqual(spec, oldSpec) ? allowed() : undefined;
}

function toOutcome(findings: Findings): ValidationOutcome {
  return findings.outcome();
}

/**
 * Validates one admission request. DELETE and CONNECT are always allowed. Never throws: bad input
 * and failing lookups become FieldErrors (failing closed).
 */
export async function validateAdmission(input: AdmissionInput, lookup: ObjectLookup, now: Date = new Date()): Promise<ValidationOutcome> {
  if (input.operation === 'DELETE' || input.operation === 'CONNECT') return allowed();
  if (!isAdmissionKind(input.kind)) {
    return { errors: [{ field: 'kind', message: `unsupported kind "${String(input.kind)}"` }], warnings: [] };
  }
  if (input.operation !== 'CREATE' && input.operation !== 'UPDATE') {
    return { errors: [{ field: 'operation', message: `unsupported operation "${String(input.operation)}"` }], warnings: [] };
  }
  if (input.operation === 'UPDATE') {
    const shortcut = updateShortcut(input);
    if (shortcut !== undefined) return shortcut;
  }
  const object = withName(input.object, input.name);
  const structural = validateStructure(SCHEMAS[input.kind], object);
  if (structural.length > 0) {
    const findings = new Findings();
    findings.addAll(structural);
    return findings.outcome();
  }

  const ctx: RuleContext = { operation: input.operation, namespace: input.namespace, lookup, now };
  try {
    return toOutcome(await validateKind(input.kind, object, ctx));
  } catch (err) {
    // A bug in a rule must not turn into a 500 from the webhook; refuse with the reason instead.
    const reason = err instanceof Error ? err.message : String(err);
    return { errors: [{ field: '', message: `validation failed unexpectedly: ${reason}` }], warnings: [] };
  }
}
