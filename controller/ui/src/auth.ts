/**
 * Login with oidc-client-ts: Authorization Code + PKCE against the primary IdentityProvider
 * (authority and client from GET /api/config), tokens in sessionStorage (gone with the tab),
 * renewal before expiry with the refresh token, logout at the IdP. The page the user was on
 * (path and query) travels in the OIDC `state` and is restored after the callback.
 */
import { User, UserManager, WebStorageStateStore } from 'oidc-client-ts';
import type { FrontendConfig } from './api-types.ts';
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

export class Auth {
  readonly manager: UserManager;
  private redirecting = false;
  private renewing: Promise<User | undefined> | undefined;

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
    // A renewal that fails (the IdP session ended) sends the user to log in again, back here after.
    this.manager.events.addSilentRenewError(() => void this.login());
    this.manager.events.addAccessTokenExpired(() => void this.renewOrLogin());
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

  /** Redirects to the IdP; the browser leaves the page. */
  async login(returnTo: string = Auth.here()): Promise<void> {
    if (this.redirecting) return;
    this.redirecting = true;
    try {
      await this.manager.removeUser();
      await this.manager.signinRedirect({ state: { returnTo } satisfies ReturnState });
    } catch (err) {
      // The IdP could not be reached (discovery failed): allow the next attempt.
      this.redirecting = false;
      throw err;
    }
  }

  /** One renewal at a time: several polls finding the token expired share it. */
  renewOrLogin(): Promise<User | undefined> {
    this.renewing ??= (async () => {
      // Only with a refresh token: without one oidc-client-ts would try a hidden iframe,
      // which the CSP (frame-src 'none') refuses.
      if (refreshTokenUsable((await this.manager.getUser())?.refresh_token, new Date())) {
        try {
          const user = await this.manager.signinSilent();
          if (user) return user;
        } catch {
          // fall through to a fresh login
        }
      }
      await this.login();
      return undefined;
    })().finally(() => {
      this.renewing = undefined;
    });
    return this.renewing;
  }

  /** A valid access token, renewed first when it has expired; undefined while redirecting to log in. */
  async accessToken(): Promise<string | undefined> {
    const user = await this.manager.getUser();
    if (user && !user.expired) return user.access_token;
    return (await this.renewOrLogin())?.access_token;
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
