/**
 * Why a user's request about sessions or escalations was refused, in domain terms. The transport
 * maps `kind` to an HTTP status in one place (controller/api/errors.ts); domain code never
 * chooses status codes or imports Koa.
 */
import type { BreakglassSession } from '../../crds/index.ts';

export type RequestErrorKind =
  /** The request is malformed, or the session's state does not allow the action (400). */
  | 'BadRequest'
  /** The token does not carry what is needed to know who the caller is (401). */
  | 'Unauthenticated'
  /** The caller is known but not allowed (403). */
  | 'Forbidden'
  | 'NotFound'
  /** A duplicate, a lost race or an action already done (409). */
  | 'Conflict'
  /** Well-formed but unacceptable values: reasons, durations, limits (422). */
  | 'Unprocessable'
  | 'TooManyRequests';

export interface RequestErrorOptions {
  details?: string;
  /** The session the error is about, returned to the caller (duplicates, lost races). */
  session?: BreakglassSession;
  retryAfterSeconds?: number;
}

export class RequestError extends Error {
  readonly details?: string;
  readonly session?: BreakglassSession;
  readonly retryAfterSeconds?: number;

  constructor(
    readonly kind: RequestErrorKind,
    message: string,
    options: RequestErrorOptions = {},
  ) {
    super(message);
    this.name = 'RequestError';
    if (options.details !== undefined) this.details = options.details;
    if (options.session !== undefined) this.session = options.session;
    if (options.retryAfterSeconds !== undefined) this.retryAfterSeconds = options.retryAfterSeconds;
  }
}
