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
 * A ClusterConfig's authenticated caller has a rate limit (checked after authentication, so a
 * stranger cannot spend a spoke's budget); past it the answer is 429 with Retry-After. A refused
 * caller always gets 401 at once, never 429: a spoke's API server retries a 429 within its
 * webhook timeout but not a 401, so a spoke with a wrong token would multiply its requests and
 * hang each of its users' requests instead of failing fast. Every refusal gets the same 401 body
 * (the reason is logged, not sent). Refusals are counted; their info log lines are limited per
 * client address and cluster label, so a flood of wrong credentials or made-up cluster names
 * does not flood the log (the rest go to debug).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { TLSSocket, type DetailedPeerCertificate } from 'node:tls';
import type { Logger } from '../observability/logger.ts';
import { ERROR_CODES } from '../http/error-codes.ts';
import { ACCESS_LOG_MESSAGE, requestIdFrom } from '../http/request-log.ts';
import { RateLimiter, type RateLimit } from './rate-limiter.ts';
import { SECURITY_HEADERS, STRICT_TRANSPORT_SECURITY, wantsStrictTransportSecurity } from '../http/security-headers.ts';
import { bearerToken, SecretUnavailableError, type CallerAuthentication, type CallerAuthenticator } from '../authorization/caller-auth.ts';
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
}

/** The flag's default. */
export const DEFAULT_WEBHOOK_RATE_LIMITS: WebhookRateLimits = { perCluster: { ratePerSecond: 1000, burst: 2000 } };
/** Refusals logged at info per client address and cluster label (behind one TLS terminator all spokes share an address); the rest at debug (all are counted). */
const REFUSAL_LOG_LIMIT: RateLimit = { ratePerSecond: 1, burst: 10 };
/**
 * What repeats on every request of a cluster (past its limit, its caller Secret unreadable) is
 * logged at warn once per 10 s per cluster, the rest at debug; every one is counted.
 */
const OCCASIONAL_WARN_LIMIT: RateLimit = { ratePerSecond: 0.1, burst: 1 };

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
/** The client went away before its body was read: nobody is left to answer. */
class RequestAbortedError extends Error {}

/**
 * Reads at most `limit` bytes; rejects with BodyTooLargeError beyond it (without buffering the
 * rest) and with RequestAbortedError when the client leaves, also before this was called (it is
 * called after authentication, which may wait for a Secret read).
 */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(new BodyTooLargeError());
  // A destroyed request emits nothing more: listeners added now would wait forever.
  if (req.destroyed) return Promise.reject(new RequestAbortedError('the client closed the connection before its body was read'));
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
    // Errors of an incoming request are its client's connection failing, not the server's.
    const onError = (error: Error) => {
      cleanup();
      reject(new RequestAbortedError(error.message));
    };
    const onAborted = () => onError(new Error('the client closed the connection while sending its body'));
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

/** A body sent chunked or declared beyond the limit (no Content-Length and no Transfer-Encoding is an empty one). */
function unboundedBody(req: IncomingMessage): boolean {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > MAX_SAR_BODY_BYTES;
}

/** Per request: its id, and whether its access line belongs at debug. */
interface RequestState {
  readonly requestId: string;
  quiet: boolean;
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
/** Not sent: the client left. Its access line says so (status 0, aborted). */
const ABORTED: Reply = { status: 0, body: '' };
const tooMany = (error: string, retryAfterSeconds: number): Reply => problem(429, error, ERROR_CODES[429], { 'Retry-After': String(retryAfterSeconds) });
/**
 * Every refused caller gets the same 401, whatever the reason: a stranger learns neither which
 * ClusterConfigs exist nor how they authenticate their callers. The reason is in the hub's log.
 */
const REFUSED: Reply = problem(401, 'this caller is not authenticated for the cluster in the path; the hub logs why (sar_unauthenticated)', ERROR_CODES[401], {
  'WWW-Authenticate': 'Bearer',
});
/** The scheme of an Authorization header, logged for a refusal; a header without one logs nothing of it. */
const AUTH_SCHEME = /^([A-Za-z][A-Za-z0-9._~+-]{0,19}) /;

export function createWebhookHandler(options: WebhookHandlerOptions): WebhookHandler {
  const metrics = options.metrics ?? noopWebhookMetrics;
  const logger = options.logger;
  const limits = options.rateLimits ?? DEFAULT_WEBHOOK_RATE_LIMITS;
  const perCluster = new RateLimiter(limits.perCluster);
  const refusalLog = new RateLimiter(REFUSAL_LOG_LIMIT);
  const rateLimitedLog = new RateLimiter(OCCASIONAL_WARN_LIMIT);
  const unavailableLog = new RateLimiter(OCCASIONAL_WARN_LIMIT);

  /**
   * A refused caller's 401: counted, and logged at info within the log budget of its address and
   * cluster label (its access line too), else at debug. The label, not the name: names that are
   * no ClusterConfig share one budget, so inventing names buys no more lines.
   */
  const refuse = (req: IncomingMessage, state: RequestState, refusal: { cluster: string; resolved: boolean; fields: Record<string, unknown> }): Reply => {
    const label = clusterLabel(refusal.cluster, refusal.resolved);
    metrics.observeRefused(label);
    const logged = refusalLog.take(`${req.socket.remoteAddress ?? ''}\0${label}`).ok;
    if (!logged) state.quiet = true;
    logger[logged ? 'info' : 'debug']({ requestId: state.requestId, cluster: refusal.cluster, ...refusal.fields }, 'sar_unauthenticated');
    return REFUSED;
  };

  /** The decision for one request; `quiet` is set when its access line belongs at debug (a decision, a 429, a refusal past the log budget). */
  const decide = async (req: IncomingMessage, clusterName: string, started: number, state: RequestState): Promise<Reply> => {
    const requestId = state.requestId;
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
      return refuse(req, state, { cluster: clusterName, resolved: false, fields: { reason: 'no ClusterConfig of this name' } });
    }
    const authorization = req.headers.authorization ?? '';
    const clientCertificates = peerCertificates(req);
    let caller: CallerAuthentication;
    try {
      caller = await options.callers.authenticate(cluster, {
        ...(authorization === '' ? {} : { bearerToken: bearerToken(authorization) }),
        clientCertificates,
      });
    } catch (error) {
      if (!(error instanceof SecretUnavailableError)) throw error;
      // Nobody can be authenticated for this cluster now: fail closed (the spoke's
      // failurePolicy), logged at warn once in a while, the rest (and access lines) at debug.
      metrics.observeDecision(clusterLabel(clusterName, true), 'error', '', elapsed());
      state.quiet = true;
      const level = unavailableLog.take(clusterName).ok ? 'warn' : 'debug';
      logger[level]({ requestId, cluster: clusterName, failure: 'caller-secret-unavailable', err: error.message }, 'sar_failed');
      return EMPTY_500;
    }
    if (!caller.ok) {
      // The scheme only, never the credential.
      const scheme = authorization === '' ? 'none' : (AUTH_SCHEME.exec(authorization)?.[1] ?? 'malformed');
      const fields = { reason: caller.reason, scheme, clientCertificate: clientCertificates.length > 0 };
      return refuse(req, state, { cluster: clusterName, resolved: true, fields });
    }
    const taken = perCluster.take(clusterName);
    if (!taken.ok) {
      // Counted each; logged at warn once in a while, the rest (and their access lines) at debug.
      metrics.observeRateLimited(clusterLabel(clusterName, true));
      state.quiet = true;
      const level = rateLimitedLog.take(clusterName).ok ? 'warn' : 'debug';
      logger[level]({ requestId, cluster: clusterName, ratePerSecond: limits.perCluster.ratePerSecond, burst: limits.perCluster.burst }, 'sar_rate_limited');
      return tooMany(`more SubjectAccessReviews for cluster ${clusterName} than this replica takes (${limits.perCluster.ratePerSecond}/s); try again later`, taken.retryAfterSeconds);
    }

    let raw: Buffer;
    try {
      raw = await readBody(req, MAX_SAR_BODY_BYTES);
    } catch (error) {
      if (error instanceof BodyTooLargeError) return { ...problem(413, `the body must be at most ${MAX_SAR_BODY_BYTES} bytes`), close: true };
      if (error instanceof RequestAbortedError) return ABORTED;
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
    state.quiet = true;
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
    // A body left unread is drained by Node so the connection can be reused; one without a
    // bound is not worth draining: the connection ends instead. (A decision read its body.)
    if (reply.close === true || (!req.complete && unboundedBody(req))) res.shouldKeepAlive = false;
    res.statusCode = reply.status;
    res.end(reply.body);
  };

  return (req, res, accessLogger = logger) => {
    const match = matchWebhookPath(req.url ?? '/');
    if (match === undefined) return false;
    const started = performance.now();
    const requestId = requestIdFrom(req.headers['x-request-id'], req.headers['x-correlation-id']);
    const state: RequestState = { requestId, quiet: false };
    const answered = (reply: Reply): void => {
      const aborted = reply === ABORTED || (res.destroyed && !res.headersSent);
      if (reply === ABORTED) res.destroy();
      else send(req, res, requestId, reply);
      const level = state.quiet ? 'debug' : 'info';
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
    decide(req, match.cluster, started, state)
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
