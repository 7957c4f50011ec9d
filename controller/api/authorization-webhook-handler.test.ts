import { expect } from 'chai';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { Registry } from 'prom-client';
import type { BreakglassEscalation, BreakglassSession, ClusterConfig, DenyPolicy } from '../../crds/index.ts';
import { FakeClock } from '../clock/clock.ts';
import { createApiApp } from '../http/api-app.ts';
import { listen, type ListeningServer } from '../http/listen.ts';
import type { CacheChange } from '../kube/restarting-informer.ts';
import { capturingLogger } from '../kube/capturing-logger.ts';
import { formatTime } from '../sessions/timestamps.ts';
import { CallerAuthenticator } from '../authorization/caller-auth.ts';
import { AuthorizationPipeline } from '../authorization/decision.ts';
import type { GrantChecker } from '../authorization/grant-checker.ts';
import { GrantCheckError } from '../authorization/grant-checker.ts';
import { registerWebhookMetrics, WEBHOOK_METRIC_NAMES } from '../authorization/metrics.ts';
import { DenyPolicyCache, EscalationCache, InformerClusterDirectory, SessionIndex, type ChangeSource } from '../authorization/webhook-caches.ts';
import { createWebhookHandler, withWebhook } from './authorization-webhook-handler.ts';

const TOKEN = 'spoke-token-0123456789';
/** The one 401 body of every refusal; the reason is only logged. */
const REFUSED_BODY = { error: 'this caller is not authenticated for the cluster in the path; the hub logs why (sar_unauthenticated)', code: 'UNAUTHORIZED' };

interface ReplyBody {
  error?: string;
  code?: string;
  apiVersion?: string;
  kind?: string;
  status: { allowed: boolean; reason: string };
}

/** A cache fake with the informer's change notifications. */
class FakeSource<T> implements ChangeSource<T> {
  synced = true;
  private items: T[] = [];
  private readonly listeners = new Set<(change: CacheChange<T>) => void>();
  hasSynced(): boolean {
    return this.synced;
  }
  list(): readonly T[] {
    return this.items;
  }
  subscribe(listener: (change: CacheChange<T>) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  reset(items: T[]): void {
    this.items = items;
    for (const l of this.listeners) l({ type: 'reset' });
  }
  add(item: T): void {
    this.items = [...this.items, item];
    for (const l of this.listeners) l({ type: 'add', object: item });
  }
  remove(item: T): void {
    this.items = this.items.filter((i) => i !== item);
    for (const l of this.listeners) l({ type: 'delete', object: item });
  }
}

const cluster: ClusterConfig = {
  metadata: { name: 'spoke', namespace: 'breakglass', uid: 'c1', resourceVersion: '1' },
  spec: { webhookAuthentication: { tokenSecretRef: { name: 'spoke-webhook', namespace: 'breakglass', key: 'token' } } },
};

function session(name: string, group: string, clock: FakeClock): BreakglassSession {
  return {
    metadata: { name, namespace: 'breakglass', uid: `u-${name}`, resourceVersion: '7' },
    spec: { cluster: 'spoke', user: 'alice@example.com', grantedGroup: group },
    status: {
      state: 'Approved',
      approvedAt: formatTime(clock.wallNow().getTime() - 60_000),
      expiresAt: formatTime(clock.wallNow().getTime() + 3_600_000),
    },
  } as BreakglassSession;
}

function sarBody(resource: Record<string, string>): Record<string, unknown> {
  return {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SubjectAccessReview',
    spec: { user: 'alice@example.com', groups: ['dev', 'system:authenticated'], resourceAttributes: resource },
  };
}

describe('authorization webhook over HTTP', () => {
  let server: ListeningServer;
  let base: string;
  const clock = new FakeClock(Date.parse('2026-12-01T10:00:00Z'));
  const clusters = new FakeSource<ClusterConfig>();
  const sessions = new FakeSource<BreakglassSession>();
  const policies = new FakeSource<DenyPolicy>();
  const escalations = new FakeSource<BreakglassEscalation>();
  let spokeDown = false;
  let secretReads = 0;
  const activity: string[] = [];
  const registry = new Registry();
  // The spoke's RBAC: group "payments-admin" may get pods in payments, nothing else.
  const grants: GrantChecker = {
    allowed: async (_cluster, groups, attributes) => {
      if (spokeDown) throw new GrantCheckError('unreachable', 'spoke', 'spoke spoke is unreachable');
      const r = attributes.resource;
      return groups.includes('payments-admin') && r?.resource === 'pods' && r.namespace === 'payments';
    },
  };

  const appLog = capturingLogger('info');

  before(async () => {
    clusters.reset([cluster]);
    escalations.reset([
      {
        metadata: { name: 'payments-oncall', namespace: 'breakglass', uid: 'e1' },
        spec: { escalatedGroup: 'payments-admin', allowed: { clusters: ['spoke'], groups: ['dev'] }, approvers: { users: ['bob@example.com'] } },
      } as BreakglassEscalation,
    ]);
    policies.reset([
      {
        metadata: { name: 'no-kube-system-secrets' },
        spec: { rules: [{ verbs: ['get', 'list'], apiGroups: [''], resources: ['secrets'], namespaces: { patterns: ['kube-system'] } }] },
      } as DenyPolicy,
    ]);
    sessions.reset([]);
    const directory = new InformerClusterDirectory(clusters);
    const escalationCache = new EscalationCache(escalations);
    const denyCache = new DenyPolicyCache(policies);
    const metrics = registerWebhookMetrics(registry);
    const pipeline = new AuthorizationPipeline(
      {
        clusters: directory,
        sessions: new SessionIndex(sessions),
        escalations: escalationCache,
        requestable: escalationCache,
        denyPolicies: () => denyCache.current(),
        spoke: { namespaceLabels: async () => ({}), getPod: async () => undefined },
        grants,
        activity: { record: (target) => activity.push(target.name) },
        clock,
        metrics,
      },
      { frontendBaseUrl: 'https://breakglass.example/' },
    );
    const callers = new CallerAuthenticator(
      {
        readSecret: async (namespace, name) => {
          secretReads++;
          return namespace === 'breakglass' && name === 'spoke-webhook' ? { token: `${TOKEN}\n` } : undefined;
        },
      },
      { clock },
    );
    const webhook = createWebhookHandler({ pipeline, clusters: directory, callers, logger: appLog.logger, metrics });
    server = await listen(withWebhook(webhook, createApiApp({ logger: appLog.logger, version: 't' }).callback(), appLog.logger), '127.0.0.1:0');
    base = `http://127.0.0.1:${server.port}`;
  });
  after(() => server.close());

  async function post(body: unknown, options: { path?: string; token?: string | null; raw?: string } = {}) {
    const headers: Record<string, string> = { 'content-type': 'application/json', 'x-request-id': 'req-42' };
    if (options.token !== null) headers.authorization = `Bearer ${options.token ?? TOKEN}`;
    const response = await fetch(`${base}${options.path ?? '/api/breakglass/webhook/authorize/spoke'}`, {
      method: 'POST',
      headers,
      body: options.raw ?? JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, text, json: text === '' ? undefined : (JSON.parse(text) as ReplyBody), requestId: response.headers.get('x-request-id') };
  }

  const getPods = sarBody({ verb: 'get', resource: 'pods', version: 'v1', namespace: 'payments' });

  /** The reasons logged for the refusals since `from` (sar_unauthenticated), with their cluster. */
  const refusals = (from: number) => appLog.records.slice(from).filter((r) => r.msg === 'sar_unauthenticated').map((r) => `${r.cluster}: ${r.reason}`);

  it('refuses callers without the cluster token (401, no decision), with one body that tells a stranger nothing and the reason in the log', async () => {
    const from = appLog.records.length;
    for (const token of [null, 'wrong-token', `${TOKEN}x`, '']) {
      const response = await post(getPods, { token });
      expect(response.status, String(token)).to.equal(401);
      expect(response.json, 'no SAR status in a 401').to.deep.equal(REFUSED_BODY);
    }
    // Headers too: the challenge is the same whichever way a cluster authenticates, or none exists.
    const headersOf = async (clusterName: string) => {
      const response = await fetch(`${base}/api/breakglass/webhook/authorize/${clusterName}`, { method: 'POST', headers: { authorization: 'Bearer wrong-token' }, body: '{}' });
      await response.arrayBuffer();
      return [...response.headers].filter(([name]) => !['x-request-id', 'date'].includes(name));
    };
    const known = await headersOf('spoke');
    expect(Object.fromEntries(known)['www-authenticate']).to.equal('Bearer');
    expect(await headersOf('nowhere'), 'an unknown cluster looks like a known one').to.deep.equal(known);
    const unknown = await post(getPods, { path: '/api/breakglass/webhook/authorize/nowhere' });
    expect([unknown.status, unknown.json]).to.deep.equal([401, REFUSED_BODY]);
    expect(refusals(from)).to.deep.equal([
      'spoke: a bearer token is required',
      'spoke: the bearer token is not valid for this cluster',
      'spoke: the bearer token is not valid for this cluster',
      'spoke: a bearer token is required',
      'spoke: the bearer token is not valid for this cluster',
      'nowhere: no ClusterConfig of this name',
      'nowhere: no ClusterConfig of this name',
    ]);
  });

  it('refuses every caller of a ClusterConfig without webhookAuthentication', async () => {
    clusters.reset([cluster, { metadata: { name: 'open', namespace: 'breakglass', uid: 'c2' }, spec: {} }]);
    const from = appLog.records.length;
    const response = await post(getPods, { path: '/api/breakglass/webhook/authorize/open' });
    expect([response.status, response.json]).to.deep.equal([401, REFUSED_BODY]);
    expect(refusals(from)).to.deep.equal(['open: ClusterConfig open configures no webhook caller authentication']);
    clusters.reset([cluster]);
  });

  it('reads the token Secret once per TTL, not per request', async () => {
    const before = secretReads;
    for (let i = 0; i < 5; i++) await post(getPods);
    expect(secretReads - before).to.be.at.most(1);
  });

  it('denies without a session and names the escalation that would allow it, with its link', async () => {
    const response = await post(getPods);
    expect(response.status).to.equal(200);
    expect(response.requestId).to.equal('req-42');
    expect(response.json).to.deep.include({ apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview' });
    expect(response.json?.status.allowed).to.equal(false);
    expect(response.json?.status.reason).to.contain('"payments-oncall"');
    expect(response.json?.status.reason).to.contain('https://breakglass.example?search=spoke&group=payments-admin');
  });

  it('allows through an approved session, on both paths, and records activity', async () => {
    const s = session('alice-payments', 'payments-admin', clock);
    sessions.add(s);
    for (const path of ['/api/breakglass/webhook/authorize/spoke', '/breakglass/webhook/authorize/spoke']) {
      const response = await post(getPods, { path });
      expect(response.status).to.equal(200);
      expect(response.json?.status.allowed, path).to.equal(true);
    }
    expect(activity).to.include('alice-payments');
    // A DenyPolicy still wins over the session.
    const secrets = await post(sarBody({ verb: 'get', resource: 'secrets', version: 'v1', namespace: 'kube-system' }));
    expect(secrets.json?.status.allowed).to.equal(false);
    expect(secrets.json?.status.reason).to.contain('no-kube-system-secrets');
    // The session ends: the next decision denies at once.
    sessions.remove(s);
    const after = await post(getPods);
    expect(after.json?.status.allowed).to.equal(false);
  });

  it('answers bad bodies with 400 naming the field, and 413 beyond 1 MiB', async () => {
    const badJson = await post(undefined, { raw: '{"apiVersion":' });
    expect(badJson.status).to.equal(400);
    expect(badJson.json?.error).to.contain('not valid JSON');
    const badVerb = await post(sarBody({ resource: 'pods' }));
    expect(badVerb.status).to.equal(400);
    expect(badVerb.json?.error).to.contain('spec.resourceAttributes.verb');
    const huge = await post(undefined, { raw: JSON.stringify({ pad: 'x'.repeat(1024 * 1024) }) });
    expect(huge.status).to.equal(413);
  });

  it('fails closed with an empty 500 when a cache has not synced or the spoke is down', async () => {
    sessions.synced = false;
    const notSynced = await post(getPods);
    expect(notSynced.status).to.equal(500);
    expect(notSynced.text).to.equal('');
    sessions.synced = true;

    clusters.synced = false;
    expect((await post(getPods)).status).to.equal(500);
    clusters.synced = true;

    sessions.add(session('alice-2', 'payments-admin', clock));
    spokeDown = true;
    const down = await post(getPods);
    expect(down.status).to.equal(500);
    spokeDown = false;
  });

  it('counts decisions in the webhook metrics', async () => {
    const text = await registry.metrics();
    expect(text).to.match(new RegExp(`${WEBHOOK_METRIC_NAMES.allowed}\\{cluster="spoke"\\} [1-9]`));
    expect(text).to.match(new RegExp(`${WEBHOOK_METRIC_NAMES.decisions}\\{cluster="spoke",decision="error",deny_source=""\\} [1-9]`));
  });

  // Refusals log at info for the first 10 per address and cluster: this block stays below that.
  it('logs decisions at debug (counted in the metrics) and refusals at info', async () => {
    const from = appLog.records.length;
    await post(getPods);
    await post(getPods, { token: 'wrong-token' });
    await post(undefined, { raw: '{' });
    const lines = appLog.records.slice(from).filter((r) => r.msg === 'http_request');
    expect(lines.map((r) => r.status)).to.deep.equal([401, 400]);
    expect(appLog.records.slice(from).filter((r) => r.msg === 'sar_unauthenticated').map((r) => r.level)).to.deep.equal(['info']);
  });
});

describe('authorization webhook transport', () => {
  let server: ListeningServer;
  let base: string;
  let failNext = false;
  const log = capturingLogger('info');
  const open: ClusterConfig = { metadata: { name: 'spoke', namespace: 'breakglass', uid: 'c1' }, spec: cluster.spec };

  before(async () => {
    const webhook = createWebhookHandler({
      pipeline: {
        authorize: async (clusterName) => {
          if (failNext) throw new Error('boom: a bug with internal details');
          return { kind: 'decision', allowed: true, reason: `allowed on ${clusterName}`, decision: 'allowed', denySource: '', clusterLabel: clusterName, warnings: [] };
        },
      },
      clusters: { get: (name) => (name === 'spoke' || name === 'a b' ? open : undefined) },
      callers: { authenticate: async () => ({ ok: true }) },
      logger: log.logger,
    });
    server = await listen(withWebhook(webhook, createApiApp({ logger: log.logger, version: 'v-test' }).callback()), '127.0.0.1:0');
    base = `http://127.0.0.1:${server.port}`;
  });
  after(() => server.close());

  const review = JSON.stringify(sarBody({ verb: 'get', resource: 'pods', version: 'v1', namespace: 'payments' }));
  const post = (path: string, headers: Record<string, string> = {}) => fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: review });

  it('answers a decision with the security headers and a request id, and ignores a query string and a trailing slash', async () => {
    for (const path of ['/api/breakglass/webhook/authorize/spoke?timeout=10s', '/breakglass/webhook/authorize/spoke/']) {
      const response = await post(path, { 'x-correlation-id': 'corr-7' });
      expect(response.status, path).to.equal(200);
      expect(response.headers.get('content-type')).to.match(/^application\/json/);
      expect(response.headers.get('x-content-type-options')).to.equal('nosniff');
      expect(response.headers.get('x-request-id')).to.equal('corr-7');
      expect(((await response.json()) as ReplyBody).status).to.deep.equal({ allowed: true, reason: 'allowed on spoke' });
    }
    const generated = await post('/api/breakglass/webhook/authorize/spoke', { 'x-request-id': 'has spaces' });
    expect(generated.headers.get('x-request-id')).to.match(/^[0-9a-f-]{36}$/);
  });

  it('decodes the cluster segment, and refuses bad percent-encoding with 400', async () => {
    const encoded = await post('/api/breakglass/webhook/authorize/a%20b');
    expect(((await encoded.json()) as ReplyBody).status.reason).to.equal('allowed on a b');
    const bad = await post('/api/breakglass/webhook/authorize/%E0%A4%A');
    expect(bad.status).to.equal(400);
    expect(((await bad.json()) as ReplyBody).error).to.contain('percent-encoding');
  });

  it('sends HSTS only when TLS ended in front of it, and serves an absolute-form target (a forward proxy)', async () => {
    expect((await post('/api/breakglass/webhook/authorize/spoke')).headers.get('strict-transport-security')).to.equal(null);
    const forwarded = await post('/api/breakglass/webhook/authorize/spoke', { 'x-forwarded-proto': 'https' });
    expect(forwarded.headers.get('strict-transport-security')).to.match(/^max-age=/);
    const proxied = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(
        { host: '127.0.0.1', port: server.port, method: 'POST', path: `http://127.0.0.1:${server.port}/api/breakglass/webhook/authorize/spoke?x=1`, headers: { 'content-type': 'application/json' } },
        (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (c: string) => (body += c)).on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      req.end(review);
    });
    expect(proxied.status).to.equal(200);
    expect(proxied.body).to.contain('allowed on spoke');
  });

  it('answers a streamed body beyond 1 MiB with 413 and closes the connection', async () => {
    const answer = await new Promise<{ status: number; connection: string | undefined }>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port: server.port, method: 'POST', path: '/api/breakglass/webhook/authorize/spoke' }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection }));
      });
      req.on('error', reject);
      const chunk = Buffer.alloc(64 * 1024, 'x');
      let sent = 0;
      const pump = (): void => {
        // Chunked (no Content-Length), until the server answers.
        while (sent < 40 && req.write(chunk)) sent++;
        if (sent < 40) req.once('drain', pump);
      };
      pump();
    });
    expect(answer).to.deep.equal({ status: 413, connection: 'close' });
  });

  it('refuses other methods on the webhook paths with 405 and Allow: POST', async () => {
    const response = await fetch(`${base}/api/breakglass/webhook/authorize/spoke`);
    expect(response.status).to.equal(405);
    expect(response.headers.get('allow')).to.equal('POST');
    expect(((await response.json()) as { code: string }).code).to.equal('METHOD_NOT_ALLOWED');
  });

  it('leaves every other path to the Koa app', async () => {
    const version = await fetch(`${base}/api/version`);
    expect(await version.json()).to.deep.equal({ version: 'v-test' });
    // Not a webhook path: no cluster segment, or more than one.
    for (const path of ['/api/breakglass/webhook/authorize/', '/api/breakglass/webhook/authorize/a/b']) {
      const response = await post(path);
      expect(response.status, path).to.equal(404);
      expect(((await response.json()) as { code: string }).code).to.equal('NOT_FOUND');
    }
  });

  it('answers an unexpected error with a generic 500 and logs it once', async () => {
    const from = log.records.length;
    failNext = true;
    const response = await post('/api/breakglass/webhook/authorize/spoke');
    failNext = false;
    expect(response.status).to.equal(500);
    const text = await response.text();
    expect(text).to.not.contain('boom');
    expect(JSON.parse(text)).to.deep.equal({ error: 'internal error', code: 'INTERNAL_ERROR' });
    const lines = log.records.slice(from);
    expect(lines.filter((l) => l.msg === 'request failed')).to.have.length(1);
    expect(lines.filter((l) => l.msg === 'http_request').map((l) => l.status)).to.deep.equal([500]);
  });
});

describe('authorization webhook rate limit and refusals', () => {
  let server: ListeningServer;
  let base: string;
  const log = capturingLogger('debug');
  const registry = new Registry();
  const configs = new Map(['spoke', 'other'].map((name): [string, ClusterConfig] => [name, { metadata: { name, namespace: 'breakglass', uid: name }, spec: cluster.spec }]));

  before(async () => {
    const webhook = createWebhookHandler({
      pipeline: {
        authorize: async (clusterName) => ({ kind: 'decision', allowed: true, reason: `allowed on ${clusterName}`, decision: 'allowed', denySource: '', clusterLabel: clusterName, warnings: [] }),
      },
      clusters: { get: (name) => configs.get(name) },
      callers: { authenticate: async (_cluster, presented) => (presented.bearerToken === TOKEN ? { ok: true } : { ok: false, reason: 'the bearer token is not valid for this cluster' }) },
      logger: log.logger,
      metrics: registerWebhookMetrics(registry),
      // Refilling once in 100 s: nothing refills while the test runs.
      rateLimits: { perCluster: { ratePerSecond: 0.01, burst: 3 } },
    });
    server = await listen(withWebhook(webhook, createApiApp({ logger: log.logger, version: 'v-test' }).callback(), log.logger), '127.0.0.1:0');
    base = `http://127.0.0.1:${server.port}`;
  });
  after(() => server.close());

  const review = JSON.stringify(sarBody({ verb: 'get', resource: 'pods', version: 'v1', namespace: 'payments' }));
  async function ask(clusterName: string, token: string) {
    const response = await fetch(`${base}/api/breakglass/webhook/authorize/${clusterName}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: review,
    });
    return { status: response.status, retryAfter: response.headers.get('retry-after'), body: (await response.json()) as { error?: string; code?: string; status?: { allowed: boolean } } };
  }
  const levels = (from: number, msg: string, status?: number, clusterName?: string) =>
    log.records
      .slice(from)
      .filter((r) => r.msg === msg && (status === undefined || r.status === status) && (clusterName === undefined || r.cluster === clusterName))
      .map((r) => r.level);

  it('refuses every wrong caller with 401 at once (never 429), counts them all, and logs only the first ones per address and cluster at info', async () => {
    const from = log.records.length;
    const started = Date.now();
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) statuses.push((await ask('spoke', 'wrong-token')).status);
    statuses.push((await ask('nowhere', TOKEN)).status);
    const elapsedS = (Date.now() - started) / 1000;
    expect(new Set(statuses), 'a spoke API server does not retry a 401').to.deep.equal(new Set([401]));
    // Ten at once, then one per second.
    const info = levels(from, 'sar_unauthenticated', undefined, 'spoke').filter((l) => l === 'info').length;
    expect(info).to.be.at.least(10).and.at.most(10 + Math.ceil(elapsedS));
    expect(levels(from, 'sar_unauthenticated', undefined, 'spoke').filter((l) => l === 'debug')).to.have.length(30 - info);
    expect(levels(from, 'sar_unauthenticated', undefined, 'nowhere'), 'another cluster has its own log budget').to.deep.equal(['info']);
    expect(levels(from, 'http_request', 401).filter((l) => l === 'info'), 'their access lines follow').to.have.length(info + 1);
    const text = await registry.metrics();
    expect(text).to.contain(`${WEBHOOK_METRIC_NAMES.refused}{cluster="spoke"} 30`);
    expect(text).to.contain(`${WEBHOOK_METRIC_NAMES.refused}{cluster="_unresolved"} 1`);
  });

  it('gives made-up cluster names of one address one log budget: inventing names buys no more info lines', async () => {
    const refusedUnresolved = async () => Number(new RegExp(`^${WEBHOOK_METRIC_NAMES.refused}\\{cluster="_unresolved"\\} (\\d+)$`, 'm').exec(await registry.metrics())?.[1] ?? 0);
    const counted = await refusedUnresolved();
    const from = log.records.length;
    const started = Date.now();
    for (let i = 0; i < 30; i++) expect((await ask(`no-such-${i}`, TOKEN)).status).to.equal(401);
    const elapsedS = (Date.now() - started) / 1000;
    const lines = log.records.slice(from).filter((r) => r.msg === 'sar_unauthenticated');
    expect(lines, 'each logged, at info or debug').to.have.length(30);
    // At most one budget of 10 (less what other tests spent), refilling at 1/s; not 30.
    expect(lines.filter((r) => r.level === 'info').length).to.be.at.least(1).and.at.most(10 + Math.ceil(elapsedS));
    expect((await refusedUnresolved()) - counted, 'each counted under one label').to.equal(30);
  });

  it('ends the connection of a refused caller whose body has no bound, and keeps one whose body is small', async () => {
    const refusedStream = await new Promise<{ status: number; connection: string | undefined }>((resolve, reject) => {
      const req = httpRequest(
        { host: '127.0.0.1', port: server.port, method: 'POST', path: '/api/breakglass/webhook/authorize/spoke', headers: { authorization: 'Bearer wrong-token' } },
        (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection }));
        },
      );
      req.on('error', reject);
      // Chunked, and never ended: the server must not wait for (or drain) the rest.
      req.write(Buffer.alloc(16 * 1024, 'x'));
    });
    expect(refusedStream).to.deep.equal({ status: 401, connection: 'close' });
    const small = await fetch(`${base}/api/breakglass/webhook/authorize/spoke`, { method: 'POST', headers: { authorization: 'Bearer wrong-token' }, body: review });
    expect(small.status).to.equal(401);
    expect(small.headers.get('connection')).to.equal('keep-alive');
    const bodyless = await fetch(`${base}/api/breakglass/webhook/authorize/spoke`);
    expect(bodyless.status, 'a GET has no body to drain').to.equal(405);
    expect(bodyless.headers.get('connection')).to.equal('keep-alive');
  });

  it('answers a spoke past its budget 429 with Retry-After, logs that at warn once and counts each; the refusals spent none of it', async () => {
    const from = log.records.length;
    const decided = [];
    for (let i = 0; i < 5; i++) decided.push(await ask('spoke', TOKEN));
    expect(decided.map((r) => r.status), 'its whole budget after 30 refusals, then 429').to.deep.equal([200, 200, 200, 429, 429]);
    expect(decided[0]?.body.status?.allowed).to.equal(true);
    expect(decided[3]?.body).to.deep.include({ code: 'TOO_MANY_REQUESTS' });
    expect(decided[3]?.body.error).to.match(/more SubjectAccessReviews for cluster spoke than this replica takes \(0\.01\/s\)/);
    expect(decided[3]?.body.status, 'no decision in a 429').to.equal(undefined);
    expect(decided[3]?.retryAfter, 'seconds until the next token at 0.01/s').to.equal('100');
    expect(levels(from, 'sar_rate_limited')).to.deep.equal(['warn', 'debug']);
    expect(levels(from, 'http_request', 429), 'no info line per 429').to.deep.equal(['debug', 'debug']);
    expect((await ask('other', TOKEN)).status, 'another spoke has its own budget').to.equal(200);
    const text = await registry.metrics();
    expect(text).to.contain(`${WEBHOOK_METRIC_NAMES.rateLimited}{cluster="spoke"} 2`);
    expect(text).to.match(new RegExp(`${WEBHOOK_METRIC_NAMES.requests}\\{cluster="spoke"\\} 3\\n`));
  });
});

describe('authorization webhook: a client that leaves while it is authenticated', () => {
  it('logs the request as aborted once the authentication ends, decides nothing and logs no error', async () => {
    const log = capturingLogger('debug');
    let authenticating: () => void = () => {};
    const authenticationStarted = new Promise<void>((resolve) => (authenticating = resolve));
    let finishAuthentication: () => void = () => {};
    const authenticated = new Promise<void>((resolve) => (finishAuthentication = resolve));
    let decisions = 0;
    const webhook = createWebhookHandler({
      pipeline: {
        authorize: async () => {
          decisions++;
          return { kind: 'decision', allowed: true, reason: 'allowed', decision: 'allowed', denySource: '', clusterLabel: 'spoke', warnings: [] };
        },
      },
      clusters: { get: () => cluster },
      // A Secret read that takes longer than the caller waits.
      callers: {
        authenticate: async () => {
          authenticating();
          await authenticated;
          return { ok: true };
        },
      },
      logger: log.logger,
    });
    let incoming: IncomingMessage | undefined;
    const rest = createApiApp({ logger: log.logger, version: 't' }).callback();
    const handler = withWebhook(webhook, rest, log.logger);
    const server = await listen((req, res) => {
      incoming = req;
      handler(req, res);
    }, '127.0.0.1:0');
    try {
      const client = httpRequest({ host: '127.0.0.1', port: server.port, method: 'POST', path: '/api/breakglass/webhook/authorize/spoke', headers: { 'content-length': '2' } });
      client.on('error', () => {});
      client.write('{');
      await authenticationStarted;
      client.destroy();
      await new Promise<void>((resolve) => (incoming?.destroyed ? resolve() : incoming?.once('close', () => resolve())));
      finishAuthentication();
      const deadline = Date.now() + 5_000;
      while (!log.records.some((r) => r.msg === 'http_request') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      const access = log.records.filter((r) => r.msg === 'http_request');
      expect(access.map((r) => [r.status, r.aborted, r.level])).to.deep.equal([[0, true, 'info']]);
      expect(log.records.filter((r) => r.level === 'error'), 'the client leaving is not a server error').to.deep.equal([]);
      expect(decisions).to.equal(0);
    } finally {
      await server.close();
    }
  });
});

describe('authorization webhook: a caller Secret that cannot be read', () => {
  it('fails closed with an empty 500, reads the Secret once for many requests, warns once and logs no error', async () => {
    const log = capturingLogger('debug');
    const registry = new Registry();
    let reads = 0;
    const webhook = createWebhookHandler({
      pipeline: {
        authorize: async () => {
          throw new Error('not reached: nobody is authenticated');
        },
      },
      clusters: { get: () => cluster },
      callers: new CallerAuthenticator(
        {
          readSecret: async () => {
            reads++;
            throw new Error('secrets "spoke-webhook" is forbidden');
          },
        },
        { clock: new FakeClock(Date.now()) },
      ),
      logger: log.logger,
      metrics: registerWebhookMetrics(registry),
    });
    const server = await listen(withWebhook(webhook, createApiApp({ logger: log.logger, version: 't' }).callback(), log.logger), '127.0.0.1:0');
    try {
      const answers: [number, string][] = [];
      for (let i = 0; i < 20; i++) {
        const response = await fetch(`http://127.0.0.1:${server.port}/api/breakglass/webhook/authorize/spoke`, {
          method: 'POST',
          headers: { authorization: `Bearer ${i % 2 === 0 ? TOKEN : 'a-stranger'}` },
          body: '{}',
        });
        answers.push([response.status, await response.text()]);
      }
      expect(new Set(answers.map(([status, body]) => `${status} ${body}`)), 'the spoke applies its failurePolicy').to.deep.equal(new Set(['500 ']));
      expect(reads, 'strangers cannot make the hub read a Secret per request').to.equal(1);
      const failed = log.records.filter((r) => r.msg === 'sar_failed');
      expect(failed.map((r) => r.level)).to.deep.equal(['warn', ...Array<string>(19).fill('debug')]);
      expect(failed[0]).to.deep.include({ cluster: 'spoke', failure: 'caller-secret-unavailable', err: 'Secret breakglass/spoke-webhook could not be read: secrets "spoke-webhook" is forbidden' });
      expect(log.records.filter((r) => r.level === 'error')).to.deep.equal([]);
      expect(log.records.filter((r) => r.msg === 'http_request' && r.level === 'info'), 'access lines at debug').to.deep.equal([]);
      expect(await registry.metrics()).to.contain(`${WEBHOOK_METRIC_NAMES.decisions}{cluster="spoke",decision="error",deny_source=""} 20`);
    } finally {
      await server.close();
    }
  });
});
