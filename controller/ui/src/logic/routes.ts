/** The URLs of the UI contract: /, /approvals, /sessions, /sessions/<name>. */
export type Route =
  | { page: 'request' }
  | { page: 'approvals' }
  | { page: 'sessions' }
  | { page: 'session'; name: string }
  | { page: 'notFound' };

export function matchRoute(pathname: string): Route {
  const path = pathname.length > 1 ? pathname.replace(/\/+$/, '') : pathname;
  if (path === '/' || path === '') return { page: 'request' };
  if (path === '/approvals') return { page: 'approvals' };
  if (path === '/sessions') return { page: 'sessions' };
  const detail = /^\/sessions\/([^/]+)$/.exec(path);
  if (detail) {
    try {
      return { page: 'session', name: decodeURIComponent(detail[1] as string) };
    } catch {
      return { page: 'notFound' };
    }
  }
  return { page: 'notFound' };
}

export function sessionPath(name: string): string {
  return `/sessions/${encodeURIComponent(name)}`;
}

/** Where the IdP sends the browser back with the authorization code. */
export const CALLBACK_PATH = '/auth/callback';

/**
 * The page to show after login, from the OIDC state: only a path of this app, never another
 * origin (`//evil.example`) or the callback itself.
 */
export function safeReturn(returnTo: unknown): string {
  if (typeof returnTo !== 'string' || !returnTo.startsWith('/') || returnTo.startsWith('//') || returnTo.startsWith('/\\')) return '/';
  if (returnTo === CALLBACK_PATH || returnTo.startsWith(`${CALLBACK_PATH}?`)) return '/';
  return returnTo;
}

interface Place {
  pathname: string;
  search: string;
}

/**
 * A link to a fragment of the page shown (the skip link `#main`): left to the browser, which
 * scrolls to its target and moves focus there; pushing it as a route would do neither.
 */
export function isInPageLink(href: string | null, target: Place & { hash: string }, here: Place): boolean {
  if (href?.startsWith('#')) return true;
  return target.hash !== '' && target.pathname === here.pathname && target.search === here.search;
}
