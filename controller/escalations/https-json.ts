/**
 * A small HTTPS JSON client for the Keycloak admin API: every request is bounded by a time
 * limit and the caller's signal, and TLS trusts the identity provider's configured CA only (the
 * system roots when none is configured). Verification is never switched off (the CRD forbids
 * insecureSkipVerify).
 *
 * node:https rather than fetch: fetch cannot take a per-connection CA without an extra
 * dispatcher dependency, and an https.Agent gives keep-alive per identity provider.
 */
import { Agent, request } from 'node:https';
import { RequestTimeoutError } from '../kube/request-options.ts';

/** A response body larger than this is refused; Keycloak pages are far smaller. */
export const MAX_RESPONSE_BYTES = 8 * 1024 * 1024;

/** The server answered with a non-2xx status. */
export class HttpStatusError extends Error {
  constructor(
    readonly what: string,
    readonly status: number,
    /** The start of the body, for logs (Keycloak error bodies carry no secrets). */
    readonly bodyExcerpt: string,
  ) {
    super(`${what} answered HTTP ${status}${bodyExcerpt ? `: ${bodyExcerpt}` : ''}`);
    this.name = 'HttpStatusError';
  }
}

/** The request never got an HTTP answer (refused, reset, DNS, TLS verification). */
export class TransportError extends Error {
  constructor(
    readonly what: string,
    readonly code: string | undefined,
    cause: unknown,
  ) {
    super(`${what} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'TransportError';
  }
}

/** The answer was not the JSON we asked for. */
export class InvalidResponseError extends Error {
  constructor(what: string, detail: string) {
    super(`${what}: ${detail}`);
    this.name = 'InvalidResponseError';
  }
}

export interface HttpsJsonClientOptions {
  /** PEM CA(s) trusted instead of the system roots. */
  certificateAuthority?: string;
  /** Upper bound of one request, connect to last body byte. */
  timeoutMs: number;
  /** Parallel connections to the server. @default 8 */
  maxSockets?: number;
}

export interface JsonRequest {
  method: 'GET' | 'POST';
  url: URL;
  headers?: Record<string, string>;
  /** Sent as is (a form body for the token endpoint). */
  body?: string;
  signal?: AbortSignal;
}

/**
 * The `ca` option of the agent. A configured CA replaces the system roots (as for token
 * verification in identity/https-get.ts and kube-apiserver's AuthenticationConfiguration):
 * this client sends the Keycloak client secret, so a certificate from any public CA for the
 * same host name must not be able to receive it. The reference appends to the roots; §15.
 */
export function trustedCertificateAuthorities(certificateAuthority: string | undefined): string[] | undefined {
  const ca = certificateAuthority?.trim();
  return ca ? [ca] : undefined;
}

export class HttpsJsonClient {
  private readonly agent: Agent;

  constructor(private readonly options: HttpsJsonClientOptions) {
    const cas = trustedCertificateAuthorities(options.certificateAuthority);
    this.agent = new Agent({
      keepAlive: true,
      maxSockets: options.maxSockets ?? 8,
      minVersion: 'TLSv1.2',
      ...(cas ? { ca: cas } : {}),
    });
  }

  /** Sends the request and parses the JSON answer; throws the errors above, or the abort reason. */
  send(req: JsonRequest): Promise<unknown> {
    const what = `${req.method} ${req.url.origin}${req.url.pathname}`;
    if (req.url.protocol !== 'https:') return Promise.reject(new TransportError(what, 'ERR_NOT_HTTPS', new Error('only https is allowed')));
    return new Promise((resolve, reject) => {
      let settled = false;
      const finish = (err: unknown, value?: unknown): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        req.signal?.removeEventListener('abort', onAbort);
        if (err === undefined) resolve(value);
        else reject(err);
      };
      const outgoing = request(
        req.url,
        {
          method: req.method,
          agent: this.agent,
          headers: { accept: 'application/json', ...req.headers },
        },
        (response) => {
          const chunks: Buffer[] = [];
          let size = 0;
          response.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_RESPONSE_BYTES) {
              outgoing.destroy(new InvalidResponseError(what, `body larger than ${MAX_RESPONSE_BYTES} bytes`));
              return;
            }
            chunks.push(chunk);
          });
          response.on('error', (err) => finish(err));
          response.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = response.statusCode ?? 0;
            if (status < 200 || status > 299) {
              finish(new HttpStatusError(what, status, text.slice(0, 200).replace(/\s+/g, ' ').trim()));
              return;
            }
            if (text.trim() === '') {
              finish(undefined, undefined);
              return;
            }
            try {
              finish(undefined, JSON.parse(text));
            } catch {
              finish(new InvalidResponseError(what, 'body is not JSON'));
            }
          });
        },
      );
      // Registered first: destroying the request below emits 'error', which must never go unheard.
      outgoing.on('error', (err: NodeJS.ErrnoException) => {
        finish(err instanceof InvalidResponseError ? err : new TransportError(what, err.code, err));
      });
      const onAbort = (): void => {
        const reason: unknown = req.signal?.reason ?? new Error(`${what} aborted`);
        finish(reason);
        outgoing.destroy();
      };
      const timer = setTimeout(() => {
        const err = new RequestTimeoutError(what, this.options.timeoutMs);
        finish(err);
        outgoing.destroy();
      }, this.options.timeoutMs);
      if (req.signal?.aborted) {
        onAbort();
        return;
      }
      req.signal?.addEventListener('abort', onAbort, { once: true });
      if (req.body !== undefined) outgoing.write(req.body);
      outgoing.end();
    });
  }

  /** Closes kept-alive connections. */
  close(): void {
    this.agent.destroy();
  }
}
