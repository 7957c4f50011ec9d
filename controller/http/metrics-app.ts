/** Prometheus scrape endpoint. */
import Koa from 'koa';
import type { Registry } from 'prom-client';

export function createMetricsApp(registry: Registry): Koa {
  const app = new Koa();
  app.use(async (ctx) => {
    if (ctx.path !== '/metrics') {
      ctx.status = 404;
      return;
    }
    ctx.type = registry.contentType;
    ctx.body = await registry.metrics();
  });
  return app;
}
