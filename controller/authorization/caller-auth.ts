/**
 * Who may ask the authorization webhook (issue 9 item 3; the reference accepts anyone, §15.18).
 * Per ClusterConfig, `spec.webhookAuthentication` names one or both credentials the spoke's
 * webhook kubeconfig may present:
 * - `tokenSecretRef`: a bearer token, compared in constant time with the token in that Secret.
 *   It survives TLS termination in front of the 8080 server (ingress, service mesh).
 * - `clientCertificate`: a client certificate that must chain to the PEM CA bundle in
 *   `caSecretRef` (and carry `commonName` when set). Only the controller's own TLS listener
 *   (--sar-tls-cert-file) sees client certificates, so the spoke talks to it directly (or through
 *   TLS passthrough); a certificate can never be claimed by a forwarded header.
 * When both are set either one is enough (for moving from one to the other). A ClusterConfig
 * without webhookAuthentication refuses every caller.
 *
 * Secrets are read live (no cluster-wide Secret watch, which the RBAC refuses on purpose) and
 * kept for a short TTL so that steady traffic does not read a Secret per request; a rotated token
 * or CA is accepted within the TTL. A failed read is remembered for a few seconds too, so that
 * requests (anyone's: this runs before the caller is known) do not each send the API server a
 * read while it fails. Tokens are never logged.
 */
import { timingSafeEqual } from 'node:crypto';
import { DEFAULT_SECRET_KEY, type ClusterConfig, type SecretKeyReference } from '../../crds/index.ts';
import type { Clock } from '../clock/clock.ts';
import { parseCaBundle, verifyClientCertificate } from './client-certificate.ts';

export interface SecretReader {
  /** The decoded data of a Secret; undefined when it does not exist; rejects on errors. */
  readSecret(namespace: string, name: string): Promise<Record<string, string> | undefined>;
}

export type CallerAuthentication =
  | { readonly ok: true }
  | {
      readonly ok: false;
      /** For the log (the 401 body does not carry it); never contains a token. */
      readonly reason: string;
    };

/** What the caller presented; the transport fills in what its connection carries. */
export interface PresentedCredentials {
  readonly bearerToken?: string;
  /** DER certificates the client sent over TLS, leaf first; empty or absent without TLS or without a certificate. */
  readonly clientCertificates?: readonly Buffer[];
}

export interface CallerAuthenticatorOptions {
  /** `now()` for the Secret TTL; `wallNow()` for certificate validity (defaults to Date.now()). */
  readonly clock: Pick<Clock, 'now'> & Partial<Pick<Clock, 'wallNow'>>;
  /** How long a read Secret is reused. Default 30 s. */
  readonly secretTtlMs?: number;
  /** How long a failed Secret read is answered with its error instead of another read. Default 5 s. */
  readonly secretFailureTtlMs?: number;
}

/** A Secret the caller's credential is checked against could not be read: no one can be authenticated for now. */
export class SecretUnavailableError extends Error {
  constructor(
    readonly namespace: string,
    readonly secretName: string,
    cause: unknown,
  ) {
    super(`Secret ${namespace}/${secretName} could not be read: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

type Cached<T> = { readonly value: T | undefined; readonly expiresAt: number } | { readonly error: SecretUnavailableError; readonly expiresAt: number };

const BEARER = /^Bearer +(\S+) *$/i;

/**
 * Whether `presented` is the expected token. The bytes are compared in constant time through a
 * buffer of the expected token's length, so the time does not depend on where they differ and a
 * wrong length is not refused early; it grows with the presented length only by a copy of at
 * most the expected length (nanoseconds, against a network round trip). A SHA-256 of the
 * presented token per request did the same at several times the cost, on every decision.
 */
export function matchesToken(expected: Buffer, presented: string): boolean {
  const given = Buffer.from(presented, 'utf8');
  const window = Buffer.alloc(expected.length);
  given.copy(window, 0, 0, expected.length);
  return timingSafeEqual(window, expected) && given.length === expected.length;
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  return BEARER.exec(header)?.[1];
}

export class CallerAuthenticator {
  private readonly ttlMs: number;
  private readonly failureTtlMs: number;
  private readonly cache = new Map<string, Cached<unknown>>();
  private readonly inFlight = new Map<string, Promise<unknown>>();

  constructor(
    private readonly secrets: SecretReader,
    private readonly options: CallerAuthenticatorOptions,
  ) {
    this.ttlMs = options.secretTtlMs ?? 30_000;
    this.failureTtlMs = options.secretFailureTtlMs ?? 5_000;
  }

  /**
   * Checks what the caller presented against the cluster's configured credentials; either
   * configured one that matches is enough. Rejects with SecretUnavailableError only when no
   * credential matched and a Secret needed to check one could not be read.
   */
  async authenticate(cluster: ClusterConfig, presented: PresentedCredentials): Promise<CallerAuthentication> {
    const auth = cluster.spec.webhookAuthentication;
    const name = cluster.metadata?.name ?? '';
    if (auth === undefined || (auth.tokenSecretRef === undefined && auth.clientCertificate === undefined)) {
      return { ok: false, reason: `ClusterConfig ${name} configures no webhook caller authentication` };
    }
    const reasons: string[] = [];
    let unavailable: SecretUnavailableError | undefined;
    const check = async (run: () => Promise<string | undefined>): Promise<boolean> => {
      try {
        const result = await run();
        if (result === undefined) return true;
        reasons.push(result);
      } catch (error) {
        if (!(error instanceof SecretUnavailableError)) throw error;
        unavailable ??= error;
      }
      return false;
    };
    const certificate = auth.clientCertificate;
    if (certificate !== undefined && (await check(() => this.checkCertificate(name, certificate.caSecretRef, certificate.commonName, presented.clientCertificates ?? [])))) {
      return { ok: true };
    }
    const tokenRef = auth.tokenSecretRef;
    if (tokenRef !== undefined && (await check(() => this.checkToken(name, tokenRef, presented.bearerToken)))) return { ok: true };
    if (unavailable !== undefined) throw unavailable;
    return { ok: false, reason: reasons.join('; ') };
  }

  /** undefined when the token is right, else why not. */
  private async checkToken(cluster: string, ref: SecretKeyReference, presented: string | undefined): Promise<string | undefined> {
    if (presented === undefined || presented === '') return 'a bearer token is required';
    const expected = await this.secretValue(ref, 'token', (raw) => {
      const token = raw?.trim();
      return token === undefined || token === '' ? undefined : Buffer.from(token, 'utf8');
    });
    if (expected === undefined) return `the webhook token Secret of ClusterConfig ${cluster} is missing or empty`;
    if (!matchesToken(expected, presented)) return 'the bearer token is not valid for this cluster';
    return undefined;
  }

  /** undefined when the certificate chains to the cluster's CA (and has the CN), else why not. */
  private async checkCertificate(
    cluster: string,
    ref: SecretKeyReference,
    commonName: string | undefined,
    presented: readonly Buffer[],
  ): Promise<string | undefined> {
    if (presented.length === 0) return 'a client certificate is required';
    const anchors = await this.secretValue(ref, 'ca', (raw) => {
      const bundle = raw === undefined ? [] : parseCaBundle(raw);
      return bundle.length === 0 ? undefined : bundle;
    });
    if (anchors === undefined) return `the webhook client CA Secret of ClusterConfig ${cluster} is missing or holds no PEM certificate`;
    const nowMs = this.options.clock.wallNow?.().getTime() ?? Date.now();
    const result = verifyClientCertificate({ presented, anchors, nowMs, ...(commonName === undefined ? {} : { commonName }) });
    return result.ok ? undefined : result.reason;
  }

  /** A value derived from one Secret key, shared by concurrent callers and kept for the TTL. */
  private async secretValue<T>(ref: SecretKeyReference, kind: string, derive: (raw: string | undefined) => T | undefined): Promise<T | undefined> {
    const key = ref.key ?? DEFAULT_SECRET_KEY;
    const cacheKey = `${kind}:${ref.namespace}/${ref.name}/${key}`;
    const cached = this.cache.get(cacheKey);
    if (cached !== undefined && cached.expiresAt > this.options.clock.now()) {
      if ('error' in cached) throw cached.error;
      return cached.value as T | undefined;
    }
    let pending = this.inFlight.get(cacheKey) as Promise<T | undefined> | undefined;
    if (pending === undefined) {
      pending = this.secrets
        .readSecret(ref.namespace, ref.name)
        .then(
          (data) => {
            const value = derive(data?.[key]);
            this.cache.set(cacheKey, { value, expiresAt: this.options.clock.now() + this.ttlMs });
            return value;
          },
          (cause: unknown) => {
            const error = new SecretUnavailableError(ref.namespace, ref.name, cause);
            this.cache.set(cacheKey, { error, expiresAt: this.options.clock.now() + this.failureTtlMs });
            throw error;
          },
        )
        .finally(() => this.inFlight.delete(cacheKey));
      this.inFlight.set(cacheKey, pending);
    }
    return pending;
  }
}
