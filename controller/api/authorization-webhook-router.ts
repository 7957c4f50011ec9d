/**
 * Transport of the authorization webhook (reference §6.1, §6.2, §6.7): `POST
 * /api/breakglass/webhook/authorize/:cluster` and the legacy `/breakglass/webhook/authorize/:cluster`
 * on the 8080 server of every replica (and on the TLS listener for spokes with client
 * certificates, --sar-tls-cert-file). Koa only carries: the caller is authenticated from its
 * bearer token or TLS client certificate (caller-auth.ts), the body read with a 1 MiB cap (413), parsed (400 naming the field) and
 * handed to the AuthorizationPipeline, whose outcome becomes the SAR response (200) or an
 * empty 500 that makes the spoke apply its failurePolicy.
 *
 * The request id is set by the app's request-log middleware (`X-Request-Id`, echoed).
 */
import Router, { type RouterContext } from '@koa/router';
import type { Context } from 'koa';
import { TLSSocket, type DetailedPeerCertificate } from 'node:tls';
import type { Logger } from '../observability/logger.ts';
import { bearerToken, type CallerAuthenticator } from '../authorization/caller-auth.ts';
import { CacheNotSyncedError, AmbiguousClusterError, type AuthorizationPipeline, type ClusterDirectory } from '../authorization/decision.ts';
import { clusterLabel, noopWebhookMetrics, type WebhookMetrics } from '../authorization/metrics.ts';
import {
  buildSubjectAccessReviewResponse,
  MAX_SAR_BODY_BYTES,
  parseSubjectAccessReview,
  SubjectAccessReviewError,
  type SubjectAccessReviewRequest,
} from '../authorization/subject-access-review.ts';

export const WEBHOOK_PATHS = ['/api/breakglass/webhook/authorize/:cluster', '/breakglass/webhook/authorize/:cluster'] as const;

export interface WebhookRouterOptions {
  readonly pipeline: Pick<AuthorizationPipeline, 'authorize'>;
  readonly clusters: ClusterDirectory;
  readonly callers: Pick<CallerAuthenticator, 'authenticate'>;
  readonly logger: Logger;
  readonly metrics?: WebhookMetrics;
}

class BodyTooLargeError extends Error {}

/**
 * Reads at most `limit` bytes; rejects with BodyTooLargeError beyond it (without buffering the
 * rest). Plain stream events rather than `for await`: the async iterator costs an object graph
 * per request on the hottest route of the server.
 */
function readBody(ctx: Context, limit: number): Promise<Buffer> {
  const declared = Number(ctx.get('Content-Length'));
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(new BodyTooLargeError());
  const req = ctx.req;
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        req.destroy(); // as the stream iterator did: nothing more of this body is read
        reject(new BodyTooLargeError());
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const onAborted = () => onError(new Error('request aborted'));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  });
}

/**
 * The certificates the client sent on this TLS connection, leaf first (DER); empty on plain HTTP
 * or without a client certificate. The chain is followed until it repeats (a self-signed root
 * refers to itself).
 */
function peerCertificates(ctx: Context): Buffer[] {
  const socket = ctx.req.socket;
  if (!(socket instanceof TLSSocket)) return [];
  const out: Buffer[] = [];
  const seen = new Set<string>();
  let certificate: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
  while (certificate?.raw !== undefined && !seen.has(certificate.fingerprint256) && out.length < 10) {
    seen.add(certificate.fingerprint256);
    out.push(certificate.raw);
    certificate = certificate.issuerCertificate;
  }
  return out;
}

function fail(ctx: Context, status: number, error: string): void {
  ctx.status = status;
  ctx.body = { error };
}

export function createWebhookRouter(options: WebhookRouterOptions): Router {
  const metrics = options.metrics ?? noopWebhookMetrics;
  const logger = options.logger;
  const router = new Router();

  const handle = async (ctx: RouterContext): Promise<void> => {
    const started = performance.now();
    const clusterName = String(ctx.params.cluster ?? '');
    const requestId = String(ctx.state.requestId ?? ctx.response.get('X-Request-Id'));
    const elapsed = () => (performance.now() - started) / 1000;

    // Who is asking: the cluster's own webhook token, or nobody gets a decision.
    let cluster;
    try {
      cluster = options.clusters.get(clusterName);
    } catch (error) {
      if (error instanceof CacheNotSyncedError || error instanceof AmbiguousClusterError) {
        logger.warn({ requestId, cluster: clusterName, err: error.message }, 'sar_failed');
        metrics.observeDecision(clusterLabel(clusterName, false), 'error', '', elapsed());
        ctx.status = 500;
        ctx.body = '';
        return;
      }
      throw error;
    }
    if (cluster === undefined) {
      logger.info({ requestId, cluster: clusterName }, 'sar_unauthenticated');
      fail(ctx, 401, `no ClusterConfig named "${clusterName}" accepts this caller`);
      return;
    }
    const authorization = ctx.get('Authorization');
    const clientCertificates = peerCertificates(ctx);
    const caller = await options.callers.authenticate(cluster, {
      ...(authorization === '' ? {} : { bearerToken: bearerToken(authorization) }),
      clientCertificates,
    });
    if (!caller.ok) {
      // The scheme only, never the credential.
      const scheme = authorization === '' ? 'none' : (authorization.split(' ')[0] ?? '').slice(0, 20);
      logger.info({ requestId, cluster: clusterName, reason: caller.reason, scheme, clientCertificate: clientCertificates.length > 0 }, 'sar_unauthenticated');
      if (cluster.spec.webhookAuthentication?.tokenSecretRef !== undefined) ctx.set('WWW-Authenticate', 'Bearer');
      fail(ctx, 401, caller.reason);
      return;
    }

    let raw: Buffer;
    try {
      raw = await readBody(ctx, MAX_SAR_BODY_BYTES);
    } catch (error) {
      if (error instanceof BodyTooLargeError) {
        fail(ctx, 413, `the body must be at most ${MAX_SAR_BODY_BYTES} bytes`);
        return;
      }
      throw error;
    }
    let review: SubjectAccessReviewRequest;
    try {
      let decoded: unknown;
      try {
        decoded = JSON.parse(raw.toString('utf8'));
      } catch {
        throw new SubjectAccessReviewError('(body)', 'is not valid JSON');
      }
      review = parseSubjectAccessReview(decoded);
    } catch (error) {
      if (error instanceof SubjectAccessReviewError) {
        fail(ctx, 400, error.message);
        return;
      }
      throw error;
    }
    metrics.observePhase(clusterLabel(clusterName, true), 'parse', elapsed());

    const outcome = await options.pipeline.authorize(clusterName, review);
    const seconds = elapsed();
    metrics.observePhase(outcome.clusterLabel, 'total', seconds);
    if (outcome.kind === 'failure') {
      logger.warn({ requestId, cluster: clusterName, failure: outcome.failure, err: outcome.message }, 'sar_failed');
      metrics.observeDecision(outcome.clusterLabel, 'error', '', seconds);
      ctx.status = 500;
      ctx.body = '';
      return;
    }
    metrics.observeDecision(outcome.clusterLabel, outcome.decision, outcome.denySource, seconds);
    if (!outcome.allowed) {
      logger.debug({ requestId, cluster: clusterName, user: review.user, decision: outcome.decision, denySource: outcome.denySource }, 'sar_denied');
    }
    for (const warning of outcome.warnings) {
      logger.info({ requestId, cluster: clusterName, user: review.user, policy: warning.policy, score: warning.score }, 'pod_security_warning');
    }
    // Decisions are counted in the metrics; their access log line is debug (request-log.ts).
    ctx.state.accessLog = 'debug';
    ctx.status = 200;
    ctx.body = buildSubjectAccessReviewResponse(review, outcome);
  };

  for (const path of WEBHOOK_PATHS) router.post(path, handle);
  return router;
}
