/**
 * Structural validation: the CRD schemas themselves, compiled with ajv, so that a direct caller
 * (tests, the REST API) gets the same answers the API server gives before our webhook runs.
 * The CEL rules (`x-kubernetes-validations`) are no-ops here; the cross-field validators
 * implement them in TypeScript.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import ajvFormatsModule from 'ajv-formats';
import type { TSchema } from '@sinclair/typebox';
import { EXTENDED_DURATION_PATTERN } from '../durations.ts';
import { GO_DURATION_PATTERN } from '../common.ts';
import type { FieldError } from './field-error.ts';

// ajv-formats is CommonJS: depending on the loader its default import is the plugin or its module.
type FormatsPlugin = (ajv: Ajv, formats: string[]) => Ajv;
const formatsExport = ajvFormatsModule as unknown as FormatsPlugin & { default?: FormatsPlugin };
const addFormats: FormatsPlugin = formatsExport.default ?? formatsExport;

const KUBERNETES_KEYWORDS = [
  'x-kubernetes-validations',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-map-type',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-int-or-string',
  'x-kubernetes-embedded-resource',
];

function createAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false, useDefaults: false, validateFormats: true });
  addFormats(ajv, ['date-time', 'int32', 'int64']);
  for (const keyword of KUBERNETES_KEYWORDS) ajv.addKeyword({ keyword, schemaType: ['array', 'string', 'boolean'] });
  return ajv;
}

const ajv = createAjv();
const compiled = new WeakMap<TSchema, ValidateFunction>();

function validatorFor(schema: TSchema): ValidateFunction {
  let validate = compiled.get(schema);
  if (!validate) {
    validate = ajv.compile(schema);
    compiled.set(schema, validate);
  }
  return validate;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `/spec/allowed/groups/2` -> `spec.allowed.groups[2]`; odd map keys in brackets. */
export function fieldPath(instancePath: string, extra?: string): string {
  const segments = instancePath === '' ? [] : instancePath.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (extra !== undefined) segments.push(extra);
  let path = '';
  for (const segment of segments) {
    if (/^\d+$/.test(segment)) path += `[${segment}]`;
    else if (IDENTIFIER.test(segment)) path += path === '' ? segment : `.${segment}`;
    else path += `[${JSON.stringify(segment)}]`;
  }
  return path;
}

function describePattern(pattern: string): string {
  if (pattern === EXTENDED_DURATION_PATTERN) return 'must be a duration such as "30m", "1h30m" or "2d"';
  if (pattern === GO_DURATION_PATTERN) return 'must be a duration such as "30s" or "10m"';
  if (pattern === '^https://') return 'must be an https:// URL';
  return `must match the pattern ${pattern}`;
}

function toFieldError(error: ErrorObject): FieldError {
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return { field: fieldPath(error.instancePath, String(params['missingProperty'])), message: 'Required value' };
    case 'enum':
      return {
        field: fieldPath(error.instancePath),
        message: `must be one of ${(params['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`,
      };
    case 'pattern':
      return { field: fieldPath(error.instancePath), message: describePattern(String(params['pattern'])) };
    case 'type':
      return { field: fieldPath(error.instancePath), message: `must be of type ${String(params['type'])}` };
    case 'maxItems':
      return { field: fieldPath(error.instancePath), message: `must have at most ${String(params['limit'])} items` };
    case 'maxLength':
      return { field: fieldPath(error.instancePath), message: `must be at most ${String(params['limit'])} characters long` };
    case 'minLength':
      return {
        field: fieldPath(error.instancePath),
        message: params['limit'] === 1 ? 'must not be empty' : `must be at least ${String(params['limit'])} characters long`,
      };
    default:
      return { field: fieldPath(error.instancePath), message: error.message ?? `failed ${error.keyword} validation` };
  }
}

/** Checks `value` against a CRD root schema; returns one FieldError per violation. */
export function validateStructure(schema: TSchema, value: unknown): FieldError[] {
  const validate = validatorFor(schema);
  if (validate(value)) return [];
  return (validate.errors ?? []).map(toFieldError);
}
