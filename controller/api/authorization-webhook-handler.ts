/**
 * Transport of the authorization webhook (reference §6.1, §6.2, §6.7): `POST
 * /api/breakglass/webhook/authorize/:cluster` and the legacy `/breakglass/webhook/authorize/:cluster`
 * on the 8080 server of every replica (and on the TLS listener for spokes with client
 * certificates, --sar-tls-cert-file). The caller is authenticated from its bearer token or TLS
 * client certificate (caller-auth.ts), the body read with a 1 MiB cap (413), parsed (400 naming
 * the field) and handed to the AuthorizationPipeline, whose outcome becomes the SAR response
 * (200) or an empty 500 that makes the spoke apply its failurePolicy.
 *
 * A plain Node request handler in front of Koa, not a Koa route: every API server of every spoke
 * calls it on every request its users make, and Koa's context, middleware chain and router
 * matching over the REST API's routes were about a third of a decision's CPU (`npm run
 * bench:sar`). It keeps what the Koa app gives every other route, from the same definitions:
 * the request id (request-log.ts), the security headers (security-headers.ts), one access log
 * line per request and a generic 500 for an unexpected error.
 *
 * Rate limits, both answered 429 with Retry-After: per ClusterConfig for its authenticated
 * caller (checked after authentication, so a stranger cannot spend a spoke's budget), and per
 * client address for refused callers (a 401 costs a token; once they are spent the refusals are
 * 429s logged at debug, so a flood of wrong credentials does not flood the log either).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { TLSSocket, type DetailedPeerCertificate } from 'node:tls';
import type { Logger } from '../observability/logger.ts';
import { ACCESS_LOG_MESSAGE, requestIdFrom } from '../http/request-log.ts';
import { RateLimiter, type RateLimit } from './rate-limiter.ts';
import { SECURITY_HEADERS, STRICT_TRANSPORT_SECURITY, wantsStrictTransportSecurity } from '../http/security-headers.ts';
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

/** The path prefixes; the cluster name is the one segment after them (a trailing slash is allowed). */
export const WEBHOOK_PATH_PREFIXES = ['/api/breakglass/webhook/authorize/', '/breakglass/webhook/authorize/'] as const;

/**
 * Answers the request when its path is a webhook path and returns true; false leaves it to the
 * caller. `accessLogger` is the access log of the server it runs on (default the webhook's logger).
 */
export type WebhookHandler = (req: IncomingMessage, res: ServerResponse, accessLogger?: Logger) => boolean;

export interface WebhookRateLimits {
  /** Requests per ClusterConfig from its authenticated caller (--sar-rate-limit-per-cluster). */
  readonly perCluster: RateLimit;
  /** Refused (401) requests per client address (--sar-rate-limit-refused-per-address). */
  readonly refusedPerAddress: RateLimit;
}

/** The flags' defaults. */
export const DEFAULT_WEBHOOK_RATE_LIMITS: WebhookRateLimits = {
  perCluster: { ratePerSecond: 1000, burst: 2000 },
  refusedPerAddress: { ratePerSecond: 10, burst: 20 },
};

export interface WebhookHandlerOptions {
  readonly pipeline: Pick<AuthorizationPipeline, 'authorize'>;
  readonly clusters: ClusterDirectory;
  readonly callers: Pick<CallerAuthenticator, 'authenticate'>;
  /** The decisions' own log (sar_* messages). */
  readonly logger: Logger;
  readonly metrics?: WebhookMetrics;
  /** Default DEFAULT_WEBHOOK_RATE_LIMITS. */
  readonly rateLimits?: WebhookRateLimits;
}

/** The webhook path of a request: its path without the query, and the cluster segment. */
interface WebhookPath {
  readonly path: string;
  /** Undefined when the segment is not valid percent-encoding. */
  readonly cluster: string | undefined;
}

/** The cluster of a webhook path, or undefined when `url` is not one. */
export function matchWebhookPath(url: string): WebhookPath | undefined {
  // An absolute-form target (a spoke behind a forward proxy): only its path counts.
  const origin = url.startsWith('/') ? -1 : url.indexOf('/', url.indexOf('://') + 3);
  const target = url.startsWith('/') ? url : origin === -1 ? '/' : url.slice(origin);
  const query = target.indexOf('?');
  const path = query === -1 ? target : target.slice(0, query);
  for (const prefix of WEBHOOK_PATH_PREFIXES) {
    if (!path.startsWith(prefix)) continue;
    let segment = path.slice(prefix.length);
    if (segment.endsWith('/')) segment = segment.slice(0, -1);
    if (segment === '' || segment.includes('/')) return undefined;
    try {
      return { path, cluster: decodeURIComponent(segment) };
    } catch {
      return { path, cluster: undefined };
    }
  }
  return undefined;
}

class BodyTooLargeError extends Error {}

/** Reads at most `limit` bytes; rejects with BodyTooLargeError beyond it (without buffering the rest). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(new BodyTooLargeError());
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
        // Nothing more of this body is read: the 413 closes the connection (Connection: close).
        cleanup();
        req.pause();
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
function peerCertificates(req: IncomingMessage): Buffer[] {
  const socket = req.socket;
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

/** What one request is answered with; written once, by `send`. */
interface Reply {
  status: number;
  /** JSON text, or '' for the empty 500. */
  body: string;
  headers?: Record<string, string>;
  /** End the connection after this answer (a body left unread). */
  close?: boolean;
}

const json = (status: number, value: unknown, headers?: Record<string, string>): Reply => ({ status, body: JSON.stringify(value), ...(headers ? { headers } : {}) });
const problem = (status: number, error: string, code?: string, headers?: Record<string, string>): Reply =>
  json(status, code === undefined ? { error } : { error, code }, headers);
const EMPTY_500: Reply = { status: 500, body: '' };
const tooMany = (error: string, retryAfterSeconds: number): Reply => problem(429, error, 'RATE_LIMITED', { 'Retry-After': String(retryAfterSeconds) });
/** The scheme of an Authorization header, logged for a refusal; a header without one logs nothing of it. */
const AUTH_SCHEME = /^([A-Za-z][A-Za-z0-9._~+-]{0,19}) /;

export function createWebhookHandler(options: WebhookHandlerOptions): WebhookHandler {
  const metrics = options.metrics ?? noopWebhookMetrics;
  const logger = options.logger;
  const limits = options.rateLimits ?? DEFAULT_WEBHOOK_RATE_LIMITS;
  const perCluster = new RateLimiter(limits.perCluster);
  const refusedPerAddress = new RateLimiter(limits.refusedPerAddress);

  /**
   * A refused caller's answer: the 401 while its address has tokens for refusals, then 429
   * (logged at debug only). `log` writes the 401's info line.
   */
  const refuse = (req: IncomingMessage, clusterName: string, resolved: boolean, requestId: string, unauthorized: Reply, log: () => void): Reply => {
    const taken = refusedPerAddress.take(req.socket.remoteAddress ?? '');
    if (taken.ok) {
      log();
      return unauthorized;
    }
    logger.debug({ requestId, cluster: clusterName }, 'sar_refused_rate_limited');
    metrics.observeRateLimited(clusterLabel(clusterName, resolved), 'refused-address');
    return tooMany('too many refused requests from this address; try again later', taken.retryAfterSeconds);
  };

  /** The decision for one request; `decided` is set when the answer is a decision (access log at debug). */
  const decide = async (req: IncomingMessage, clusterName: string, requestId: string, started: number, state: { decided: boolean }): Promise<Reply> => {
    const elapsed = () => (performance.now() - started) / 1000;

    // Who is asking: the cluster's own webhook credential, or nobody gets a decision.
    let cluster;
    try {
      cluster = options.clusters.get(clusterName);
    } catch (error) {
      if (error instanceof CacheNotSyncedError || error instanceof AmbiguousClusterError) {
        logger.warn({ requestId, cluster: clusterName, err: error.message }, 'sar_failed');
        metrics.observeDecision(clusterLabel(clusterName, false), 'error', '', elapsed());
        return EMPTY_500;
      }
      throw error;
    }
    if (cluster === undefined) {
      return refuse(req, clusterName, false, requestId, problem(401, `no ClusterConfig named "${clusterName}" accepts this caller`), () =>
        logger.info({ requestId, cluster: clusterName }, 'sar_unauthenticated'),
      );
    }
    const authorization = req.headers.authorization ?? '';
    const clientCertificates = peerCertificates(req);
    const caller = await options.callers.authenticate(cluster, {
      ...(authorization === '' ? {} : { bearerToken: bearerToken(authorization) }),
      clientCertificates,
    });
    if (!caller.ok) {
      const challenge = cluster.spec.webhookAuthentication?.tokenSecretRef !== undefined ? { 'WWW-Authenticate': 'Bearer' } : undefined;
      return refuse(req, clusterName, true, requestId, problem(401, caller.reason, undefined, challenge), () => {
        // The scheme only, never the credential.
        const scheme = authorization === '' ? 'none' : (AUTH_SCHEME.exec(authorization)?.[1] ?? 'malformed');
        logger.info({ requestId, cluster: clusterName, reason: caller.reason, scheme, clientCertificate: clientCertificates.length > 0 }, 'sar_unauthenticated');
      });
    }
    const taken = perCluster.take(clusterName);
    if (!taken.ok) {
      // Per request at debug: the counter says how many, the spoke's API server retries them.
      logger.debug({ requestId, cluster: clusterName }, 'sar_rate_limited');
      metrics.observeRateLimited(clusterLabel(clusterName, true), 'cluster');
      return tooMany(`more SubjectAccessReviews for cluster ${clusterName} than this replica takes (${limits.perCluster.ratePerSecond}/s); try again later`, taken.retryAfterSeconds);
    }

    let raw: Buffer;
    try {
      raw = await readBody(req, MAX_SAR_BODY_BYTES);
    } catch (error) {
      if (error instanceof BodyTooLargeError) return { ...problem(413, `the body must be at most ${MAX_SAR_BODY_BYTES} bytes`), close: true };
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
      if (error instanceof SubjectAccessReviewError) return problem(400, error.message);
      throw error;
    }
    metrics.observePhase(clusterLabel(clusterName, true), 'parse', elapsed());

    const outcome = await options.pipeline.authorize(clusterName, review);
    const seconds = elapsed();
    metrics.observePhase(outcome.clusterLabel, 'total', seconds);
    if (outcome.kind === 'failure') {
      logger.warn({ requestId, cluster: clusterName, failure: outcome.failure, err: outcome.message }, 'sar_failed');
      metrics.observeDecision(outcome.clusterLabel, 'error', '', seconds);
      return EMPTY_500;
    }
    metrics.observeDecision(outcome.clusterLabel, outcome.decision, outcome.denySource, seconds);
    if (!outcome.allowed) {
      logger.debug({ requestId, cluster: clusterName, user: review.user, decision: outcome.decision, denySource: outcome.denySource }, 'sar_denied');
    }
    for (const warning of outcome.warnings) {
      logger.info({ requestId, cluster: clusterName, user: review.user, policy: warning.policy, score: warning.score }, 'pod_security_warning');
    }
    // Decisions are counted in the metrics; their access log line is debug.
    state.decided = true;
    return json(200, buildSubjectAccessReviewResponse(review, outcome));
  };

  const send = (req: IncomingMessage, res: ServerResponse, requestId: string, reply: Reply): void => {
    if (res.headersSent || res.destroyed) return;
    for (const [name, value] of SECURITY_HEADERS) res.setHeader(name, value);
    if (wantsStrictTransportSecurity(req)) res.setHeader('Strict-Transport-Security', STRICT_TRANSPORT_SECURITY);
    res.setHeader('X-Request-Id', requestId);
    for (const [name, value] of Object.entries(reply.headers ?? {})) res.setHeader(name, value);
    if (reply.body !== '') res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.setHeader('Content-Length', Buffer.byteLength(reply.body));
    if (reply.close === true) res.shouldKeepAlive = false;
    res.statusCode = reply.status;
    res.end(reply.body);
  };

  return (req, res, accessLogger = logger) => {
    const match = matchWebhookPath(req.url ?? '/');
    if (match === undefined) return false;
    const started = performance.now();
    const requestId = requestIdFrom(req.headers['x-request-id'], req.headers['x-correlation-id']);
    const state = { decided: false };
    const answered = (reply: Reply): void => {
      const aborted = res.destroyed && !res.headersSent;
      send(req, res, requestId, reply);
      const level = state.decided ? 'debug' : 'info';
      if (accessLogger.isLevelEnabled(level)) {
        const status = aborted ? 0 : reply.status;
        accessLogger[level]({ requestId, method: req.method, path: match.path, status, ms: Math.round(performance.now() - started), ...(aborted ? { aborted } : {}) }, ACCESS_LOG_MESSAGE);
      }
    };
    if (req.method !== 'POST') {
      answered(problem(405, `method ${req.method ?? ''} is not allowed on ${match.path}`, 'METHOD_NOT_ALLOWED', { Allow: 'POST' }));
      req.resume();
      return true;
    }
    if (match.cluster === undefined) {
      answered(problem(400, 'the cluster in the path is not valid percent-encoding', 'BAD_REQUEST'));
      req.resume();
      return true;
    }
    decide(req, match.cluster, requestId, started, state)
      .then(answered)
      .catch((err: unknown) => {
        // As the Koa app's error handler: logged once, answered without detail.
        accessLogger.error({ err, method: req.method, path: match.path }, 'request failed');
        answered({ status: 500, body: JSON.stringify({ error: 'internal error', code: 'INTERNAL_ERROR' }) });
      });
    return true;
  };
}

/** The 8080 server's request listener: the webhook's paths first, everything else to `rest` (the Koa app). */
export function withWebhook(
  webhook: WebhookHandler | undefined,
  rest: (req: IncomingMessage, res: ServerResponse) => void,
  accessLogger?: Logger,
): (req: IncomingMessage, res: ServerResponse) => void {
  if (webhook === undefined) return rest;
  return (req, res) => {
    if (!webhook(req, res, accessLogger)) rest(req, res);
  };
}
