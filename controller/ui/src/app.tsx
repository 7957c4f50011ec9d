/**
 * The shell: header with the user and Log out, the Main navigation, and the current page; once
 * the API has refused the login for good, instead of the page what it said and "Log in again"
 * (the pages, and with them their polling, are gone).
 */
import { useEffect, useState } from 'preact/hooks';
import type { Api } from './api.ts';
import { Auth, type Session } from './auth.ts';
import { ErrorAlert, PageTitle } from './components.tsx';
import { loginFailureText } from './logic/failures.ts';
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
  const [refused, setRefused] = useState<string | undefined>(undefined);
  useEffect(() => ctx.api.onLoginRefused(setRefused), [ctx.api]);
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
      {/* tabIndex: the skip link's target takes the focus. */}
      <main id="main" tabIndex={-1}>
        {refused !== undefined && <LoginRefused auth={ctx.auth} message={refused} />}
        {refused === undefined && route.page === 'request' && <RequestPage ctx={ctx} search={search} />}
        {refused === undefined && route.page === 'approvals' && <ApprovalsPage ctx={ctx} />}
        {refused === undefined && route.page === 'sessions' && <SessionsPage ctx={ctx} />}
        {refused === undefined && route.page === 'session' && <SessionPage ctx={ctx} name={route.name} key={route.name} />}
        {refused === undefined && route.page === 'notFound' && (
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

/** The API refused a freshly renewed token: no automatic retry or redirect, the user decides. */
function LoginRefused({ auth, message }: { auth: Auth; message: string }) {
  const [failure, setFailure] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const again = async () => {
    setFailure(undefined);
    setBusy(true);
    try {
      await auth.login(Auth.here(), 'manual');
    } catch (err) {
      setFailure(loginFailureText(err));
      setBusy(false);
    }
  };
  return (
    <>
      <PageTitle text="Login refused" />
      <p role="alert" class="alert">
        {message}
      </p>
      <div class="actions">
        <button type="button" disabled={busy} onClick={() => void again()}>
          Log in again
        </button>
      </div>
      <ErrorAlert message={failure} />
    </>
  );
}
