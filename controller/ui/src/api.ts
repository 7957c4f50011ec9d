/** The REST API as the UI calls it: bearer token on every request, `{error}` bodies as ApiError. */
import type { Auth } from './auth.ts';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export class Api {
  constructor(private readonly auth: Auth) {}

  get<T>(path: string): Promise<T> {
    return this.call<T>('GET', path);
  }

  post<T>(path: string, body?: unknown): Promise<T> {
    return this.call<T>('POST', path, body);
  }

  private async call<T>(method: string, path: string, body?: unknown, retried = false): Promise<T> {
    const token = await this.auth.accessToken();
    if (token === undefined) throw new ApiError(401, 'Logging in again');
    const response = await fetch(path, {
      method,
      headers: {
        Authorization: `Bearer ${token}`,
        Accept: 'application/json',
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (response.status === 401 && !retried) {
      // The token was refused (revoked, key rotated): renew once, else log in again.
      await this.auth.renewOrLogin();
      return this.call<T>(method, path, body, true);
    }
    const text = await response.text();
    const data: unknown = text === '' ? undefined : safeJson(text);
    if (!response.ok) throw new ApiError(response.status, errorMessage(data, response));
    return data as T;
  }
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
