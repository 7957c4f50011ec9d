/**
 * The request listener of the authorization webhook's TLS listener (--sar-tls-cert-file): the
 * webhook's paths and nothing else (no REST API, no UI). Anything else gets the 8080 server's
 * request log, security headers and a JSON 404 from a small Koa app. Spokes reach it directly or
 * through TLS passthrough, so it sees their client certificates.
 */
import type { RequestListener } from 'node:http';
import Koa from 'koa';
import type { Logger } from '../observability/logger.ts';
import { withWebhook, type WebhookHandler } from '../api/authorization-webhook-handler.ts';
import { errorHandler } from './error-handler.ts';
import { requestLog } from './request-log.ts';
import { securityHeaders } from './security-headers.ts';

export function createSarListener(options: { logger: Logger; webhook: WebhookHandler }): RequestListener {
  const app = new Koa();
  app.silent = true; // errors are logged once, by errorHandler
  app.use(requestLog(options.logger));
  app.use(errorHandler(options.logger));
  app.use(securityHeaders());
  app.use((ctx) => {
    ctx.status = 404;
    ctx.body = { error: `no route for ${ctx.method} ${ctx.path}: this listener serves only the authorization webhook`, code: 'NOT_FOUND' };
  });
  return withWebhook(options.webhook, app.callback(), options.logger);
}
