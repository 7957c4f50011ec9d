/**
 * One structured log line per request, with a request id echoed to the caller.
 *
 * A route may mark its routine answers with `ctx.state.accessLog = 'debug'`; those lines are
 * written at debug level, every other request at info. (The authorization webhook, served before
 * Koa, writes its decisions' lines at debug the same way: at 1,000 SubjectAccessReviews per second
 * an info line each was about a sixth of a replica's CPU in `npm run bench:sar`, and every
 * decision is counted in the metrics already.)
 */
import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';
import type { Logger } from '../observability/logger.ts';

const REQUEST_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

/** The message of every access log line (the Koa app's and the authorization webhook's). */
export const ACCESS_LOG_MESSAGE = 'http_request';

/** The caller's X-Request-Id (else X-Correlation-Id) when it is a plain token, else a new one. */
export function requestIdFrom(requestId: string | string[] | undefined, correlationId: string | string[] | undefined): string {
  const first = typeof requestId === 'string' ? requestId : '';
  const incoming = first !== '' ? first : typeof correlationId === 'string' ? correlationId : '';
  return REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

export function requestLog(logger: Logger): Middleware {
  return async (ctx, next) => {
    const started = performance.now();
    const requestId = requestIdFrom(ctx.get('X-Request-Id'), ctx.get('X-Correlation-Id'));
    ctx.state.requestId = requestId;
    ctx.res.setHeader('X-Request-Id', requestId);
    try {
      await next();
    } finally {
      const level = ctx.state.accessLog === 'debug' ? 'debug' : 'info';
      if (logger.isLevelEnabled(level)) {
        logger[level](
          { requestId, method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round(performance.now() - started) },
          ACCESS_LOG_MESSAGE,
        );
      }
    }
  };
}
