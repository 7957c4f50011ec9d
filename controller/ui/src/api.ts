/** The REST API as the UI calls it: bearer token on every request, `{error}` bodies as ApiError. */
import { API_UNREACHABLE, IDP_UNREACHABLE, isNetworkFailure } from './logic/failures.ts';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The login cannot be used: a redirect to the IdP is under way (`redirecting`), or the API
 * refused a freshly renewed token and no automatic redirect may follow (the user logs in again
 * by hand). Polling stops on it.
 */
export class LoginError extends ApiError {
  constructor(
    message: string,
    readonly redirecting: boolean,
  ) {
    super(401, message);
  }
}

/** What asking for a token led to (auth.ts). */
export type TokenOutcome =
  | { kind: 'token'; token: string }
  /** The browser is leaving for the IdP. */
  | { kind: 'redirecting' }
  /** No token, and an automatic login redirect just happened: no second one (no loop). */
  | { kind: 'suppressed' };

/** The part of Auth the API client uses. */
export interface TokenSource {
  /** A valid access token, renewed first when it has expired. */
  accessToken(): Promise<TokenOutcome>;
  /** The API refused the token: renew it with the refresh token, else log in again. */
  renewOrLogin(): Promise<TokenOutcome>;
}

export type Fetch = (input: string, init: RequestInit) => Promise<Response>;

export class Api {
  private readonly refusedListeners = new Set<(message: string) => void>();

  constructor(
    private readonly auth: TokenSource,
    // Called as a plain function: window.fetch refuses to run with another `this`.
    private readonly fetcher: Fetch = (input, init) => fetch(input, init),
  ) {}

  get<T>(path: string): Promise<T> {
    return this.call<T>('GET', path);
  }

  post<T>(path: string, body?: unknown): Promise<T> {
    return this.call<T>('POST', path, body);
  }

  /** Told (with the text to show) when the API refuses the login for good; returns the unsubscribe. */
  onLoginRefused(listener: (message: string) => void): () => void {
    this.refusedListeners.add(listener);
    return () => this.refusedListeners.delete(listener);
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let response = await this.send(method, path, body, this.tokenOf(await this.askAuth(() => this.auth.accessToken())));
    if (response.status === 401) {
      // The token was refused (revoked, key rotated): renew once, else log in again.
      const refusal = errorMessage(await readBody(response), response);
      const renewed = await this.askAuth(() => this.auth.renewOrLogin());
      response = await this.send(method, path, body, this.tokenOf(renewed, refusal));
      if (response.status === 401) {
        // Refused although just renewed (audience, disabled IdentityProvider, clock skew):
        // renewing again would be refused again. Stop here; the user decides.
        throw this.refused(errorMessage(await readBody(response), response));
      }
    }
    const data = await readBody(response);
    if (!response.ok) throw new ApiError(response.status, errorMessage(data, response));
    return data as T;
  }

  private async send(method: string, path: string, body: unknown, token: string): Promise<Response> {
    try {
      return await this.fetcher(path, {
        method,
        headers: {
          Authorization: `Bearer ${token}`,
          Accept: 'application/json',
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (err) {
      throw isNetworkFailure(err) ? new ApiError(0, API_UNREACHABLE) : err;
    }
  }

  /** Token renewal and login talk to the IdP: its network failures get a text of their own. */
  private async askAuth(step: () => Promise<TokenOutcome>): Promise<TokenOutcome> {
    try {
      return await step();
    } catch (err) {
      throw isNetworkFailure(err) ? new ApiError(0, IDP_UNREACHABLE) : err;
    }
  }

  /** `refusal`: what the API said about the token being replaced. */
  private tokenOf(outcome: TokenOutcome, refusal?: string): string {
    if (outcome.kind === 'token') return outcome.token;
    if (outcome.kind === 'redirecting') throw new LoginError('Logging in again', true);
    throw this.refused(refusal);
  }

  private refused(serverMessage: string | undefined): LoginError {
    const message =
      serverMessage === undefined ? 'Your login has expired and could not be renewed.' : `The API refused your login: ${serverMessage}`;
    for (const listener of this.refusedListeners) listener(message);
    return new LoginError(message, false);
  }
}

async function readBody(response: Response): Promise<unknown> {
  const text = await response.text();
  return text === '' ? undefined : safeJson(text);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The API's `{error, details?}` (reference §8.2) as one sentence. */
export function errorMessage(data: unknown, response: { status: number; statusText: string }): string {
  if (data && typeof data === 'object' && 'error' in data && typeof data.error === 'string') {
    const details = 'details' in data && typeof data.details === 'string' && data.details !== '' ? ` (${data.details})` : '';
    return `${data.error}${details}`;
  }
  return `Request failed: ${response.status} ${response.statusText}`.trim();
}
