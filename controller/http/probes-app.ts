/**
 * /healthz and /readyz. Liveness fails only when this process is wedged (it believes it leads
 * but has stopped renewing); readiness reports whether caches are synced and servers are up.
 */
import Koa from 'koa';

export interface NamedCheck {
  readonly name: string;
  /** Returns an error message, or undefined when healthy. */
  check(): string | undefined;
}

function respond(ctx: Koa.Context, checks: readonly NamedCheck[]): void {
  const failures = checks
    .map((c) => ({ name: c.name, error: c.check() }))
    .filter((r): r is { name: string; error: string } => r.error !== undefined);
  ctx.type = 'text/plain';
  if (failures.length === 0) {
    ctx.status = 200;
    ctx.body = 'ok';
  } else {
    ctx.status = 503;
    ctx.body = failures.map((f) => `[-]${f.name} failed: ${f.error}`).join('\n') + '\n';
  }
}

export function createProbesApp(liveness: readonly NamedCheck[], readiness: readonly NamedCheck[]): Koa {
  const app = new Koa();
  app.use(async (ctx) => {
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      ctx.status = 405;
      return;
    }
    if (ctx.path === '/healthz' || ctx.path === '/livez') return respond(ctx, liveness);
    if (ctx.path === '/readyz') return respond(ctx, readiness);
    ctx.status = 404;
  });
  return app;
}
