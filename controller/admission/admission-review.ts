/**
 * AdmissionReview v1 wire format: turns an untrusted, already JSON-parsed body into a typed
 * request (or an error that names the offending field), and builds the review sent back.
 *
 * Denials use the Kubernetes `Invalid` convention (code 422, reason "Invalid", one cause per
 * field error), which is what controller-runtime produces for validators returning a field
 * error list and what the reference implementation's users see (§7 of the reference).
 */

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';

export type AdmissionOperation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
const OPERATIONS: readonly AdmissionOperation[] = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'];

/** Deeper objects than this are refused before any validator walks them. */
export const MAX_OBJECT_DEPTH = 100;

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

export interface AdmissionRequest {
  uid: string;
  kind: GroupVersionKind;
  operation: AdmissionOperation;
  /** Empty on CREATE with generateName; prefer object.metadata.name. */
  name?: string;
  namespace?: string;
  /** A JSON object for CREATE/UPDATE; null or absent for DELETE. */
  object: Record<string, unknown> | null;
  oldObject: Record<string, unknown> | null;
  dryRun: boolean;
  /** e.g. `status` for a write to the status subresource. */
  subResource?: string;
  /** Who made the request, as the API server authenticated them. */
  username?: string;
}

/** The body could not be understood as an AdmissionReview v1; answered with HTTP 400. */
export class AdmissionReviewError extends Error {
  override readonly name = 'AdmissionReviewError';
}

export function parseAdmissionReview(body: unknown): AdmissionRequest {
  if (!isPlainObject(body)) {
    throw new AdmissionReviewError(`body must be a JSON object (an AdmissionReview), got ${describe(body)}`);
  }
  if (body['apiVersion'] !== ADMISSION_API_VERSION) {
    throw new AdmissionReviewError(
      `apiVersion must be "${ADMISSION_API_VERSION}", got ${describe(body['apiVersion'])}`,
    );
  }
  if (body['kind'] !== 'AdmissionReview') {
    throw new AdmissionReviewError(`kind must be "AdmissionReview", got ${describe(body['kind'])}`);
  }
  const request = body['request'];
  if (!isPlainObject(request)) {
    throw new AdmissionReviewError(`request must be an object, got ${describe(request)}`);
  }

  const uid = request['uid'];
  if (typeof uid !== 'string' || uid.length === 0) {
    throw new AdmissionReviewError(`request.uid must be a non-empty string, got ${describe(uid)}`);
  }
  if (uid.length > 256) {
    throw new AdmissionReviewError(`request.uid must be at most 256 characters, got ${uid.length}`);
  }

  const kind = parseGroupVersionKind(request['kind']);

  const operation = request['operation'];
  if (typeof operation !== 'string' || !OPERATIONS.includes(operation as AdmissionOperation)) {
    throw new AdmissionReviewError(
      `request.operation must be one of ${OPERATIONS.join(', ')}, got ${describe(operation)}`,
    );
  }
  const op = operation as AdmissionOperation;

  const name = optionalString(request, 'name');
  const namespace = optionalString(request, 'namespace');

  const objectRequired = op === 'CREATE' || op === 'UPDATE';
  const object = parseObjectField(request, 'object', objectRequired);
  const oldObject = parseObjectField(request, 'oldObject', op === 'UPDATE');

  const dryRun = request['dryRun'];
  if (dryRun !== undefined && dryRun !== null && typeof dryRun !== 'boolean') {
    throw new AdmissionReviewError(`request.dryRun must be a boolean, got ${describe(dryRun)}`);
  }

  const subResource = optionalString(request, 'subResource');
  const userInfo = request['userInfo'];
  if (userInfo !== undefined && userInfo !== null && !isPlainObject(userInfo)) {
    throw new AdmissionReviewError(`request.userInfo must be an object, got ${describe(userInfo)}`);
  }
  const username = isPlainObject(userInfo) ? optionalString(userInfo, 'username', 'request.userInfo') : undefined;

  return {
    uid,
    kind,
    operation: op,
    ...(name ? { name } : {}),
    ...(namespace ? { namespace } : {}),
    object,
    oldObject,
    dryRun: dryRun === true,
    ...(subResource ? { subResource } : {}),
    ...(username ? { username } : {}),
  };
}

/** One Kubernetes StatusCause per field error, as apierrors.NewInvalid produces. */
export interface StatusCause {
  reason: string;
  message: string;
  field: string;
}

export type AdmissionDecision =
  | { allowed: true; warnings: string[] }
  | {
      allowed: false;
      warnings: string[];
      message: string;
      /** Present for field-validation failures (422 Invalid). */
      invalid?: { group: string; kind: string; name: string; causes: StatusCause[] };
    };

export interface AdmissionReviewResponse {
  apiVersion: typeof ADMISSION_API_VERSION;
  kind: 'AdmissionReview';
  response: {
    uid: string;
    allowed: boolean;
    status?: {
      metadata: Record<string, never>;
      status: 'Failure';
      code: number;
      reason: string;
      message: string;
      details?: { name: string; group: string; kind: string; causes: StatusCause[] };
    };
    warnings?: string[];
  };
}

export function buildAdmissionResponse(uid: string, decision: AdmissionDecision): AdmissionReviewResponse {
  const response: AdmissionReviewResponse['response'] = { uid, allowed: decision.allowed };
  if (!decision.allowed) {
    // 422 Invalid for field errors; 403 Forbidden when the decision could not be made
    // (e.g. the API server could not be asked), as controller-runtime's Denied does.
    response.status = decision.invalid
      ? {
          metadata: {},
          status: 'Failure',
          code: 422,
          reason: 'Invalid',
          message: decision.message,
          details: decision.invalid,
        }
      : { metadata: {}, status: 'Failure', code: 403, reason: 'Forbidden', message: decision.message };
  }
  if (decision.warnings.length > 0) response.warnings = decision.warnings;
  return { apiVersion: ADMISSION_API_VERSION, kind: 'AdmissionReview', response };
}

function parseGroupVersionKind(value: unknown): GroupVersionKind {
  if (!isPlainObject(value)) {
    throw new AdmissionReviewError(`request.kind must be an object with group, version and kind, got ${describe(value)}`);
  }
  const gvk: Partial<GroupVersionKind> = {};
  for (const key of ['group', 'version', 'kind'] as const) {
    const part = value[key];
    // The core group is the empty string and may be omitted.
    if (part === undefined && key === 'group') {
      gvk.group = '';
      continue;
    }
    if (typeof part !== 'string' || (key !== 'group' && part.length === 0)) {
      throw new AdmissionReviewError(`request.kind.${key} must be a ${key === 'group' ? '' : 'non-empty '}string, got ${describe(part)}`);
    }
    gvk[key] = part;
  }
  return gvk as GroupVersionKind;
}

function optionalString(request: Record<string, unknown>, key: string, where = 'request'): string | undefined {
  const value = request[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') {
    throw new AdmissionReviewError(`${where}.${key} must be a string, got ${describe(value)}`);
  }
  return value;
}

function parseObjectField(
  request: Record<string, unknown>,
  key: 'object' | 'oldObject',
  required: boolean,
): Record<string, unknown> | null {
  const value = request[key];
  if (value === undefined || value === null) {
    if (required) throw new AdmissionReviewError(`request.${key} is required for request.operation ${String(request['operation'])}`);
    return null;
  }
  if (!isPlainObject(value)) {
    throw new AdmissionReviewError(`request.${key} must be an object, got ${describe(value)}`);
  }
  if (exceedsDepth(value, MAX_OBJECT_DEPTH)) {
    throw new AdmissionReviewError(`request.${key} is nested deeper than ${MAX_OBJECT_DEPTH} levels`);
  }
  return value;
}

/** Iterative, so a hostile nesting depth cannot overflow the stack here. */
function exceedsDepth(root: unknown, maxDepth: number): boolean {
  const stack: Array<{ value: unknown; depth: number }> = [{ value: root, depth: 1 }];
  while (stack.length > 0) {
    const { value, depth } = stack.pop()!;
    if (value === null || typeof value !== 'object') continue;
    if (depth > maxDepth) return true;
    for (const child of Object.values(value)) {
      if (child !== null && typeof child === 'object') stack.push({ value: child, depth: depth + 1 });
    }
  }
  return false;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A short description of an unexpected value for error messages (never echoes huge input). */
function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') {
    const shown = value.length > 64 ? `${value.slice(0, 64)}…` : value;
    return JSON.stringify(shown);
  }
  return `${typeof value} ${String(value).slice(0, 64)}`;
}
