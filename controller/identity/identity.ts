/**
 * The contract between token verification (this folder) and its users (REST API, later the UI
 * and the authorization webhook). Transport code maps AuthenticationError to 401 and
 * IdentityProviderUnavailableError to 503.
 */

/** Who a verified bearer token says the caller is. */
export interface VerifiedIdentity {
  /** `iss` of the token, exactly as signed. */
  readonly issuer: string;
  /** metadata.name of the IdentityProvider object whose issuer signed the token. */
  readonly identityProvider: string;
  /** `sub`. */
  readonly subject: string;
  readonly email?: string;
  /** `preferred_username`. */
  readonly username?: string;
  readonly name?: string;
  /**
   * The `groups` claim. `undefined` means the token carries no such claim (group membership is
   * then unknown, not empty); `[]` means the IdP says the user is in no group.
   */
  readonly groups?: readonly string[];
  /** `exp`. */
  readonly expiresAt: Date;
}

/** Any reason a bearer token is not accepted (missing, malformed, bad signature, expired, wrong audience or issuer). */
export class AuthenticationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuthenticationError';
  }
}

/**
 * The token may well be valid, but it cannot be checked right now: the identity provider's
 * discovery document or keys could not be fetched (network, TLS, timeout, bad response). Not the
 * caller's fault, so not a 401 (which would make clients drop a good token): transport code
 * answers 503 and the caller retries. The message names the identity provider, never the token.
 */
export class IdentityProviderUnavailableError extends Error {
  constructor(
    message: string,
    /** metadata.name of the IdentityProvider that could not be reached. */
    readonly identityProvider: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'IdentityProviderUnavailableError';
  }
}

export interface TokenVerifier {
  /**
   * Resolves the caller of a raw bearer token (without the `Bearer ` prefix); rejects with
   * AuthenticationError (token not accepted) or IdentityProviderUnavailableError (cannot tell now).
   */
  verify(token: string): Promise<VerifiedIdentity>;
}
