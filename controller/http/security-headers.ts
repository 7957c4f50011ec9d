/** Security headers on every response of the 8080 server (reference §8.1 step 2). */
import type { Middleware } from 'koa';

export function securityHeaders(): Middleware {
  return async (ctx, next) => {
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('X-Frame-Options', 'SAMEORIGIN');
    ctx.set('X-XSS-Protection', '1; mode=block');
    ctx.set('Referrer-Policy', 'strict-origin-when-cross-origin');
    ctx.set('Permissions-Policy', 'geolocation=(), microphone=(), camera=()');
    ctx.set('Content-Security-Policy', "default-src 'self'; frame-ancestors 'self'; frame-src 'none'");
    if (ctx.secure || ctx.get('X-Forwarded-Proto') === 'https' || ctx.get('X-Forwarded-Ssl') === 'on') {
      ctx.set('Strict-Transport-Security', 'max-age=31536000; includeSubDomains');
    }
    await next();
  };
}
