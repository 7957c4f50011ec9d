/**
 * Who may ask the authorization webhook (issue 9 item 3; the reference accepts anyone, §15.18):
 * the spoke's webhook kubeconfig presents a bearer token, and the hub compares it, in constant
 * time, with the token in the Secret named by the ClusterConfig's
 * `spec.webhookAuthentication.tokenSecretRef`. A ClusterConfig without it refuses every caller.
 *
 * The 8080 server speaks plain HTTP; TLS is terminated in front of it (ingress, service mesh), so
 * a bearer token is the credential that survives the termination (a client certificate would not).
 *
 * Secrets are read live (no cluster-wide Secret watch, which the RBAC refuses on purpose) and
 * kept for a short TTL so that steady traffic does not read a Secret per request; a rotated token
 * is accepted within the TTL. Tokens are never logged.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { DEFAULT_SECRET_KEY, type ClusterConfig } from '../../crds/index.ts';
import type { Clock } from '../clock/clock.ts';

export interface SecretReader {
  /** The decoded data of a Secret; undefined when it does not exist; rejects on errors. */
  readSecret(namespace: string, name: string): Promise<Record<string, string> | undefined>;
}

export type CallerAuthentication =
  | { readonly ok: true }
  | {
      readonly ok: false;
      /** For the 401 body and the log; never contains a token. */
      readonly reason: string;
    };

export interface CallerAuthenticatorOptions {
  readonly clock: Pick<Clock, 'now'>;
  /** How long a read Secret is reused. Default 30 s. */
  readonly secretTtlMs?: number;
}

interface CachedDigest {
  readonly digest: Buffer | undefined;
  readonly expiresAt: number;
}

const BEARER = /^Bearer +(\S+) *$/i;

function digest(value: string): Buffer {
  // Equal-length digests make timingSafeEqual applicable and hide the token's length.
  return createHash('sha256').update(value, 'utf8').digest();
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  return BEARER.exec(header)?.[1];
}

export class CallerAuthenticator {
  private readonly ttlMs: number;
  private readonly cache = new Map<string, CachedDigest>();
  private readonly inFlight = new Map<string, Promise<Buffer | undefined>>();

  constructor(
    private readonly secrets: SecretReader,
    private readonly options: CallerAuthenticatorOptions,
  ) {
    this.ttlMs = options.secretTtlMs ?? 30_000;
  }

  /** Checks the presented bearer token against the cluster's webhook token; rejects only when the Secret cannot be read. */
  async authenticate(cluster: ClusterConfig, presented: string | undefined): Promise<CallerAuthentication> {
    const ref = cluster.spec.webhookAuthentication?.tokenSecretRef;
    const name = cluster.metadata?.name ?? '';
    if (ref === undefined) return { ok: false, reason: `ClusterConfig ${name} configures no webhook caller authentication` };
    if (presented === undefined || presented === '') return { ok: false, reason: 'a bearer token is required' };
    const expected = await this.expectedDigest(ref.namespace, ref.name, ref.key ?? DEFAULT_SECRET_KEY);
    if (expected === undefined) return { ok: false, reason: `the webhook token Secret of ClusterConfig ${name} is missing or empty` };
    if (!timingSafeEqual(expected, digest(presented))) return { ok: false, reason: 'the bearer token is not valid for this cluster' };
    return { ok: true };
  }

  private async expectedDigest(namespace: string, name: string, key: string): Promise<Buffer | undefined> {
    const cacheKey = `${namespace}/${name}/${key}`;
    const now = this.options.clock.now();
    const cached = this.cache.get(cacheKey);
    if (cached !== undefined && cached.expiresAt > now) return cached.digest;
    let pending = this.inFlight.get(cacheKey);
    if (pending === undefined) {
      pending = this.secrets
        .readSecret(namespace, name)
        .then((data) => {
          const token = data?.[key]?.trim();
          const value = token === undefined || token === '' ? undefined : digest(token);
          this.cache.set(cacheKey, { digest: value, expiresAt: this.options.clock.now() + this.ttlMs });
          return value;
        })
        .finally(() => this.inFlight.delete(cacheKey));
      this.inFlight.set(cacheKey, pending);
    }
    return pending;
  }
}
