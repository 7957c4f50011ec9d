/** History routing over the four pages of the UI contract. */
import { useEffect, useState } from 'preact/hooks';
import { isInPageLink, matchRoute, type Route } from './logic/routes.ts';

const listeners = new Set<() => void>();

export function navigate(to: string, replace = false): void {
  if (replace) window.history.replaceState(null, '', to);
  else window.history.pushState(null, '', to);
  for (const listener of listeners) listener();
}

/** The current route; re-renders on navigate() and on back/forward. */
export function useRoute(): { route: Route; search: URLSearchParams } {
  const [, setTick] = useState(0);
  useEffect(() => {
    const update = () => setTick((n) => n + 1);
    listeners.add(update);
    window.addEventListener('popstate', update);
    return () => {
      listeners.delete(update);
      window.removeEventListener('popstate', update);
    };
  }, []);
  return { route: matchRoute(window.location.pathname), search: new URLSearchParams(window.location.search) };
}

/** A click on a link to another page of the app: push the URL instead of loading the page again. */
export function onLinkClick(event: MouseEvent): void {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const anchor = (event.target as Element | null)?.closest('a');
  if (!anchor || anchor.target || anchor.origin !== window.location.origin || anchor.hasAttribute('download')) return;
  // The skip link (#main): the browser scrolls to and focuses the target itself.
  if (isInPageLink(anchor.getAttribute('href'), anchor, window.location)) return;
  event.preventDefault();
  navigate(`${anchor.pathname}${anchor.search}`);
}
