/**
 * The REST API under /api (reference §8): routes parse and validate input, call the domain
 * (controller/sessions, controller/escalations) and map results; errors become
 * `{error, code, details?}` in one place (api-error.ts).
 *
 * Per request: open routes take from the per-IP rate limit before the route; the others get
 * bearer authentication (401, and a missing or refused token also takes from its address's
 * per-IP limit, 429 once that is exhausted), the per-user rate limit, then the route. Session
 * requests have their own per-user limit.
 */
import Router from '@koa/router';
import type { Context, Middleware, Next } from 'koa';
import type { BreakglassEscalation } from '../../crds/index.ts';
import { availableEscalations, publicEscalation } from '../escalations/escalation-view.ts';
import {
  AuthenticationError,
  IdentityProviderUnavailableError,
  type IdentityProviderDirectory,
  type TokenVerifier,
  type VerifiedIdentity,
} from '../identity/index.ts';
import type { ObjectSource } from '../kube/custom-object-cache.ts';
import type { Logger } from '../observability/logger.ts';
import type { SessionActions, SessionAction } from '../sessions/session-actions.ts';
import type { SessionQueries } from '../sessions/session-queries.ts';
import type { SessionRequests } from '../sessions/session-requests.ts';
import { ApiError, toErrorResponse } from './api-error.ts';
import { identityProviderInfo, frontendConfig, idpConfig } from './idp-config.ts';
import { readBody } from './json-body.ts';
import { openApiDocument, OPERATIONS, routerPath } from './openapi.ts';
import { RateLimiter, type RateLimit } from './rate-limiter.ts';
import {
  DecisionRequestSchema,
  EmptyRequestSchema,
  SessionRequestSchema,
  type DecisionRequestBody,
  type SessionRequestBody,
} from './schemas.ts';

export interface ApiRateLimits {
  /**
   * Per client IP: every request to an open route (before the route), and every request whose
   * token is missing or refused (after verification; 429 instead of 401 once exhausted);
   * authenticated callers are limited per user instead (many users may share an address).
   * @default 10/s, burst 20
   */
  perIp?: RateLimit;
  /** Authenticated requests per user. @default 50/s, burst 100 */
  perUser?: RateLimit;
  /** Session requests per user; false disables. @default 10 per minute, burst 3 */
  sessionCreate?: RateLimit | false;
}

export interface ApiRouterDeps {
  verifier: TokenVerifier;
  requests: SessionRequests;
  actions: SessionActions;
  queries: SessionQueries;
  escalations: ObjectSource<BreakglassEscalation>;
  /** The identity registry: enabled providers for the config endpoints. */
  identityProviders: IdentityProviderDirectory;
  logger: Logger;
  version: string;
  limits?: ApiRateLimits;
}

export const DEFAULT_LIMITS: Required<ApiRateLimits> = {
  perIp: { ratePerSecond: 10, burst: 20 },
  perUser: { ratePerSecond: 50, burst: 100 },
  sessionCreate: { ratePerSecond: 10 / 60, burst: 3 },
};

const ACTIONS: readonly SessionAction[] = ['approve', 'reject', 'withdraw', 'drop', 'cancel'];

function identity(ctx: Context): VerifiedIdentity {
  return ctx.state.identity as VerifiedIdentity;
}

function userKey(caller: VerifiedIdentity): string {
  return `${caller.issuer}\u0000${caller.subject}`;
}

/** strconv.ParseBool; anything else is "not given". */
function bool(value: string | string[] | undefined): boolean | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined) return undefined;
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(text)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(text)) return false;
  return undefined;
}

function text(value: string | string[] | undefined): string | undefined {
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined || first === '' ? undefined : first;
}

function rateLimited(message: string, retryAfterSeconds: number): ApiError {
  return new ApiError(429, message, undefined, retryAfterSeconds);
}

export function createApiRouter(deps: ApiRouterDeps): Router {
  const limits = { ...DEFAULT_LIMITS, ...deps.limits };
  const perIp = new RateLimiter(limits.perIp);
  const perUser = new RateLimiter(limits.perUser);
  const perUserCreate = limits.sessionCreate === false ? undefined : new RateLimiter(limits.sessionCreate);
  const document = openApiDocument(deps.version);
  const router = new Router();

  /** The one place where errors of /api routes become responses. */
  const errors =
    (operation: string): Middleware =>
    async (ctx: Context, next: Next) => {
      try {
        await next();
      } catch (err) {
        const response = toErrorResponse(err, operation);
        if (response.internal) {
          deps.logger.error({ err, method: ctx.method, path: ctx.path, requestId: ctx.state.requestId }, 'api request failed');
        }
        ctx.status = response.status;
        ctx.body = response.body;
        if (response.retryAfterSeconds !== undefined) ctx.set('Retry-After', String(response.retryAfterSeconds));
      }
    };

  const ipLimit: Middleware = async (ctx, next) => {
    const taken = perIp.take(ctx.ip);
    if (!taken.ok) throw rateLimited('Rate limit exceeded, please try again later', taken.retryAfterSeconds);
    await next();
  };

  /**
   * A missing or refused token costs its address a token of the per-IP bucket; an exhausted
   * bucket answers 429 instead of 401. The bucket is never consulted for a verified caller:
   * behind an ingress every user shares one address (Koa `proxy` is off), so one client
   * guessing tokens must not lock everyone out. Verified callers have the per-user bucket.
   */
  const refuse = (ctx: Context, err: AuthenticationError): never => {
    const taken = perIp.take(ctx.ip);
    if (!taken.ok) throw rateLimited('Rate limit exceeded, please try again later', taken.retryAfterSeconds);
    throw err;
  };

  const authenticate: Middleware = async (ctx, next) => {
    const header = ctx.get('Authorization');
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (match === null) return refuse(ctx, new AuthenticationError('No Bearer token provided in Authorization header'));
    let caller: VerifiedIdentity;
    try {
      caller = await deps.verifier.verify(match[1] as string);
    } catch (err) {
      if (err instanceof AuthenticationError) {
        return refuse(ctx, err);
      }
      deps.logger.warn(
        {
          err: err instanceof Error ? err.message : String(err),
          ...(err instanceof IdentityProviderUnavailableError ? { identityProvider: err.identityProvider } : {}),
        },
        'token verification unavailable',
      );
      throw new ApiError(503, 'temporarily unable to verify token; please retry shortly', undefined, 5);
    }
    const taken = perUser.take(userKey(caller));
    if (!taken.ok) throw rateLimited('Rate limit exceeded, please try again later', taken.retryAfterSeconds);
    ctx.state.identity = caller;
    await next();
  };

  const open = (operation: string) => [errors(operation), ipLimit];
  const secured = (operation: string) => [errors(operation), authenticate];

  router.get('/api/openapi.json', ...open('serve the API document'), (ctx) => {
    ctx.body = document;
  });

  router.get('/api/breakglassSessions', ...secured('list sessions'), (ctx) => {
    const q = ctx.query;
    const states = q.state === undefined ? [] : Array.isArray(q.state) ? q.state : [q.state];
    const items = deps.queries.list(identity(ctx), {
      cluster: text(q.cluster),
      user: text(q.user),
      group: text(q.group),
      mine: bool(q.mine),
      approver: bool(q.approver),
      approvedByMe: bool(q.approvedByMe),
      activeOnly: bool(q.activeOnly),
      state: states,
    });
    ctx.body = { items, total: items.length };
  });

  router.post('/api/breakglassSessions', ...secured('create session'), async (ctx) => {
    const caller = identity(ctx);
    const body = await readBody<SessionRequestBody>(ctx.req, SessionRequestSchema, false);
    if (perUserCreate !== undefined) {
      const taken = perUserCreate.take(userKey(caller));
      if (!taken.ok) throw rateLimited('session creation rate limit exceeded, please try again later', taken.retryAfterSeconds);
    }
    const session = await deps.requests.request(caller, body);
    ctx.status = 201;
    ctx.body = session;
  });

  router.get('/api/breakglassSessions/:name', ...secured('get session'), async (ctx) => {
    const session = await deps.actions.findByName(ctx.params.name as string);
    ctx.body = deps.queries.get(identity(ctx), session);
  });

  for (const action of ACTIONS) {
    const schema = action === 'approve' || action === 'reject' ? DecisionRequestSchema : EmptyRequestSchema;
    router.post(`/api/breakglassSessions/:name/${action}`, ...secured(`${action} session`), async (ctx) => {
      const body = await readBody<DecisionRequestBody>(ctx.req, schema, true);
      ctx.body = await deps.actions.perform(identity(ctx), action, ctx.params.name as string, body.reason);
    });
  }

  router.get('/api/breakglassEscalations', ...secured('list escalations'), (ctx) => {
    const items = availableEscalations(identity(ctx), deps.escalations.list(), {
      cluster: text(ctx.query.cluster),
      activeOnly: bool(ctx.query.activeOnly) ?? true,
    }).map(publicEscalation);
    ctx.body = { items, total: items.length };
  });

  router.get('/api/config', ...open('read config'), (ctx) => {
    ctx.body = frontendConfig(deps.identityProviders);
  });

  router.get('/api/identity-provider', ...open('read identity provider'), (ctx) => {
    const info = identityProviderInfo(deps.identityProviders);
    if (info === undefined) throw new ApiError(404, 'no identity provider configured');
    ctx.body = info;
  });

  router.get('/api/config/idps', ...open('list identity providers'), (ctx) => {
    ctx.body = idpConfig(deps.identityProviders, deps.escalations.list());
  });

  return router;
}

/** Every documented operation as `METHOD /koa/path`, for the test that keeps the document true. */
export function documentedRoutes(): string[] {
  return [...OPERATIONS.map((op) => `${op.method.toUpperCase()} ${routerPath(op.path)}`), 'GET /api/openapi.json'];
}
