/**
 * The error body of every /api response (reference §8.2): `{error, code, details?}` plus, for
 * session-scoped conflicts, the session. Every error of the API goes through `toErrorResponse`.
 */
import { AuthenticationError } from '../identity/identity.ts';
import { RequestError, type RequestErrorKind } from '../sessions/request-errors.ts';
import type { BreakglassSession } from '../../crds/index.ts';

export const ERROR_CODES = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  422: 'UNPROCESSABLE_ENTITY',
  429: 'TOO_MANY_REQUESTS',
  500: 'INTERNAL_ERROR',
  503: 'SERVICE_UNAVAILABLE',
} as const;

export type ErrorStatus = keyof typeof ERROR_CODES;

export interface ErrorBody {
  error: string;
  code: (typeof ERROR_CODES)[ErrorStatus];
  details?: string;
  session?: BreakglassSession;
}

/** An error raised by the transport itself (bad body, rate limit, missing token). */
export class ApiError extends Error {
  constructor(
    readonly status: ErrorStatus,
    message: string,
    readonly details?: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

const STATUS_BY_KIND: Readonly<Record<RequestErrorKind, ErrorStatus>> = {
  BadRequest: 400,
  Unauthenticated: 401,
  Forbidden: 403,
  NotFound: 404,
  Conflict: 409,
  Unprocessable: 422,
  TooManyRequests: 429,
};

export interface ErrorResponse {
  status: ErrorStatus;
  body: ErrorBody;
  retryAfterSeconds?: number;
  /** Unexpected: log it with the stack. */
  internal: boolean;
}

function body(status: ErrorStatus, error: string, details?: string, session?: BreakglassSession): ErrorBody {
  return {
    error,
    code: ERROR_CODES[status],
    ...(details !== undefined && details !== '' ? { details } : {}),
    ...(session !== undefined ? { session } : {}),
  };
}

/** Maps any error to its response; `operation` names what failed for 500s ("failed to approve session"). */
export function toErrorResponse(err: unknown, operation: string): ErrorResponse {
  if (err instanceof RequestError) {
    const status = STATUS_BY_KIND[err.kind];
    return {
      status,
      body: body(status, err.message, err.details, err.session),
      ...(err.retryAfterSeconds !== undefined ? { retryAfterSeconds: err.retryAfterSeconds } : {}),
      internal: false,
    };
  }
  if (err instanceof AuthenticationError) return { status: 401, body: body(401, err.message), internal: false };
  if (err instanceof ApiError) {
    return {
      status: err.status,
      body: body(err.status, err.message, err.details),
      ...(err.retryAfterSeconds !== undefined ? { retryAfterSeconds: err.retryAfterSeconds } : {}),
      internal: err.status >= 500,
    };
  }
  // Koa/router errors (e.g. 405 from allowedMethods) carry a status.
  const status = (err as { status?: number } | null)?.status;
  if (typeof status === 'number' && status in ERROR_CODES && status < 500) {
    const s = status as ErrorStatus;
    return { status: s, body: body(s, (err as Error).message), internal: false };
  }
  return { status: 500, body: body(500, `failed to ${operation}`), internal: true };
}
