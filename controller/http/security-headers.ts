/** Security headers on every response of the 8080 server (reference §8.1 step 2). */
import type { IncomingMessage } from 'node:http';
import type { Middleware } from 'koa';

// Constant values, set on the Node response directly: Koa's ctx.set() normalizes and allocates
// per call, and this runs on every request, SubjectAccessReviews included.
export const SECURITY_HEADERS: readonly (readonly [string, string])[] = [
  ['X-Content-Type-Options', 'nosniff'],
  ['X-Frame-Options', 'SAMEORIGIN'],
  ['X-XSS-Protection', '1; mode=block'],
  ['Referrer-Policy', 'strict-origin-when-cross-origin'],
  ['Permissions-Policy', 'geolocation=(), microphone=(), camera=()'],
  ['Content-Security-Policy', "default-src 'self'; frame-ancestors 'self'; frame-src 'none'"],
];

export const STRICT_TRANSPORT_SECURITY = 'max-age=31536000; includeSubDomains';

/** HSTS only over HTTPS: TLS here, or TLS ended in front of us as the forwarding headers say. */
export function wantsStrictTransportSecurity(req: IncomingMessage): boolean {
  return (req.socket as { encrypted?: boolean }).encrypted === true || req.headers['x-forwarded-proto'] === 'https' || req.headers['x-forwarded-ssl'] === 'on';
}

export function securityHeaders(): Middleware {
  return async (ctx, next) => {
    const res = ctx.res;
    for (const [name, value] of SECURITY_HEADERS) res.setHeader(name, value);
    if (wantsStrictTransportSecurity(ctx.req)) res.setHeader('Strict-Transport-Security', STRICT_TRANSPORT_SECURITY);
    await next();
  };
}
