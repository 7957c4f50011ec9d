/**
 * Metrics of token verification, registered on the process registry (ControllerMetrics.registry).
 * Kept beside the verifier so that the label values (reasons) live next to the code that sets them.
 */
import { Counter, type Registry } from 'prom-client';

/** Why a token was or was not accepted; the `reason` label of breakglass_token_verifications_total. */
export type VerificationReason =
  | 'ok'
  | 'malformed_token'
  | 'algorithm_not_allowed'
  | 'unknown_issuer'
  | 'ambiguous_issuer'
  | 'key_id_not_found'
  | 'invalid_signature'
  | 'token_expired'
  | 'token_not_yet_valid'
  | 'audience_mismatch'
  | 'invalid_claims'
  | 'idp_unavailable';

export type VerificationResult = 'accepted' | 'rejected' | 'unavailable';

export class IdentityMetrics {
  readonly tokenVerifications: Counter<'result' | 'reason'>;
  readonly identityProviderFetches: Counter<'identity_provider' | 'document' | 'result'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.tokenVerifications = new Counter({
      name: 'breakglass_token_verifications_total',
      help: 'Bearer tokens verified, by result (accepted, rejected, unavailable) and reason.',
      labelNames: ['result', 'reason'],
      registers,
    });
    this.identityProviderFetches = new Counter({
      name: 'breakglass_identity_provider_fetches_total',
      help: 'Requests to identity providers for the OIDC discovery document or the key set (JWKS refreshes), by result.',
      labelNames: ['identity_provider', 'document', 'result'],
      registers,
    });
  }
}
