/**
 * Failures as the user reads them. fetch() rejects with a TypeError when the request never got an
 * answer (offline, DNS, connection refused, CORS), whose text is the browser's ("Failed to fetch",
 * "NetworkError when attempting to fetch resource.", "Load failed"): it says nothing to a user.
 */
export const API_UNREACHABLE = 'The breakglass API could not be reached; check your connection and retry.';
export const IDP_UNREACHABLE = 'The identity provider could not be reached; check your connection and retry.';

/** A fetch that got no answer at all. */
export function isNetworkFailure(err: unknown): boolean {
  return err instanceof TypeError;
}

export function failureText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** GET /api/config failed: nothing to log in with, so no "Login failed". */
export function configFailureText(err: unknown): string {
  return `The configuration could not be loaded. ${isNetworkFailure(err) ? API_UNREACHABLE : failureText(err)}`;
}

/** Finishing or starting the login failed (the IdP's discovery, token or callback). */
export function loginFailureText(err: unknown): string {
  return `Login failed: ${isNetworkFailure(err) ? IDP_UNREACHABLE : failureText(err)}`;
}
