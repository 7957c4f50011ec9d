/**
 * At most one automatic login redirect within a window. A token the API keeps refusing (audience
 * not the IdentityProvider's expectedAudience, the IdentityProvider disabled, clock skew) would
 * otherwise loop: redirect, the IdP's live session sends the browser straight back, the API
 * refuses, redirect again. The time of the last redirect lives in sessionStorage, so it survives
 * the round trip to the IdP (and stays in the tab).
 */
export const AUTO_LOGIN_WINDOW_MS = 30_000;
export const LOGIN_REDIRECT_KEY = 'breakglass.loginRedirectAt';

export type KeyValueStore = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;

export class LoginRedirectGuard {
  constructor(
    private readonly store: KeyValueStore,
    private readonly now: () => number = () => Date.now(),
    private readonly windowMs = AUTO_LOGIN_WINDOW_MS,
  ) {}

  /** Whether an automatic redirect may start now: no login redirect (automatic or by the user) within the window. */
  mayRedirectAutomatically(): boolean {
    const last = Number(this.store.getItem(LOGIN_REDIRECT_KEY));
    // Nothing stored (0), garbage (NaN), or a time far off (the clock was changed): allowed.
    return !Number.isFinite(last) || last <= 0 || Math.abs(this.now() - last) >= this.windowMs;
  }

  /** A login redirect starts now; returns its time for forget(). */
  record(): number {
    const at = this.now();
    this.store.setItem(LOGIN_REDIRECT_KEY, String(at));
    return at;
  }

  /** The redirect recorded at `at` did not happen (the IdP could not be reached): it does not count. */
  forget(at: number): void {
    if (this.store.getItem(LOGIN_REDIRECT_KEY) === String(at)) this.store.removeItem(LOGIN_REDIRECT_KEY);
  }
}
