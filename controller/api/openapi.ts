/**
 * The OpenAPI 3.1 document of every /api route, served at GET /api/openapi.json. The tests keep
 * it true: every response they receive is validated against it, and the set of documented
 * operations must equal the set of mounted routes.
 */
import type { JsonObject } from '../../crds/index.ts';
import { componentSchemas } from './schemas.ts';

type Method = 'get' | 'post';

interface Operation {
  method: Method;
  /** OpenAPI path template, e.g. /api/breakglassSessions/{name}. */
  path: string;
  operationId: string;
  summary: string;
  /** Needs a bearer token. */
  auth: boolean;
  query?: { name: string; description: string; type: 'string' | 'boolean'; array?: boolean }[];
  requestBody?: { schema: string; required: boolean };
  /** status -> component schema name. */
  responses: Record<number, string>;
}

const ERR = 'Error';
const AUTH_ERRORS = { 401: ERR, 429: ERR, 503: ERR };
const ACTION_ERRORS = { ...AUTH_ERRORS, 400: ERR, 403: ERR, 404: ERR, 409: ERR, 413: ERR, 415: ERR, 422: ERR };

function action(name: string, summary: string, body: 'DecisionRequest' | 'EmptyRequest'): Operation {
  return {
    method: 'post',
    path: `/api/breakglassSessions/{name}/${name}`,
    operationId: `${name}Session`,
    summary,
    auth: true,
    requestBody: { schema: body, required: false },
    responses: { 200: 'BreakglassSession', ...ACTION_ERRORS },
  };
}

export const OPERATIONS: readonly Operation[] = [
  {
    method: 'get',
    path: '/api/breakglassSessions',
    operationId: 'listSessions',
    summary: 'Sessions the caller requested, may approve or approved, filtered.',
    auth: true,
    query: [
      { name: 'cluster', description: 'exact cluster name', type: 'string' },
      { name: 'user', description: 'exact spec.user', type: 'string' },
      { name: 'group', description: 'exact granted group', type: 'string' },
      { name: 'mine', description: 'sessions the caller requested', type: 'boolean' },
      { name: 'approver', description: 'sessions the caller may approve (default unless mine or approvedByMe)', type: 'boolean' },
      { name: 'approvedByMe', description: 'sessions the caller approved, rejected or canceled', type: 'boolean' },
      { name: 'activeOnly', description: 'only sessions that grant access now', type: 'boolean' },
      { name: 'state', description: 'state tokens, comma separated or repeated (pending, approved, active, ...)', type: 'string', array: true },
    ],
    responses: { 200: 'SessionList', 400: ERR, ...AUTH_ERRORS },
  },
  {
    method: 'post',
    path: '/api/breakglassSessions',
    operationId: 'requestSession',
    summary: 'Request a session under a matching escalation.',
    auth: true,
    requestBody: { schema: 'SessionRequest', required: true },
    responses: { 201: 'BreakglassSession', ...ACTION_ERRORS },
  },
  {
    method: 'get',
    path: '/api/breakglassSessions/{name}',
    operationId: 'getSession',
    summary: 'One session with what the caller may do with it.',
    auth: true,
    responses: { 200: 'SessionWithMeta', 403: ERR, 404: ERR, 409: ERR, ...AUTH_ERRORS },
  },
  action('approve', 'Approve a pending session (approvers; never the requester unless allowed explicitly).', 'DecisionRequest'),
  action('reject', 'Reject a pending session (approvers, or the requester).', 'DecisionRequest'),
  action('withdraw', 'Withdraw an own pending request.', 'EmptyRequest'),
  action('drop', 'End an own session.', 'EmptyRequest'),
  action('cancel', 'End an approved session (approvers).', 'EmptyRequest'),
  {
    method: 'get',
    path: '/api/breakglassEscalations',
    operationId: 'listEscalations',
    summary: 'Escalations the caller may request under.',
    auth: true,
    query: [
      { name: 'cluster', description: 'only escalations targeting this cluster', type: 'string' },
      { name: 'activeOnly', description: 'only usable escalations (default true)', type: 'boolean' },
    ],
    responses: { 200: 'EscalationList', ...AUTH_ERRORS },
  },
  {
    method: 'get',
    path: '/api/config',
    operationId: 'getConfig',
    summary: 'What the web UI needs to log in.',
    auth: false,
    responses: { 200: 'FrontendConfig', 429: ERR },
  },
  {
    method: 'get',
    path: '/api/identity-provider',
    operationId: 'getIdentityProvider',
    summary: 'The primary identity provider.',
    auth: false,
    responses: { 200: 'IdentityProviderInfo', 404: ERR, 429: ERR },
  },
  {
    method: 'get',
    path: '/api/config/idps',
    operationId: 'listIdentityProviders',
    summary: 'Enabled identity providers and which escalations restrict to which.',
    auth: false,
    responses: { 200: 'IdpConfig', 429: ERR },
  },
];

/** /api/breakglassSessions/{name} -> /api/breakglassSessions/:name (Koa router syntax). */
export function routerPath(openApiPath: string): string {
  return openApiPath.replace(/\{(\w+)\}/g, ':$1');
}

export function openApiDocument(version: string): JsonObject {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of OPERATIONS) {
    const parameters: unknown[] = [];
    for (const match of op.path.matchAll(/\{(\w+)\}/g)) {
      parameters.push({ name: match[1], in: 'path', required: true, schema: { type: 'string' } });
    }
    for (const q of op.query ?? []) {
      parameters.push({
        name: q.name,
        in: 'query',
        required: false,
        description: q.description,
        schema: q.array ? { type: 'array', items: { type: q.type } } : { type: q.type },
        ...(q.array ? { style: 'form', explode: true } : {}),
      });
    }
    const responses: Record<string, unknown> = {};
    for (const [status, schema] of Object.entries(op.responses)) {
      responses[status] = {
        description: status.startsWith('2') ? 'success' : 'error',
        content: { 'application/json': { schema: { $ref: `#/components/schemas/${schema}` } } },
        // Every 429 says when to come back (clients such as schemathesis --rate-limit auto wait for it).
        ...(status === '429'
          ? { headers: { 'Retry-After': { required: true, schema: { type: 'integer', minimum: 1 }, description: 'seconds to wait before retrying' } } }
          : {}),
      };
    }
    paths[op.path] ??= {};
    paths[op.path]![op.method] = {
      operationId: op.operationId,
      summary: op.summary,
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(op.requestBody
        ? {
            requestBody: {
              required: op.requestBody.required,
              content: { 'application/json': { schema: { $ref: `#/components/schemas/${op.requestBody.schema}` } } },
            },
          }
        : {}),
      responses,
      security: op.auth ? [{ bearerAuth: [] }] : [],
    };
  }
  paths['/api/openapi.json'] = {
    get: {
      operationId: 'getOpenApiDocument',
      summary: 'This document.',
      responses: { 200: { description: 'success', content: { 'application/json': { schema: { type: 'object' } } } } },
      security: [],
    },
  };
  return {
    openapi: '3.1.0',
    info: { title: 'breakglass API', version },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    paths,
    components: {
      schemas: componentSchemas(),
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
    },
  } as unknown as JsonObject;
}
