/**
 * Start: read the login configuration, finish or restore the login (or go to the IdP), then
 * render the app at the URL the user asked for.
 */
import { render } from 'preact';
import { Api } from './api.ts';
import { App } from './app.tsx';
import { Auth } from './auth.ts';
import type { FrontendConfig } from './api-types.ts';
import { configFailureText, loginFailureText } from './logic/failures.ts';
import { navigate } from './router.ts';
import './styles.css';

const root = document.getElementById('app') as HTMLElement;

function fatal(message: string): void {
  render(
    <main class="shell">
      <h1>Breakglass is unavailable</h1>
      <p role="alert" class="alert">
        {message}
      </p>
      <p>
        <a href="/">Start again</a>
      </p>
    </main>,
    root,
  );
}

async function loadConfig(): Promise<FrontendConfig['frontend'] | undefined> {
  let config: FrontendConfig['frontend'] | undefined;
  try {
    const response = await fetch('/api/config', { headers: { Accept: 'application/json' } });
    if (!response.ok) {
      fatal(`The login configuration could not be read (HTTP ${response.status}).`);
      return undefined;
    }
    config = ((await response.json()) as FrontendConfig).frontend;
  } catch (err) {
    // Not a login problem: the app does not know where to log in yet.
    fatal(configFailureText(err));
    return undefined;
  }
  if (!config?.oidcAuthority || !config.oidcClientID) {
    fatal('No identity provider is configured for this installation.');
    return undefined;
  }
  return config;
}

async function start(): Promise<void> {
  const config = await loadConfig();
  if (!config) return;
  const auth = new Auth(config, window.location.origin);
  const { session, returnTo } = await auth.start();
  if (!session) {
    await auth.login(Auth.here(), 'initial');
    return;
  }
  if (returnTo !== undefined) navigate(returnTo, true);
  render(<App ctx={{ api: new Api(auth), auth, session }} />, root);
}

start().catch((err: unknown) => fatal(loginFailureText(err)));
