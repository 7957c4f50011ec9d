/**
 * The app of the authorization webhook's TLS listener (--sar-tls-cert-file): the webhook routes
 * and nothing else (no REST API, no UI), with the 8080 server's request log, error handling and
 * security headers. Spokes reach it directly or through TLS passthrough, so it sees their client
 * certificates.
 */
import Koa from 'koa';
import type Router from '@koa/router';
import type { Logger } from '../observability/logger.ts';
import { errorHandler } from './error-handler.ts';
import { requestLog } from './request-log.ts';
import { securityHeaders } from './security-headers.ts';

export function createSarApp(options: { logger: Logger; router: Router }): Koa {
  const app = new Koa();
  app.silent = true; // errors are logged once, by errorHandler
  app.use(requestLog(options.logger));
  app.use(errorHandler(options.logger));
  app.use(securityHeaders());
  app.use(options.router.routes()).use(options.router.allowedMethods());
  app.use((ctx) => {
    ctx.status = 404;
    ctx.body = { error: `no route for ${ctx.method} ${ctx.path}: this listener serves only the authorization webhook`, code: 'NOT_FOUND' };
  });
  return app;
}
