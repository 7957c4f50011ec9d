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
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { SharedTlsAgent } from '../kube/shared-connections.ts';
import { GrantCheckError } from './grant-checker.ts';

const PATH = '/apis/authorization.k8s.io/v1/subjectaccessreviews';
/** A review's answer is a few hundred bytes; more is not a spoke talking. */
const MAX_RESPONSE_BYTES = 1024 * 1024;
/** Errors of a kept-alive socket the other side (or a load balancer) closed while it was idle. */
const STALE_SOCKET_ERRORS = new Set(['ECONNRESET', 'EPIPE']);

/** Sends one SubjectAccessReview; rejects with GrantCheckError for refusals, other errors for transport failures. */
export type SubjectAccessReviewCall = (body: V1SubjectAccessReview, cluster: string, signal: AbortSignal) => Promise<V1SubjectAccessReview>;

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
  const pool = new SharedTlsAgent();

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
    const send = () =>
      new Promise<IncomingMessage>((resolve, reject) => {
        const req = secure ? httpsRequest({ ...target, agent: pool.agentFor(options) }, resolve) : httpRequest(target, resolve);
        req.on('error', (error: NodeJS.ErrnoException) => reject(Object.assign(error, { reusedSocket: req.reusedSocket })));
        req.end(payload);
      });
    // A review changes nothing on the spoke, so a request lost with a stale pooled socket is sent
    // once more on a new one instead of failing the decision.
    const response = await send().catch((error: NodeJS.ErrnoException & { reusedSocket?: boolean }) => {
      if (error.reusedSocket === true && STALE_SOCKET_ERRORS.has(error.code ?? '') && !signal.aborted) return send();
      throw error;
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
