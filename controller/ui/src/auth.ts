/**
 * Login with oidc-client-ts: Authorization Code + PKCE against the primary IdentityProvider
 * (authority and client from GET /api/config), tokens in sessionStorage (gone with the tab),
 * renewal before expiry with the refresh token, logout at the IdP. The page the user was on
 * (path and query) travels in the OIDC `state` and is restored after the callback. Automatic
 * login redirects (a renewal failed, the API refused the token) happen at most once within
 * AUTO_LOGIN_WINDOW_MS (logic/login-guard.ts): a token the API keeps refusing must not loop
 * between the app and an IdP whose live session sends the browser straight back.
 */
import { User, UserManager, WebStorageStateStore } from 'oidc-client-ts';
import type { TokenOutcome, TokenSource } from './api.ts';
import type { FrontendConfig } from './api-types.ts';
import { LoginRedirectGuard } from './logic/login-guard.ts';
import { CALLBACK_PATH, safeReturn } from './logic/routes.ts';
import { refreshTokenUsable } from './logic/token.ts';

export interface Session {
  user: User;
  /** Identifiers the server compares with session.spec.user (email, username, subject). */
  identifiers: string[];
  email: string;
}

interface ReturnState {
  returnTo: string;
}

export type LoginMode =
  /** The app was opened without a login: nothing to loop on, not counted. */
  | 'initial'
  /** A renewal failed or the API refused the token: not within the guard's window of another redirect. */
  | 'automatic'
  /** The user asked for it ("Log in again"): always; counted, so no automatic one follows at once. */
  | 'manual';

export class Auth implements TokenSource {
  readonly manager: UserManager;
  private readonly guard: LoginRedirectGuard;
  private redirecting = false;
  private renewing: Promise<TokenOutcome> | undefined;

  constructor(config: FrontendConfig['frontend'], origin: string) {
    this.manager = new UserManager({
      authority: config.oidcAuthority,
      client_id: config.oidcClientID,
      redirect_uri: `${origin}${CALLBACK_PATH}`,
      post_logout_redirect_uri: `${origin}/`,
      response_type: 'code',
      scope: 'openid profile email',
      userStore: new WebStorageStateStore({ store: window.sessionStorage }),
      stateStore: new WebStorageStateStore({ store: window.sessionStorage }),
      automaticSilentRenew: true,
      // Renew one minute ahead: Keycloak's access tokens live 5 minutes.
      accessTokenExpiringNotificationTimeInSeconds: 60,
      monitorSession: false,
      loadUserInfo: false,
    });
    this.guard = new LoginRedirectGuard(window.sessionStorage);
    // A renewal that fails (the IdP session ended) sends the user to log in again, back here after.
    // Failures (the IdP unreachable) show at the next API call.
    this.manager.events.addSilentRenewError(() => void this.login(Auth.here(), 'automatic').catch(() => undefined));
    this.manager.events.addAccessTokenExpired(() => void this.renewOrLogin().catch(() => undefined));
  }

  /** The current path and query: where to come back to after logging in. */
  static here(): string {
    return `${window.location.pathname}${window.location.search}`;
  }

  /**
   * Finishes a login callback (returning the path to go back to), or returns the stored login,
   * renewing it with the refresh token when the access token has expired. Undefined: not logged in.
   */
  async start(): Promise<{ session?: Session; returnTo?: string }> {
    if (window.location.pathname === CALLBACK_PATH) {
      const user = await this.manager.signinRedirectCallback();
      const state = user.state as ReturnState | undefined;
      return { session: toSession(user), returnTo: safeReturn(state?.returnTo) };
    }
    const user = await this.manager.getUser();
    if (user && !user.expired) return { session: toSession(user) };
    if (refreshTokenUsable(user?.refresh_token, new Date())) {
      try {
        const renewed = await this.manager.signinSilent();
        if (renewed) return { session: toSession(renewed) };
      } catch {
        // The refresh token is no longer accepted: log in again.
      }
    }
    return {};
  }

  /**
   * Redirects to the IdP; the browser leaves the page. False: an automatic redirect that the
   * guard held back (another one just happened), the page stays.
   */
  async login(returnTo: string = Auth.here(), mode: LoginMode = 'manual'): Promise<boolean> {
    if (this.redirecting) return true;
    if (mode === 'automatic' && !this.guard.mayRedirectAutomatically()) return false;
    this.redirecting = true;
    const at = mode === 'initial' ? undefined : this.guard.record();
    try {
      await this.manager.removeUser();
      await this.manager.signinRedirect({ state: { returnTo } satisfies ReturnState });
      return true;
    } catch (err) {
      // The IdP could not be reached (discovery failed): allow the next attempt, and this one does not count.
      this.redirecting = false;
      if (at !== undefined) this.guard.forget(at);
      throw err;
    }
  }

  /** One renewal at a time: several polls finding the token expired share it. */
  renewOrLogin(): Promise<TokenOutcome> {
    this.renewing ??= (async (): Promise<TokenOutcome> => {
      // Only with a refresh token: without one oidc-client-ts would try a hidden iframe,
      // which the CSP (frame-src 'none') refuses.
      if (refreshTokenUsable((await this.manager.getUser())?.refresh_token, new Date())) {
        try {
          const user = await this.manager.signinSilent();
          if (user) return { kind: 'token', token: user.access_token };
        } catch {
          // fall through to a fresh login
        }
      }
      return (await this.login(Auth.here(), 'automatic')) ? { kind: 'redirecting' } : { kind: 'suppressed' };
    })().finally(() => {
      this.renewing = undefined;
    });
    return this.renewing;
  }

  /** A valid access token, renewed first when it has expired (or why there is none). */
  async accessToken(): Promise<TokenOutcome> {
    const user = await this.manager.getUser();
    if (user && !user.expired) return { kind: 'token', token: user.access_token };
    return this.renewOrLogin();
  }

  async logout(): Promise<void> {
    await this.manager.signoutRedirect();
  }
}

function toSession(user: User): Session {
  const profile = user.profile;
  const identifiers = [profile.email, profile.preferred_username, profile.sub].filter((v): v is string => typeof v === 'string' && v !== '');
  return { user, identifiers, email: profile.email ?? profile.preferred_username ?? profile.sub };
}
