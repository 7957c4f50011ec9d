/**
 * One structured log line per request, with a request id echoed to the caller.
 *
 * A route may mark its routine answers with `ctx.state.accessLog = 'debug'` (the authorization
 * webhook does for its decisions: at 1,000 SubjectAccessReviews per second an info line each was
 * about a sixth of a replica's CPU in `npm run bench:sar`, and every decision is counted in the
 * metrics already); those lines are written at debug level, every other request at info.
 */
import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';
import type { Logger } from '../observability/logger.ts';

const REQUEST_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

export function requestLog(logger: Logger): Middleware {
  return async (ctx, next) => {
    const started = performance.now();
    const incoming = ctx.get('X-Request-Id') || ctx.get('X-Correlation-Id');
    const requestId = REQUEST_ID.test(incoming) ? incoming : randomUUID();
    ctx.state.requestId = requestId;
    ctx.res.setHeader('X-Request-Id', requestId);
    try {
      await next();
    } finally {
      const level = ctx.state.accessLog === 'debug' ? 'debug' : 'info';
      if (logger.isLevelEnabled(level)) {
        logger[level](
          { requestId, method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round(performance.now() - started) },
          'http_request',
        );
      }
    }
  };
}
