/** Security headers on every response of the 8080 server (reference §8.1 step 2). */
import type { Middleware } from 'koa';

// Constant values, set on the Node response directly: Koa's ctx.set() normalizes and allocates
// per call, and this runs on every request, SubjectAccessReviews included.
const HEADERS: readonly (readonly [string, string])[] = [
  ['X-Content-Type-Options', 'nosniff'],
  ['X-Frame-Options', 'SAMEORIGIN'],
  ['X-XSS-Protection', '1; mode=block'],
  ['Referrer-Policy', 'strict-origin-when-cross-origin'],
  ['Permissions-Policy', 'geolocation=(), microphone=(), camera=()'],
  ['Content-Security-Policy', "default-src 'self'; frame-ancestors 'self'; frame-src 'none'"],
];

export function securityHeaders(): Middleware {
  return async (ctx, next) => {
    const res = ctx.res;
    for (const [name, value] of HEADERS) res.setHeader(name, value);
    if (ctx.secure || ctx.get('X-Forwarded-Proto') === 'https' || ctx.get('X-Forwarded-Ssl') === 'on') {
      res.setHeader('Strict-Transport-Security', 'max-age=31536000; includeSubDomains');
    }
    await next();
  };
}
