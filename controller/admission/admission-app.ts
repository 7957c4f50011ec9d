/**
 * The Koa application behind the validating admission webhooks: one route per kind, each reading
 * an AdmissionReview, asking the validation domain (crds/validation) and answering a review.
 *
 * Bad input is answered with 4xx and a message; a validator or lookup failure denies the request
 * (fail closed) with HTTP 200, so the API server shows the reason instead of "failed calling
 * webhook". Nothing here answers 5xx.
 */
import Koa from 'koa';
import Router from '@koa/router';
import type {
  AdmissionInput,
  AdmissionKind,
  FieldError,
  ObjectLookup,
  ValidationOutcome,
} from '../../crds/validation/index.ts';
import { GROUP, VERSION } from '../../crds/index.ts';
import type { Logger } from '../observability/logger.ts';
import type { ControllerMetrics } from '../observability/metrics.ts';
import {
  AdmissionReviewError,
  buildAdmissionResponse,
  isPlainObject,
  parseAdmissionReview,
  type AdmissionDecision,
  type AdmissionRequest,
  type StatusCause,
} from './admission-review.ts';
import { HttpRequestError, readJsonBody } from './read-json-body.ts';

/**
 * controller-runtime's path convention, `/validate-<group with dashes>-<version>-<lowercase kind>`,
 * e.g. /validate-breakglass-t-caas-telekom-com-v1alpha1-breakglasssession.
 */
export function admissionPath(kind: AdmissionKind): string {
  return `/validate-${GROUP.replaceAll('.', '-')}-${VERSION}-${kind.toLowerCase()}`;
}

export const ADMISSION_PATHS: Readonly<Record<AdmissionKind, string>> = {
  BreakglassSession: admissionPath('BreakglassSession'),
  BreakglassEscalation: admissionPath('BreakglassEscalation'),
  ClusterConfig: admissionPath('ClusterConfig'),
  IdentityProvider: admissionPath('IdentityProvider'),
  DenyPolicy: admissionPath('DenyPolicy'),
};

/**
 * An UPDATE review carries the object and the old object, each up to etcd's 1.5 MiB, JSON-encoded
 * again inside the review: 7 MiB, as controller-runtime allows.
 */
export const DEFAULT_ADMISSION_BODY_LIMIT = 7 * 1024 * 1024;

/** The part of crds/validation the transport uses; pass the module itself in production. */
export interface AdmissionValidator {
  validateAdmission(input: AdmissionInput, lookup: ObjectLookup, now?: Date): Promise<ValidationOutcome>;
  formatFieldErrors(kind: string, name: string, errors: FieldError[]): string;
}

export interface AdmissionAppOptions {
  validator: AdmissionValidator;
  /** With `forReview`, each review gets a view whose lookups share one time limit. */
  lookup: ObjectLookup & { forReview?(): ObjectLookup };
  logger: Logger;
  metrics?: ControllerMetrics;
  /** @default 7 MiB */
  bodyLimitBytes?: number;
  /** @default () => new Date() */
  clock?: () => Date;
  /**
   * Who may write the status subresource of breakglass objects: the controller's own identity.
   * Undefined (not known yet, or no way to learn it) lets every status write through, as before.
   */
  statusWriters?: () => readonly string[] | undefined;
}

/**
 * The status subresource holds what grants access (a session's state and expiry, an
 * escalation's synced approvers), and the API server checks no rules on it (reference §15.7).
 * Only the controller writes it; RBAC should already say so, and this holds when a role grants
 * `*` on breakglass resources.
 */
function statusWriteDecision(
  kind: AdmissionKind,
  name: string,
  request: AdmissionRequest,
  writers: readonly string[] | undefined,
): AdmissionDecision {
  if (writers === undefined || (request.username !== undefined && writers.includes(request.username))) return { allowed: true, warnings: [] };
  const how = kind === 'BreakglassSession' ? '; approve, reject, withdraw, drop or cancel through the REST API, or delete the session' : '';
  return {
    allowed: false,
    warnings: [],
    message: `${kind} "${name}": its status is written by the breakglass controller only (${writers.join(', ')}), not by ${request.username ?? 'an unnamed user'}${how}`,
  };
}

export function createAdmissionApp(options: AdmissionAppOptions): Koa {
  const { validator, lookup, logger, metrics } = options;
  const bodyLimit = options.bodyLimitBytes ?? DEFAULT_ADMISSION_BODY_LIMIT;
  const clock = options.clock ?? (() => new Date());

  const app = new Koa();
  app.silent = true;
  app.on('error', (err: unknown) => logger.warn({ err }, 'admission response failed'));

  app.use(async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body == null) {
        ctx.status = 404;
        ctx.body = { error: `no admission webhook is served at ${ctx.path.slice(0, 200)}` };
      }
    } catch (err) {
      if (err instanceof HttpRequestError) {
        ctx.status = err.status;
        ctx.body = { error: err.message };
        if (err.status === 413) ctx.set('Connection', 'close');
        return;
      }
      // Only a defect of this server gets here; it is logged, and the caller still gets a
      // 4xx with a message because the API server treats every non-200 the same way.
      logger.error({ err, path: ctx.path }, 'admission request failed');
      ctx.status = 400;
      ctx.body = { error: 'the admission request could not be processed' };
    }
  });

  const router = new Router();
  for (const [kind, path] of Object.entries(ADMISSION_PATHS) as Array<[AdmissionKind, string]>) {
    router.all(path, async (ctx) => {
      if (ctx.method !== 'POST') {
        ctx.set('Allow', 'POST');
        ctx.status = 405;
        ctx.body = { error: `method ${ctx.method} is not allowed; admission reviews are POSTed` };
        return;
      }
      const body = await readJsonBody(ctx.req, bodyLimit);
      const request = parseRequest(body, kind);
      const decision = await decide(kind, request);
      metrics?.admissionRequests.inc({ kind, allowed: String(decision.allowed) });
      ctx.status = 200;
      ctx.body = buildAdmissionResponse(request.uid, decision);
    });
  }
  app.use(router.routes());

  async function decide(kind: AdmissionKind, request: AdmissionRequest): Promise<AdmissionDecision> {
    const name = request.name ?? metadataName(request.object) ?? metadataName(request.oldObject) ?? '';
    const namespace = request.namespace;
    const input: AdmissionInput = {
      kind,
      operation: request.operation,
      object: request.object,
      ...(request.oldObject ? { oldObject: request.oldObject } : {}),
      ...(namespace ? { namespace } : {}),
      ...(name ? { name } : {}),
    };
    const logFields = { kind, name, namespace, operation: request.operation, uid: request.uid };
    if (request.subResource === 'status') {
      const decision = statusWriteDecision(kind, name, request, options.statusWriters?.());
      if (!decision.allowed) logger.info({ ...logFields, subResource: 'status', user: request.username }, 'admission request denied');
      return decision;
    }

    let outcome: ValidationOutcome;
    try {
      outcome = await validator.validateAdmission(input, lookup.forReview?.() ?? lookup, clock());
    } catch (err) {
      // Fail closed: without a verdict the object is not admitted, and the user learns why.
      logger.error({ ...logFields, err }, 'admission validation failed');
      return {
        allowed: false,
        warnings: [],
        message: `${kind} "${name}" could not be validated: ${errorMessage(err)}`,
      };
    }

    if (outcome.errors.length === 0) return { allowed: true, warnings: outcome.warnings };
    logger.info({ ...logFields, errors: outcome.errors }, 'admission request denied');
    return {
      allowed: false,
      warnings: outcome.warnings,
      message: validator.formatFieldErrors(kind, name, outcome.errors),
      invalid: { group: GROUP, kind, name, causes: outcome.errors.map(toStatusCause) },
    };
  }

  return app;
}

function parseRequest(body: unknown, kind: AdmissionKind): AdmissionRequest {
  let request: AdmissionRequest;
  try {
    request = parseAdmissionReview(body);
  } catch (err) {
    if (err instanceof AdmissionReviewError) throw new HttpRequestError(400, err.message);
    throw err;
  }
  if (request.kind.group !== GROUP || request.kind.kind !== kind) {
    throw new HttpRequestError(
      400,
      `request.kind is ${JSON.stringify(`${request.kind.group}/${request.kind.kind}`.slice(0, 200))}, but this endpoint validates ${GROUP}/${kind}`,
    );
  }
  return request;
}

/** The shape apierrors.NewInvalid gives each field error (our errors carry no finer type). */
function toStatusCause(error: FieldError): StatusCause {
  return { reason: 'FieldValueInvalid', message: error.message, field: error.field };
}

function metadataName(object: Record<string, unknown> | null): string | undefined {
  const metadata = object?.['metadata'];
  if (!isPlainObject(metadata)) return undefined;
  const name = metadata['name'];
  return typeof name === 'string' && name.length > 0 ? name : undefined;
}

function errorMessage(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.length > 500 ? `${text.slice(0, 500)}…` : text;
}
