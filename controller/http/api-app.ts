/**
 * The 8080 server: REST API under /api (and, as they land, the web UI at / and the
 * authorization webhook). Routes are contributed by the components that own them.
 */
import Koa, { type Middleware } from 'koa';
import Router from '@koa/router';
import type { Logger } from '../observability/logger.ts';
import { errorHandler } from './error-handler.ts';
import { requestLog } from './request-log.ts';
import { securityHeaders } from './security-headers.ts';

export interface ApiAppOptions {
  logger: Logger;
  version: string;
  /** Routers mounted in order (each owns its paths). */
  routers?: Router[];
  /** The web UI (ui-app.ts): after the routes, so /api and the webhook are never shadowed. */
  ui?: Middleware;
}

export function createApiApp(options: ApiAppOptions): Koa {
  const app = new Koa();
  app.silent = true; // errors are logged once, by errorHandler
  const base = new Router();
  base.get('/api/version', (ctx) => {
    ctx.body = { version: options.version };
  });
  app.use(requestLog(options.logger));
  app.use(errorHandler(options.logger));
  app.use(securityHeaders());
  // @koa/router answers methods it does not know at all (TRACE, PROPFIND, ...) with 501 and
  // known-but-unrouted ones with 405 (and the fallback's 404 body); either way a wrong method.
  app.use(async (ctx, next) => {
    await next();
    if (ctx.status === 501 || ctx.status === 405) {
      ctx.status = 405;
      ctx.body = { error: `method ${ctx.method} is not allowed on ${ctx.path}`, code: 'METHOD_NOT_ALLOWED' };
    }
  });
  app.use(base.routes()).use(base.allowedMethods());
  for (const router of options.routers ?? []) app.use(router.routes()).use(router.allowedMethods());
  if (options.ui) app.use(options.ui);
  app.use((ctx) => {
    ctx.status = 404;
    ctx.body = ctx.path.startsWith('/api/')
      ? { error: 'API endpoint not found', code: 'NOT_FOUND', details: ctx.path }
      : { error: `no route for ${ctx.method} ${ctx.path}`, code: 'NOT_FOUND' };
  });
  return app;
}
