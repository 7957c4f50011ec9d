/**
 * The web UI on the 8080 server (reference §8.1 step 8): the single-page app built by
 * `npm run build:ui`, served from a folder next to the program.
 *
 * - `/assets/*` carry a content hash in their names, so they are cached for a year (immutable);
 *   a missing asset is a plain 404, never the app's HTML (a stale index.html asking for an old
 *   hash must fail visibly rather than execute HTML as a script).
 * - Any other GET/HEAD path without a file extension outside `/api` is a page of the app
 *   (history routing): index.html, `no-cache`, so a new release is picked up at once.
 * - `/api` is never touched here.
 * - The HTML gets a strict Content-Security-Policy: scripts and styles only from this origin
 *   (the build emits no inline script), and `connect-src` opened to the identity providers'
 *   origins so the OIDC client can reach the token endpoint for code exchange and renewal.
 * - Everything served here says `Referrer-Policy: no-referrer`: the login callback's page
 *   (`/auth/callback?code=…&state=…`) must not hand its URL to whatever it loads as Referer.
 */
import { send } from '@koa/send';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import type { Context, Middleware } from 'koa';
import type { Logger } from '../observability/logger.ts';

export interface UiAppOptions {
  /** Folder holding index.html and assets/ (the `build/ui` of `npm run build:ui`). */
  root: string;
  /** Origins (scheme://host[:port]) of the enabled identity providers, read per response. */
  identityProviderOrigins: () => readonly string[];
  logger: Logger;
}

const YEAR_SECONDS = 365 * 24 * 3600;

/** No Referer from the app's pages, above all from the callback URL with its authorization code. */
export const UI_REFERRER_POLICY = 'no-referrer';

/** Strict policy for the app's documents; `idpOrigins` are added where the OIDC client needs them. */
export function uiContentSecurityPolicy(idpOrigins: readonly string[]): string {
  const connect = ["'self'", ...new Set(idpOrigins)].join(' ');
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    `connect-src ${connect}`,
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-src 'none'",
    "frame-ancestors 'self'",
  ].join('; ');
}

function isApiPath(path: string): boolean {
  return path === '/api' || path.startsWith('/api/');
}

/**
 * The last path segment has an extension: a request for a file, not a page. A session's page is
 * always a page: session names may hold dots (created with kubectl, not by the API).
 */
function isFilePath(path: string): boolean {
  if (path.startsWith('/sessions/')) return false;
  const last = path.slice(path.lastIndexOf('/') + 1);
  return last.includes('.');
}

function notFound(ctx: Context, message: string): void {
  ctx.status = 404;
  ctx.set('Cache-Control', 'no-store');
  ctx.body = { error: message, code: 'NOT_FOUND', details: ctx.path };
}

export function createUiMiddleware(options: UiAppOptions): Middleware {
  const index = join(options.root, 'index.html');
  let warned = false;
  return async (ctx, next) => {
    if ((ctx.method !== 'GET' && ctx.method !== 'HEAD') || isApiPath(ctx.path)) return next();
    ctx.set('Content-Security-Policy', uiContentSecurityPolicy(options.identityProviderOrigins()));
    ctx.set('Referrer-Policy', UI_REFERRER_POLICY);
    if (isFilePath(ctx.path)) {
      const immutable = ctx.path.startsWith('/assets/');
      let sent: string | undefined;
      try {
        sent = await send(ctx, ctx.path, {
          root: options.root,
          index: false,
          hidden: false,
          gzip: false,
          brotli: false,
          setHeaders: (res) => {
            res.setHeader('Cache-Control', immutable ? `public, max-age=${YEAR_SECONDS}, immutable` : 'no-cache');
          },
        });
      } catch (err) {
        // 404: no such file; 400/403: undecodable or outside the root (resolve-path).
        const status = (err as { status?: number }).status;
        if (status !== 404 && status !== 400 && status !== 403) throw err;
      }
      // A hidden file or a folder: @koa/send answers nothing.
      if (sent === undefined) notFound(ctx, 'UI asset not found');
      return;
    }
    try {
      await access(index);
    } catch {
      if (!warned) {
        warned = true;
        options.logger.warn({ root: options.root }, 'web UI not built');
      }
      ctx.status = 503;
      ctx.set('Cache-Control', 'no-store');
      ctx.body = { error: 'the web UI is not built (npm run build:ui)', code: 'SERVICE_UNAVAILABLE' };
      return;
    }
    await send(ctx, 'index.html', {
      root: options.root,
      index: false,
      setHeaders: (res) => res.setHeader('Cache-Control', 'no-cache'),
    });
  };
}
