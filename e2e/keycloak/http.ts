/**
 * A small HTTP(S) client for talking to Keycloak from tests: Node's fetch cannot trust an extra
 * CA without undici's Agent, while node:https takes the CA PEM directly.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { checkServerIdentity } from 'node:tls';

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface HttpRequest {
  method?: string;
  headers?: Record<string, string>;
  /** Sent as application/x-www-form-urlencoded. */
  form?: Record<string, string>;
  /** Sent as application/json. */
  json?: unknown;
  /** Extra CA (PEM) to trust besides the system ones; undefined trusts the system CAs only. */
  ca?: string;
  timeoutMs?: number;
  /**
   * Sends this Host header (e.g. to prove the issuer does not follow it) while the TLS
   * certificate is still checked against the URL's host.
   */
  hostHeader?: string;
}

export function httpCall(url: string, req: HttpRequest = {}): Promise<HttpResponse> {
  const headers: Record<string, string> = { Accept: 'application/json', ...req.headers };
  if (req.hostHeader !== undefined) headers.Host = req.hostHeader;
  let payload: string | undefined;
  if (req.form) {
    payload = new URLSearchParams(req.form).toString();
    headers['Content-Type'] = 'application/x-www-form-urlencoded';
  } else if (req.json !== undefined) {
    payload = JSON.stringify(req.json);
    headers['Content-Type'] = 'application/json';
  }
  if (payload !== undefined) headers['Content-Length'] = String(Buffer.byteLength(payload));
  const timeout = req.timeoutMs ?? 120_000;
  const secure = url.startsWith('https:');
  return new Promise((resolve, reject) => {
    const options: RequestOptions = { method: req.method ?? (payload === undefined ? 'GET' : 'POST'), headers, timeout };
    if (req.ca !== undefined) options.ca = req.ca;
    // Node checks the certificate against the Host header; keep checking the real host.
    if (req.hostHeader !== undefined) options.checkServerIdentity = (_host, cert) => checkServerIdentity(new URL(url).hostname, cert);
    const onResponse = (res: import('node:http').IncomingMessage): void => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    };
    const r = secure
      ? httpsRequest(url, options, onResponse)
      : httpRequest(url, options, onResponse);
    r.on('timeout', () => r.destroy(new Error(`${options.method ?? 'GET'} ${url}: no answer within ${timeout} ms`)));
    r.on('error', reject);
    r.end(payload);
  });
}

/** Parses a JSON body of a 2xx answer; anything else throws naming the request and the answer. */
export function expectJson<T>(what: string, res: HttpResponse): T {
  if (res.status < 200 || res.status > 299) {
    throw new Error(`${what}: HTTP ${res.status}: ${res.body.slice(0, 500)}`);
  }
  return JSON.parse(res.body) as T;
}
