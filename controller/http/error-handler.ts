/**
 * The one place where errors become HTTP responses: 4xx errors show their message, anything
 * else is logged and answered with a generic 500 that leaks nothing.
 */
import type { Middleware } from 'koa';
import { ERROR_CODES, type ErrorStatus } from '../api/api-error.ts';
import type { Logger } from '../observability/logger.ts';

interface HttpErrorLike {
  status?: number;
  statusCode?: number;
  expose?: boolean;
  message?: string;
}

export function errorHandler(logger: Logger): Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      const e = err as HttpErrorLike;
      const status = e.status ?? e.statusCode ?? 500;
      if (status >= 500) {
        logger.error({ err, method: ctx.method, path: ctx.path }, 'request failed');
        ctx.status = 500;
        ctx.body = { error: 'internal error', code: 'INTERNAL_ERROR' };
      } else {
        ctx.status = status;
        ctx.body = { error: e.message ?? 'bad request', code: ERROR_CODES[status as ErrorStatus] ?? 'BAD_REQUEST' };
      }
    }
  };
}
