import { expect } from 'chai';
import { Registry } from 'prom-client';
import type { BreakglassEscalation, BreakglassSession, ClusterConfig, DenyPolicy } from '../../crds/index.ts';
import { FakeClock } from '../clock/clock.ts';
import { createApiApp } from '../http/api-app.ts';
import { listen, type ListeningServer } from '../http/listen.ts';
import type { CacheChange } from '../kube/restarting-informer.ts';
import { capturingLogger } from '../kube/capturing-logger.ts';
import { silentLogger } from '../observability/logger.ts';
import { formatTime } from '../sessions/timestamps.ts';
import { CallerAuthenticator } from '../authorization/caller-auth.ts';
import { AuthorizationPipeline } from '../authorization/decision.ts';
import type { GrantChecker } from '../authorization/grant-checker.ts';
import { GrantCheckError } from '../authorization/grant-checker.ts';
import { registerWebhookMetrics, WEBHOOK_METRIC_NAMES } from '../authorization/metrics.ts';
import { DenyPolicyCache, EscalationCache, InformerClusterDirectory, SessionIndex, type ChangeSource } from '../authorization/webhook-caches.ts';
import { createWebhookRouter } from './authorization-webhook-router.ts';

const TOKEN = 'spoke-token-0123456789';

interface ReplyBody {
  error?: string;
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
    const router = createWebhookRouter({ pipeline, clusters: directory, callers, logger: silentLogger(), metrics });
    server = await listen(createApiApp({ logger: appLog.logger, version: 't', routers: [router] }).callback(), '127.0.0.1:0');
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

  it('refuses callers without the cluster token (401, no decision)', async () => {
    for (const token of [null, 'wrong-token', `${TOKEN}x`, '']) {
      const response = await post(getPods, { token });
      expect(response.status, String(token)).to.equal(401);
      expect(response.json?.status, 'no SAR status in a 401').to.equal(undefined);
    }
    const unknown = await post(getPods, { path: '/api/breakglass/webhook/authorize/nowhere' });
    expect(unknown.status).to.equal(401);
    expect(unknown.json?.error).to.contain('nowhere');
  });

  it('refuses every caller of a ClusterConfig without webhookAuthentication', async () => {
    clusters.reset([cluster, { metadata: { name: 'open', namespace: 'breakglass', uid: 'c2' }, spec: {} }]);
    const response = await post(getPods, { path: '/api/breakglass/webhook/authorize/open' });
    expect(response.status).to.equal(401);
    expect(response.json?.error).to.contain('no webhook caller authentication');
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

  it('logs decisions at debug (counted in the metrics) and refusals at info', async () => {
    const from = appLog.records.length;
    await post(getPods);
    await post(getPods, { token: 'wrong-token' });
    await post(undefined, { raw: '{' });
    const lines = appLog.records.slice(from).filter((r) => r.msg === 'http_request');
    expect(lines.map((r) => r.status)).to.deep.equal([401, 400]);
  });
});
