/**
 * Test support: raw HTTP(S) requests to the admission servers, with full control over the body
 * and headers (no client library normalises the malformed input the tests send).
 */
import { request as httpRequest, type Agent, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

export interface RawRequest {
  port: number;
  path: string;
  method?: string;
  headers?: OutgoingHttpHeaders;
  /** Sent as is; omitted for a request without body. */
  body?: string | Buffer;
  /** Send the body in chunks without Content-Length. */
  chunked?: boolean;
  /** HTTPS with this CA (PEM) as the only trusted root. */
  ca?: string;
  /** Reuse connections through this agent; by default every request opens its own. */
  agent?: Agent;
}

export function sendRaw(options: RawRequest): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const headers: OutgoingHttpHeaders = { ...options.headers };
    if (options.body !== undefined && !options.chunked && headers['content-length'] === undefined) {
      headers['content-length'] = Buffer.byteLength(options.body);
    }
    const common = {
      host: '127.0.0.1',
      port: options.port,
      path: options.path,
      method: options.method ?? 'POST',
      headers,
      agent: options.agent ?? (false as const),
    };
    const req = options.ca ? httpsRequest({ ...common, ca: options.ca, servername: undefined }) : httpRequest(common);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (options.body === undefined) {
      req.end();
    } else if (options.chunked) {
      const body = Buffer.from(options.body);
      const step = 64 * 1024;
      for (let offset = 0; offset < body.length; offset += step) req.write(body.subarray(offset, offset + step));
      req.end();
    } else {
      req.end(options.body);
    }
  });
}
