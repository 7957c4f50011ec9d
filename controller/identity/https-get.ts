/**
 * A small HTTPS GET for the identity provider's discovery document and key set.
 *
 * Why not global fetch: Node 20's fetch (undici) takes no per-request CA without the undici
 * package's Agent, and the IdentityProvider's `spec.oidc.certificateAuthority` must apply to that
 * provider only. node:https takes `ca` per request.
 *
 * CA decision: a configured certificateAuthority REPLACES the system roots for that provider (this
 * is what node:https does with `ca`, and what kube-apiserver's AuthenticationConfiguration and
 * client-go do with a CA bundle). An admin who names the CA of the IdP says "this issuer's
 * certificate comes from here"; adding the system roots would let any public CA impersonate a
 * private IdP. Without certificateAuthority the system roots are used. Certificate checks are never
 * skipped.
 */
import { request } from 'node:https';

export interface HttpsGetOptions {
  /** PEM bundle trusted instead of the system roots. */
  ca?: string;
  signal: AbortSignal;
  /** Responses larger than this are refused. @default 1 MiB */
  maxBytes?: number;
}

export interface HttpsGetResult {
  status: number;
  body: string;
}

const DEFAULT_MAX_BYTES = 1024 * 1024;

/** GET `url` (https only, no redirects followed). Rejects on network, TLS, size and abort errors. */
export function httpsGet(url: string, options: HttpsGetOptions): Promise<HttpsGetResult> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  return new Promise((resolve, reject) => {
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      reject(new Error(`not a URL: ${url}`));
      return;
    }
    if (target.protocol !== 'https:') {
      reject(new Error(`refusing non-https URL ${target.origin}`));
      return;
    }
    if (options.signal.aborted) {
      reject(abortError(options.signal));
      return;
    }
    const req = request(
      target,
      {
        method: 'GET',
        headers: { accept: 'application/json' },
        signal: options.signal,
        // One connection per fetch: keys are fetched rarely, and a pooled socket would outlive a
        // CA change of the IdentityProvider.
        agent: false,
        ...(options.ca !== undefined ? { ca: options.ca } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBytes) {
            req.destroy(new Error(`response of ${target.origin} larger than ${maxBytes} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
        // An aborted or reset response may end with 'close' alone; without this the promise would never settle.
        res.on('close', () => {
          if (!res.complete) reject(options.signal.aborted ? abortError(options.signal) : new Error(`response of ${target.origin} ended early`));
        });
      },
    );
    req.on('error', (err) => reject(options.signal.aborted ? abortError(options.signal) : err));
    req.end();
  });
}

function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new Error('request aborted');
}
