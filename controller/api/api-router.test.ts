/**
 * The REST API over HTTP with the real Koa app and router, an in-memory session store and a
 * fake token verifier (tokens are person names). Every response is checked against the OpenAPI
 * document the API serves.
 */
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import { expect } from 'chai';
import { createApiApp } from '../http/api-app.ts';
import {
  AuthenticationError,
  IdentityProviderUnavailableError,
  type IdentityProviderConfig,
  type IdentityProviderDirectory,
  type TokenVerifier,
} from '../identity/index.ts';
import { silentLogger } from '../observability/logger.ts';
import { InMemorySessionRepository } from '../sessions/in-memory-session-repository.ts';
import { SessionActions } from '../sessions/session-actions.ts';
import type { SessionDomainDeps } from '../sessions/session-context.ts';
import { SessionQueries } from '../sessions/session-queries.ts';
import { SessionRequests } from '../sessions/session-requests.ts';
import { createApiRouter, documentedRoutes, type ApiRateLimits } from './api-router.ts';
import { openApiDocument } from './openapi.ts';
import { escalation, person, RecordingAudit, StaticSource, type Person } from './testing/fixtures.ts';
import { OpenApiValidator } from './testing/openapi-validator.ts';
import type { JsonObject } from '../../crds/index.ts';

const verifier: TokenVerifier = {
  async verify(token) {
    if (token === 'unreachable') throw new IdentityProviderUnavailableError('identity provider corp unreachable', 'corp');
    if (['alice', 'bob', 'carol', 'dave'].includes(token)) return person(token as Person);
    throw new AuthenticationError('Token verification failed. Please re-authenticate.');
  },
};

const corp: IdentityProviderConfig = {
  name: 'corp',
  issuer: 'https://kc.example.com/realms/corp',
  authority: 'https://kc.example.com/realms/corp',
  clientID: 'breakglass-ui',
  expectedAudience: 'breakglass',
  displayName: 'Corporate SSO',
  primary: true,
  disabled: false,
  // The group sync's address: in-cluster, not reachable from a browser.
  keycloak: { baseURL: 'https://keycloak.iam.svc:8443', realm: 'corp' },
  keysFingerprint: 'x',
};

const directory: IdentityProviderDirectory = {
  resolveIssuer: () => corp,
  list: () => [corp],
  get: (name) => (name === 'corp' ? corp : undefined),
  primary: () => corp,
  hasSynced: () => true,
};

interface Answer {
  status: number;
  headers: Headers;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON of many shapes, checked against the document
}

describe('REST API (HTTP, in-memory store)', () => {
  let server: Server;
  let base: string;
  let sessions: InMemorySessionRepository;
  let audit: RecordingAudit;
  const validator = new OpenApiValidator(openApiDocument('test'));

  async function start(limits: ApiRateLimits = { sessionCreate: false }) {
    sessions = new InMemorySessionRepository();
    audit = new RecordingAudit();
    const deps: SessionDomainDeps = {
      sessions,
      escalations: new StaticSource([
        escalation('dev-admin', { approvers: { groups: ['approvers'], users: ['secret@example.com'], hiddenFromUI: ['secret@example.com'] } }),
      ]),
      clusterConfigs: new StaticSource([]),
      identityProviders: new StaticSource([]),
      audit,
    };
    const router = createApiRouter({
      verifier,
      requests: new SessionRequests(deps, silentLogger()),
      actions: new SessionActions(deps),
      queries: new SessionQueries(deps),
      escalations: deps.escalations,
      identityProviders: directory,
      logger: silentLogger(),
      version: 'test',
      limits,
    });
    const app = createApiApp({ logger: silentLogger(), version: 'test', routers: [router] });
    server = createServer(app.callback());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async function call(method: string, path: string, options: { token?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    let body: string | undefined = options.raw;
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    }
    const response = await fetch(`${base}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
    const text = await response.text();
    const parsed: unknown = text === '' ? undefined : JSON.parse(text);
    if (path.startsWith('/api/') && !path.startsWith('/api/nope') && response.status !== 405) {
      validator.check(method, path, response.status, parsed, response.headers);
    }
    return { status: response.status, headers: response.headers, body: parsed };
  }

  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => server?.close(() => resolve()));
  });

  const request = { cluster: 'prod-eu', group: 'cluster-admin', reason: 'INC-1' };

  it('alice requests, bob approves: Approved with approver, approvedAt and expiresAt', async () => {
    await start();
    const created = await call('POST', '/api/breakglassSessions', { token: 'alice', body: request });
    expect(created.status).to.equal(201);
    expect(created.body.status.state).to.equal('Pending');
    const name = created.body.metadata.name as string;
    const approved = await call('POST', `/api/breakglassSessions/${name}/approve`, { token: 'bob', body: { reason: 'fine' } });
    expect(approved.status).to.equal(200);
    expect(approved.body.status).to.include({ state: 'Approved', approver: 'bob@example.com' });
    expect(approved.body.status.approvedAt).to.be.a('string');
    expect(approved.body.status.expiresAt).to.be.a('string');
    expect(audit.records.map((r) => r.action)).to.deep.equal(['requested', 'approved']);

    const one = await call('GET', `/api/breakglassSessions/${name}`, { token: 'alice' });
    expect(one.status).to.equal(200);
    expect(one.body.approvalMeta).to.include({ isRequester: true, sessionState: 'Approved', canApprove: false });
    const mine = await call('GET', '/api/breakglassSessions?mine=true&state=approved', { token: 'alice' });
    expect(mine.body.total).to.equal(1);
    const approvedByMe = await call('GET', '/api/breakglassSessions?approvedByMe=true', { token: 'bob' });
    expect(approvedByMe.body.items.map((s: { metadata: { name: string } }) => s.metadata.name)).to.deep.equal([name]);
    const dropped = await call('POST', `/api/breakglassSessions/${name}/drop`, { token: 'alice' });
    expect(dropped.body.status).to.include({ state: 'Expired', reasonEnded: 'dropped' });
  });

  it('answers 403 naming self-approval, 403 for a caller without the group, 409 for a duplicate', async () => {
    await start();
    const created = await call('POST', '/api/breakglassSessions', { token: 'alice', body: request });
    const self = await call('POST', `/api/breakglassSessions/${created.body.metadata.name}/approve`, { token: 'alice' });
    expect(self.status).to.equal(403);
    expect(self.body).to.include({ code: 'FORBIDDEN' });
    expect(self.body.error).to.match(/Self-approval is not allowed/);
    const dave = await call('POST', '/api/breakglassSessions', { token: 'dave', body: request });
    expect([dave.status, dave.body.error]).to.deep.equal([403, 'user not authorized for requested group']);
    const again = await call('POST', '/api/breakglassSessions', { token: 'alice', body: request });
    expect([again.status, again.body.error, again.body.code]).to.deep.equal([409, 'already requested', 'CONFLICT']);
    expect(again.body.session.metadata.name).to.equal(created.body.metadata.name);
    const stateError = await call('POST', `/api/breakglassSessions/${created.body.metadata.name}/cancel`, { token: 'bob' });
    expect(stateError.status).to.equal(400);
    expect(stateError.body.error).to.match(/current state: Pending/);
  });

  it('any token problem is 401; an unreachable identity provider is 503, never 500', async () => {
    await start();
    const none = await call('GET', '/api/breakglassSessions');
    expect([none.status, none.body.code, none.body.error]).to.deep.equal([401, 'UNAUTHORIZED', 'No Bearer token provided in Authorization header']);
    expect((await call('GET', '/api/breakglassSessions', { token: 'forged' })).status).to.equal(401);
    expect((await call('POST', '/api/breakglassSessions', { headers: { authorization: 'Basic YTpi' }, body: request })).status).to.equal(401);
    const down = await call('GET', '/api/breakglassEscalations', { token: 'unreachable' });
    expect([down.status, down.body.code]).to.deep.equal([503, 'SERVICE_UNAVAILABLE']);
  });

  it('is strict about bodies: unknown fields and bad JSON 422 naming the field, >1 MiB 413, non-JSON 415', async () => {
    await start();
    const unknown = await call('POST', '/api/breakglassSessions', { token: 'alice', body: { ...request, extra: 1 } });
    expect([unknown.status, unknown.body.code, unknown.body.details]).to.deep.equal([422, 'UNPROCESSABLE_ENTITY', 'body: unknown field "extra"']);
    const wrongType = await call('POST', '/api/breakglassSessions', { token: 'alice', body: { ...request, duration: '1h' } });
    expect([wrongType.status, wrongType.body.details]).to.deep.equal([422, 'body.duration: must be integer']);
    const longCluster = await call('POST', '/api/breakglassSessions', { token: 'alice', body: { ...request, cluster: '-prod-'.repeat(50_000) } });
    expect([longCluster.status, longCluster.body.details]).to.deep.equal([422, 'body.cluster: must NOT have more than 253 characters']);
    const missing = await call('POST', '/api/breakglassSessions', { token: 'alice', body: { cluster: 'prod-eu' } });
    expect(missing.status).to.equal(422);
    const broken = await call('POST', '/api/breakglassSessions', { token: 'alice', raw: '{"cluster":', headers: { 'content-type': 'application/json' } });
    expect([broken.status, broken.body.error]).to.deep.equal([422, 'failed to decode JSON request body (invalid JSON or unknown fields)']);
    const big = await call('POST', '/api/breakglassSessions', { token: 'alice', body: { ...request, reason: 'x'.repeat(1024 * 1024) } });
    expect([big.status, big.body.code]).to.deep.equal([413, 'PAYLOAD_TOO_LARGE']);
    const text = await call('POST', '/api/breakglassSessions', { token: 'alice', raw: 'cluster=prod', headers: { 'content-type': 'text/plain' } });
    expect(text.status).to.equal(415);
    const created = await call('POST', '/api/breakglassSessions', { token: 'alice', body: request });
    const withBody = await call('POST', `/api/breakglassSessions/${created.body.metadata.name}/withdraw`, { token: 'alice', body: { reason: 'x' } });
    expect([withBody.status, withBody.body.details]).to.deep.equal([422, 'body: unknown field "reason"']);
    const withdrawn = await call('POST', `/api/breakglassSessions/${created.body.metadata.name}/withdraw`, { token: 'alice', body: {} });
    expect(withdrawn.body.status.state).to.equal('Withdrawn');
  });

  it('rate limits session requests and users with 429 and Retry-After', async () => {
    await start({ sessionCreate: { ratePerSecond: 1 / 60, burst: 1 }, perUser: { ratePerSecond: 1, burst: 5 } });
    expect((await call('POST', '/api/breakglassSessions', { token: 'alice', body: request })).status).to.equal(201);
    const limited = await call('POST', '/api/breakglassSessions', { token: 'alice', body: { ...request, group: 'other' } });
    expect([limited.status, limited.body.code, limited.body.error]).to.deep.equal([
      429,
      'TOO_MANY_REQUESTS',
      'session creation rate limit exceeded, please try again later',
    ]);
    expect(Number(limited.headers.get('retry-after'))).to.be.within(1, 60);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await call('GET', '/api/breakglassSessions', { token: 'bob' })).status);
    expect(statuses).to.deep.equal([200, 200, 200, 200, 200, 429]);
    // Another user has a bucket of their own.
    expect((await call('GET', '/api/breakglassSessions', { token: 'carol' })).status).to.equal(200);
  });

  it('limits refused tokens per client IP, but never refuses a verified user for the address', async () => {
    await start({ perIp: { ratePerSecond: 1, burst: 3 } });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await call('GET', '/api/breakglassSessions', { token: 'alice' })).status);
    for (let i = 0; i < 4; i++) statuses.push((await call('GET', '/api/breakglassSessions', { token: 'nobody' })).status);
    expect(statuses).to.deep.equal([200, 200, 200, 200, 200, 401, 401, 401, 429]);
    const blocked = await call('GET', '/api/breakglassSessions', { token: 'nobody' });
    expect([blocked.status, blocked.body.error]).to.deep.equal([429, 'Rate limit exceeded, please try again later']);
    expect(Number(blocked.headers.get('retry-after'))).to.be.at.least(1);
    expect((await call('GET', '/api/breakglassSessions')).status).to.equal(429);
    // Every user behind one ingress shares the address (Koa proxy is off): a verified caller is
    // limited by the per-user bucket only.
    expect((await call('GET', '/api/breakglassSessions', { token: 'alice' })).status).to.equal(200);
    expect((await call('GET', '/api/breakglassSessions', { token: 'bob' })).status).to.equal(200);
  });

  it('sets security headers and X-Request-ID; unknown /api paths are 404 with a code', async () => {
    await start();
    const answer = await call('GET', '/api/config', { headers: { 'X-Request-ID': 'req-1:a' } });
    expect(answer.headers.get('x-request-id')).to.equal('req-1:a');
    expect(answer.headers.get('x-content-type-options')).to.equal('nosniff');
    expect(answer.headers.get('x-frame-options')).to.equal('SAMEORIGIN');
    expect(answer.headers.get('referrer-policy')).to.equal('strict-origin-when-cross-origin');
    const generated = await call('GET', '/api/config', { headers: { 'X-Request-ID': 'bad id with spaces' } });
    expect(generated.headers.get('x-request-id')).to.match(/^[0-9a-f-]{36}$/);
    for (const method of ['PROPFIND', 'DELETE']) {
      const wrong = await call(method, '/api/config');
      expect([method, wrong.status, wrong.body?.code]).to.deep.equal([method, 405, 'METHOD_NOT_ALLOWED']);
    }
    const missing = await call('GET', '/api/nope', { token: 'alice' });
    expect(missing.status).to.equal(404);
    expect(missing.body).to.deep.equal({ error: 'API endpoint not found', code: 'NOT_FOUND', details: '/api/nope' });
  });

  it('lists requestable escalations without hidden approvers; serves the login config', async () => {
    await start();
    const mine = await call('GET', '/api/breakglassEscalations', { token: 'alice' });
    expect(mine.body.total).to.equal(1);
    expect(mine.body.items[0].spec.approvers).to.deep.equal({ groups: ['approvers'] });
    expect(mine.body.items[0].metadata.uid).to.equal(undefined);
    expect((await call('GET', '/api/breakglassEscalations', { token: 'dave' })).body.total).to.equal(0);
    expect((await call('GET', '/api/config')).body).to.deep.equal({
      frontend: { oidcAuthority: 'https://kc.example.com/realms/corp', oidcClientID: 'breakglass-ui' },
    });
    // The browser logs in at oidc.authority, never at the group sync's Keycloak address.
    expect((await call('GET', '/api/identity-provider')).body).to.deep.equal({
      type: 'OIDC',
      authority: 'https://kc.example.com/realms/corp',
      directAuthority: 'https://kc.example.com/realms/corp',
      clientId: 'breakglass-ui',
      keycloakMetadata: { baseUrl: 'https://keycloak.iam.svc:8443', realm: 'corp' },
    });
    expect((await call('GET', '/api/config/idps')).body.identityProviders[0]).to.include({
      name: 'corp',
      enabled: true,
      oidcAuthority: 'https://kc.example.com/realms/corp',
    });
    const doc = await call('GET', '/api/openapi.json');
    expect(doc.body.openapi).to.equal('3.1.0');
  });

  it('documents exactly the routes it serves', async () => {
    const router = createApiRouter({
      verifier,
      requests: {} as SessionRequests,
      actions: {} as SessionActions,
      queries: {} as SessionQueries,
      escalations: new StaticSource([]),
      identityProviders: directory,
      logger: silentLogger(),
      version: 'test',
    });
    const served = router.stack.flatMap((layer) => layer.methods.filter((m) => m !== 'HEAD').map((m) => `${m} ${String(layer.path)}`));
    expect([...served].sort()).to.deep.equal([...documentedRoutes()].sort());
    const doc = openApiDocument('test') as JsonObject & { paths: Record<string, object> };
    expect(Object.keys(doc.paths)).to.have.length(12);
  });
});
