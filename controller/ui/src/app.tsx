/** The shell: header with the user and Log out, the Main navigation, and the current page. */
import type { Api } from './api.ts';
import type { Auth, Session } from './auth.ts';
import { PageTitle } from './components.tsx';
import { ApprovalsPage } from './pages/approvals.tsx';
import { RequestPage } from './pages/request.tsx';
import { SessionPage } from './pages/session.tsx';
import { SessionsPage } from './pages/sessions.tsx';
import { onLinkClick, useRoute } from './router.ts';

export interface AppContext {
  api: Api;
  auth: Auth;
  session: Session;
}

const NAV: [string, string][] = [
  ['/', 'Request access'],
  ['/approvals', 'Approvals'],
  ['/sessions', 'My sessions'],
];

export function App({ ctx }: { ctx: AppContext }) {
  const { route, search } = useRoute();
  const current = route.page === 'request' ? '/' : route.page === 'approvals' ? '/approvals' : route.page === 'sessions' ? '/sessions' : '';
  return (
    <div class="shell" onClick={onLinkClick}>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">Breakglass</span>
        <span class="user">{ctx.session.email}</span>
        <button type="button" class="secondary" onClick={() => void ctx.auth.logout()}>
          Log out
        </button>
      </header>
      <nav aria-label="Main">
        <ul>
          {NAV.map(([href, label]) => (
            <li key={href}>
              <a href={href} aria-current={current === href ? 'page' : undefined}>
                {label}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main">
        {route.page === 'request' && <RequestPage ctx={ctx} search={search} />}
        {route.page === 'approvals' && <ApprovalsPage ctx={ctx} />}
        {route.page === 'sessions' && <SessionsPage ctx={ctx} />}
        {route.page === 'session' && <SessionPage ctx={ctx} name={route.name} key={route.name} />}
        {route.page === 'notFound' && (
          <>
            <PageTitle text="Page not found" />
            <p>
              There is no page at this address. <a href="/">Request access</a>
            </p>
          </>
        )}
      </main>
    </div>
  );
}
