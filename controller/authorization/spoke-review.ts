/**
 * The grant check's one call, `POST /apis/authorization.k8s.io/v1/subjectaccessreviews` on a
 * spoke, made with Node's https module over one keep-alive agent per kubeconfig instead of
 * client-node's generated API: that API cost about 1.1 ms of CPU per call against 0.4 ms for
 * the same request made here (`npm run bench:sar`, uncached decisions), and a grant check runs
 * for every decision the cache cannot answer and for every renewal.
 *
 * Credentials still come from client-node (KubeConfig.applyToHTTPSOptions, per call): bearer
 * tokens, token files, exec plugins and client certificates work as for every other call. A
 * kubeconfig with a proxy-url is left to client-node (returns undefined).
 */
import type { KubeConfig, V1SubjectAccessReview } from '@kubernetes/client-node';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent, request as httpsRequest, type AgentOptions, type RequestOptions } from 'node:https';
import { GrantCheckError } from './grant-checker.ts';

const PATH = '/apis/authorization.k8s.io/v1/subjectaccessreviews';
/** A review's answer is a few hundred bytes; more is not a spoke talking. */
const MAX_RESPONSE_BYTES = 1024 * 1024;
/** Idle connections close before a spoke API server would close them (see kube/shared-connections.ts). */
const IDLE_SOCKET_TIMEOUT_MS = 30_000;
const TLS_OPTIONS = ['ca', 'cert', 'key', 'pfx', 'passphrase', 'rejectUnauthorized', 'servername'] as const;
type TlsOptions = Pick<AgentOptions, (typeof TLS_OPTIONS)[number]>;

/** Sends one SubjectAccessReview; rejects with GrantCheckError for refusals, other errors for transport failures. */
export type SubjectAccessReviewCall = (body: V1SubjectAccessReview, cluster: string, signal: AbortSignal) => Promise<V1SubjectAccessReview>;

function sameTls(a: TlsOptions, b: TlsOptions): boolean {
  return TLS_OPTIONS.every((name) => {
    const x = a[name];
    const y = b[name];
    return Buffer.isBuffer(x) && Buffer.isBuffer(y) ? x.equals(y) : x === y;
  });
}

function readJson(response: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    response.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_RESPONSE_BYTES) {
        response.destroy(new Error(`the response is larger than ${MAX_RESPONSE_BYTES} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    response.on('error', reject);
    response.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks, size).toString('utf8')));
      } catch {
        reject(new Error('the response is not JSON'));
      }
    });
  });
}

/** The SubjectAccessReview call for a spoke's kubeconfig, or undefined when client-node must make it (a proxy). */
export function subjectAccessReviewCall(kubeConfig: KubeConfig): SubjectAccessReviewCall | undefined {
  const cluster = kubeConfig.getCurrentCluster();
  if (cluster === null || cluster.proxyUrl !== undefined) return undefined;
  const base = new URL(cluster.server);
  const secure = base.protocol === 'https:';
  if (!secure && base.protocol !== 'http:') return undefined;
  // A server URL may carry a path prefix (a cluster behind a gateway).
  const path = `${base.pathname.replace(/\/+$/, '')}${PATH}`;
  let shared: { tls: TlsOptions; agent: Agent } | undefined;

  const agentFor = (options: RequestOptions): Agent => {
    const tls: TlsOptions = Object.fromEntries(TLS_OPTIONS.map((name) => [name, options[name]]));
    if (shared === undefined || !sameTls(shared.tls, tls)) {
      // Rotated credentials (an exec plugin's new client certificate): a new pool; the old one's idle sockets time out.
      shared = { tls, agent: new Agent({ ...tls, keepAlive: true, timeout: IDLE_SOCKET_TIMEOUT_MS }) };
    }
    return shared.agent;
  };

  return async (body, clusterName, signal) => {
    const options: RequestOptions = {};
    await kubeConfig.applyToHTTPSOptions(options);
    const payload = JSON.stringify(body);
    const headers: Record<string, string | number> = {
      ...(options.headers as Record<string, string> | undefined),
      accept: 'application/json',
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(payload),
    };
    const target: RequestOptions = {
      protocol: base.protocol,
      hostname: base.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: base.port === '' ? undefined : Number(base.port),
      path,
      method: 'POST',
      headers,
      signal,
      ...(options.auth === undefined ? {} : { auth: options.auth }),
    };
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = secure ? httpsRequest({ ...target, agent: agentFor(options) }, resolve) : httpRequest(target, resolve);
      req.on('error', reject);
      req.end(payload);
    });
    const status = response.statusCode ?? 0;
    if (status === 401) {
      response.resume();
      throw new GrantCheckError('no-credentials', clusterName, `spoke ${clusterName} refused the hub's credentials (401)`);
    }
    if (status === 403) {
      response.resume();
      throw new GrantCheckError('forbidden', clusterName, `the hub's identity on spoke ${clusterName} may not do this (403)`);
    }
    if (status < 200 || status > 299) {
      response.resume();
      throw new GrantCheckError('unreachable', clusterName, `spoke ${clusterName} answered HTTP ${status}`);
    }
    return (await readJson(response)) as V1SubjectAccessReview;
  };
}
