/**
 * Whether a refresh token is worth sending. Keycloak's refresh tokens are JWTs with an `exp`;
 * one past it would only earn a 400 from the token endpoint (an error in the browser console)
 * before the login redirect that follows anyway. Opaque tokens are tried.
 */
export function refreshTokenUsable(token: string | undefined, now: Date): boolean {
  if (!token) return false;
  const payload = token.split('.')[1];
  if (token.split('.').length !== 3 || !payload) return true;
  try {
    const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(payload.length / 4) * 4, '='));
    const exp = (JSON.parse(json) as { exp?: unknown }).exp;
    // A little margin: the request takes time, and clocks differ.
    return typeof exp !== 'number' || exp * 1000 > now.getTime() + 5000;
  } catch {
    return true;
  }
}
