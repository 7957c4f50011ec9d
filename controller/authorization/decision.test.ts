import { expect } from 'chai';
import type { BreakglassEscalation, BreakglassSession, ClusterConfig, DenyPolicy } from '../../crds/index.ts';
import { FakeClock } from '../clock/clock.ts';
import { formatTime } from '../sessions/timestamps.ts';
import type { ActivityTarget } from './activity.ts';
import {
  AmbiguousClusterError,
  AuthorizationPipeline,
  CacheNotSyncedError,
  type AuthorizationOutcome,
  type DecisionDependencies,
  type DecisionOptions,
} from './decision.ts';
import { DenyPolicyIndex } from './deny-policy.ts';
import { CachingGrantChecker } from './grant-cache.ts';
import { GrantCheckError, type GrantChecker } from './grant-checker.ts';
import type { Labels } from './namespace-filter.ts';
import type { PodLike } from './pod-security.ts';
import type { RequestableEscalation } from './reasons.ts';
import { parseSubjectAccessReview, type RequestAttributes, type SubjectAccessReviewRequest } from './subject-access-review.ts';

const BASE = 'https://breakglass.example/';
const HOUR = 3_600_000;

function sar(attributes: Record<string, unknown>, spec: Record<string, unknown> = {}): SubjectAccessReviewRequest {
  return parseSubjectAccessReview({
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SubjectAccessReview',
    spec: { user: 'alice@example.com', groups: ['oidc:dev', 'system:authenticated'], ...spec, ...attributes },
  });
}

const getPods = (namespace = 'payments') => sar({ resourceAttributes: { verb: 'get', resource: 'pods', version: 'v1', namespace } });
const getSecrets = (namespace = 'kube-system') => sar({ resourceAttributes: { verb: 'get', resource: 'secrets', version: 'v1', namespace } });
const execInto = (name: string) =>
  sar({ resourceAttributes: { verb: 'create', resource: 'pods', subresource: 'exec', name, version: 'v1', namespace: 'payments' } });

const cluster: ClusterConfig = { metadata: { name: 'prod', namespace: 'breakglass' }, spec: { tenant: 'acme' } };

interface World {
  clock: FakeClock;
  clusters: Map<string, ClusterConfig>;
  sessions: BreakglassSession[];
  escalations: Map<string, BreakglassEscalation>;
  requestable: RequestableEscalation[];
  policies: DenyPolicy[];
  labels: Map<string, Labels>;
  pods: Map<string, PodLike>;
  /** Groups the spoke's RBAC lets do anything. */
  spokeGrants: (groups: readonly string[], attributes: RequestAttributes) => boolean | Error;
  grantCalls: (readonly string[])[];
  activity: ActivityTarget[];
  failures: { clusters?: Error; sessions?: Error; policies?: Error; requestable?: Error; labels?: boolean };
}

function world(): World {
  const clock = new FakeClock();
  return {
    clock,
    clusters: new Map([['prod', cluster]]),
    sessions: [],
    escalations: new Map(),
    requestable: [],
    policies: [],
    labels: new Map(),
    pods: new Map(),
    spokeGrants: () => false,
    grantCalls: [],
    activity: [],
    failures: {},
  };
}

function session(name: string, grantedGroup: string, overrides: { state?: string; expiresInMs?: number; user?: string; issuer?: string; owner?: string } = {}): (w: World) => BreakglassSession {
  return (w) => ({
    metadata: {
      name,
      namespace: 'team',
      uid: `uid-${name}`,
      resourceVersion: '1',
      ownerReferences: overrides.owner ? [{ apiVersion: 'v', kind: 'BreakglassEscalation', name: overrides.owner, uid: 'e' }] : [],
    },
    spec: {
      cluster: 'prod',
      user: overrides.user ?? 'alice@example.com',
      grantedGroup,
      ...(overrides.issuer ? { identityProviderIssuer: overrides.issuer, identityProviderName: 'other-idp' } : {}),
    },
    status: {
      state: (overrides.state ?? 'Approved') as 'Approved',
      approvedAt: formatTime(w.clock.wallNow().getTime() - HOUR),
      expiresAt: formatTime(w.clock.wallNow().getTime() + (overrides.expiresInMs ?? HOUR)),
    },
  });
}

/** The world's spoke: answers from w.spokeGrants (an Error is thrown), every call recorded. */
function worldSpoke(w: World): GrantChecker {
  return {
    async allowed(_cluster, groups, attributes) {
      w.grantCalls.push(groups);
      const answer = w.spokeGrants(groups, attributes);
      if (answer instanceof Error) throw answer;
      return answer;
    },
  };
}

function pipeline(w: World, options: DecisionOptions = { frontendBaseUrl: BASE, oidcPrefixes: ['oidc:'] }, grants?: GrantChecker): AuthorizationPipeline {
  const spoke = worldSpoke(w);
  let index: DenyPolicyIndex | undefined;
  let indexed: DenyPolicy[] | undefined;
  const deps: DecisionDependencies = {
    clusters: {
      get(name) {
        if (w.failures.clusters) throw w.failures.clusters;
        return w.clusters.get(name);
      },
    },
    sessions: {
      forClusterUser(clusterName, user) {
        if (w.failures.sessions) throw w.failures.sessions;
        // The real index returns exact matches; this fake returns everything to prove the pipeline re-checks.
        void clusterName;
        void user;
        return w.sessions;
      },
    },
    escalations: {
      ownerOf: (s) => w.escalations.get(s.metadata?.ownerReferences?.[0]?.name ?? ''),
    },
    requestable: {
      forUser() {
        if (w.failures.requestable) throw w.failures.requestable;
        return w.requestable;
      },
    },
    denyPolicies() {
      if (w.failures.policies) throw w.failures.policies;
      if (indexed !== w.policies) {
        indexed = w.policies;
        index = new DenyPolicyIndex(w.policies);
      }
      return index as DenyPolicyIndex;
    },
    spoke: {
      async namespaceLabels(_cluster, namespace) {
        if (w.failures.labels) throw new Error('spoke unreachable');
        return w.labels.get(namespace) ?? {};
      },
      async getPod(_cluster, namespace, name) {
        return w.pods.get(`${namespace}/${name}`);
      },
    },
    grants: grants ?? spoke,
    activity: { record: (t) => w.activity.push(t) },
    clock: w.clock,
  };
  return new AuthorizationPipeline(deps, options);
}

function decided(outcome: AuthorizationOutcome) {
  if (outcome.kind !== 'decision') throw new Error(`expected a decision, got ${outcome.failure}: ${outcome.message}`);
  return outcome;
}

const allowsGroup = (group: string) => (groups: readonly string[]) => groups.includes(group) || groups.includes(`oidc:${group}`);

describe('authorization decision pipeline', () => {
  it('denies an unregistered cluster with the onboarding text and the link', async () => {
    const w = world();
    const outcome = decided(await pipeline(w).authorize('staging', getPods()));
    expect(outcome.allowed).to.equal(false);
    expect(outcome.reason).to.equal(
      'Cluster "staging" is not registered with Breakglass, so get pods in namespace payments cannot be authorized yet. ' +
        'Ask your platform administrators to onboard the cluster or choose one of the onboarded clusters.; see https://breakglass.example?search=staging',
    );
    expect([outcome.decision, outcome.denySource, outcome.clusterLabel]).to.deep.equal(['cluster-missing', 'cluster-missing', '_unresolved']);
  });

  it('answers 500 (spoke failurePolicy decides) when a cache has not synced or the cluster name is ambiguous', async () => {
    const w = world();
    w.failures.sessions = new CacheNotSyncedError('BreakglassSession');
    const notSynced = await pipeline(w).authorize('prod', getPods());
    expect(notSynced.kind === 'failure' && [notSynced.failure, notSynced.httpStatus]).to.deep.equal(['cache-not-synced', 500]);
    w.failures = { clusters: new AmbiguousClusterError('prod') };
    const ambiguous = await pipeline(w).authorize('prod', getPods());
    expect(ambiguous.kind === 'failure' && ambiguous.failure).to.equal('ambiguous-cluster');
    w.failures = { clusters: new TypeError('bug') };
    let thrown: unknown;
    await pipeline(w).authorize('prod', getPods()).catch((e: unknown) => (thrown = e));
    expect(thrown, 'unknown errors are not hidden as decisions').to.be.instanceOf(TypeError);
  });

  it('allows through a usable session whose group the spoke allows, and records activity', async () => {
    const w = world();
    w.sessions = [session('prod-payments-admin-x1', 'payments-admin')(w)];
    w.spokeGrants = allowsGroup('payments-admin');
    const outcome = decided(await pipeline(w).authorize('prod', getPods()));
    expect(outcome.allowed).to.equal(true);
    expect(outcome.reason).to.equal(
      'Allowed by breakglass session (session=prod-payments-admin-x1 sessionGroup=payments-admin); see https://breakglass.example?search=prod',
    );
    expect(outcome.session?.metadata?.name).to.equal('prod-payments-admin-x1');
    expect(w.grantCalls).to.deep.equal([['payments-admin', 'oidc:payments-admin']]);
    expect(w.activity.map((a) => [a.namespace, a.name, a.uid])).to.deep.equal([['team', 'prod-payments-admin-x1', 'uid-prod-payments-admin-x1']]);
  });

  it('never grants from sessions that are not usable, nor from the user\'s own groups', async () => {
    const w = world();
    w.sessions = [
      session('pending', 'payments-admin', { state: 'Pending' })(w),
      session('expired', 'payments-admin', { expiresInMs: -1000 })(w),
      session('waiting', 'payments-admin', { state: 'WaitingForScheduledTime' })(w),
      session('withdrawn', 'payments-admin', { state: 'Withdrawn' })(w),
      session('bobs', 'payments-admin', { user: 'bob@example.com' })(w),
    ];
    w.spokeGrants = (groups) => groups.includes('payments-admin') || groups.includes('oidc:dev');
    const outcome = decided(await pipeline(w).authorize('prod', getPods()));
    expect(outcome.allowed).to.equal(false);
    expect(w.grantCalls, 'only hint dry runs, none for the sessions').to.deep.equal([]);
    expect(w.activity).to.deep.equal([]);
    for (const name of ['pending', 'expired', 'waiting', 'withdrawn', 'bobs']) expect(outcome.reason).to.not.include(name);
  });

  it('stops granting the moment the session expires, though the spoke answer is cached', async () => {
    const w = world();
    w.sessions = [session('s1', 'payments-admin', { expiresInMs: 5_000 })(w)];
    w.spokeGrants = allowsGroup('payments-admin');
    const cached = new CachingGrantChecker(
      { allowed: async (_c, groups) => (w.grantCalls.push(groups), allowsGroup('payments-admin')(groups)) },
      { clock: w.clock, allowedTtlMs: 60_000 },
    );
    const p = pipeline(w, { frontendBaseUrl: BASE }, cached);
    expect(decided(await p.authorize('prod', getPods())).allowed).to.equal(true);
    await w.clock.advance(5_001);
    expect(decided(await p.authorize('prod', getPods())).allowed).to.equal(false);
  });

  it('names, for a denied request, only the requestable escalations that would allow it, with deep links', async () => {
    const w = world();
    w.requestable = [
      { name: 'payments-readers', escalatedGroup: 'payments-read' },
      { name: 'cluster-viewers', escalatedGroup: 'viewers' },
      { name: 'payments-readers-2', escalatedGroup: 'payments-read' },
    ];
    w.spokeGrants = allowsGroup('payments-read');
    const outcome = decided(await pipeline(w).authorize('prod', getPods()));
    expect(outcome.allowed).to.equal(false);
    expect(outcome.reason).to.equal(
      'Access denied. To get temporary access via Breakglass, request escalation "payments-readers" (group payments-read) at ' +
        'https://breakglass.example?search=prod&group=payments-read; it would allow this request. Include the reason for access. ' +
        'If you need help, contact your platform admins.',
    );
    expect(outcome.reason).to.not.include('viewers');
    expect([outcome.decision, outcome.denySource]).to.deep.equal(['denied', 'final']);
    expect(w.grantCalls, 'one dry run per distinct group').to.have.length(2);
  });

  it('lists several allowing escalations, and works without a frontend URL', async () => {
    const w = world();
    w.requestable = [
      { name: 'a', escalatedGroup: 'ga' },
      { name: 'b', escalatedGroup: 'gb' },
    ];
    w.spokeGrants = () => true;
    const outcome = decided(await pipeline(w, {}).authorize('prod', getPods()));
    expect(outcome.reason).to.include('request one of these escalations: "a" (group ga), "b" (group gb); it would allow this request');
    expect(outcome.reason).to.not.include('http');
  });

  it('gives the same hint when some dry runs come from the grant cache and the rest from the spoke', async () => {
    const w = world();
    w.requestable = [
      { name: 'a', escalatedGroup: 'ga' },
      { name: 'b', escalatedGroup: 'gb' },
      { name: 'c', escalatedGroup: 'gc' },
    ];
    w.spokeGrants = (groups) => !groups.includes('gb');
    const cached = new CachingGrantChecker(worldSpoke(w), { clock: w.clock, allowedTtlMs: 60_000, deniedTtlMs: 60_000 });
    // "ga" and "gb" are already cached (from an earlier decision's dry run); "gc" is not.
    await cached.allowed('prod', ['ga'], getPods());
    await cached.allowed('prod', ['gb'], getPods());
    w.grantCalls.length = 0;
    const fromCache = decided(await pipeline(w, {}, cached).authorize('prod', getPods()));
    expect(w.grantCalls.map((g) => g[0]), 'only the missing answer is asked for').to.deep.equal(['gc']);
    const uncached = decided(await pipeline(w, {}).authorize('prod', getPods()));
    expect(fromCache.reason).to.equal(uncached.reason);
    expect(fromCache.reason).to.include('request one of these escalations: "a" (group ga), "c" (group gc)');
    // All three cached now: answered without the spoke.
    w.grantCalls.length = 0;
    expect(decided(await pipeline(w, {}, cached).authorize('prod', getPods())).reason).to.equal(uncached.reason);
    expect(w.grantCalls).to.have.length(0);
  });

  it('says the hint is unavailable when a dry run the cache cannot answer fails, even with the others cached', async () => {
    const w = world();
    w.requestable = [
      { name: 'a', escalatedGroup: 'ga' },
      { name: 'b', escalatedGroup: 'gb' },
    ];
    w.spokeGrants = () => false;
    const cached = new CachingGrantChecker(worldSpoke(w), { clock: w.clock, deniedTtlMs: 60_000 });
    await cached.allowed('prod', ['ga'], getPods());
    w.spokeGrants = () => new GrantCheckError('unreachable', 'prod', 'connection refused');
    const outcome = decided(await pipeline(w, {}, cached).authorize('prod', getPods()));
    const uncached = decided(await pipeline(w, {}).authorize('prod', getPods()));
    expect(outcome.allowed).to.equal(false);
    expect(outcome.reason, 'as without the cache').to.equal(uncached.reason);
    expect(outcome.reason).to.include('could not check which escalations would allow this request');
  });

  it('dry-runs at most maxHintEscalations escalations', async () => {
    const w = world();
    w.requestable = Array.from({ length: 30 }, (_, i) => ({ name: `e${i}`, escalatedGroup: `g${i}` }));
    await pipeline(w, { maxHintEscalations: 4 }).authorize('prod', getPods());
    expect(w.grantCalls.map((g) => g[0])).to.deep.equal(['g0', 'g1', 'g2', 'g3']);
  });

  it('says so when no requestable escalation would allow it, instead of linking to a useless request', async () => {
    const w = world();
    w.requestable = [{ name: 'viewers', escalatedGroup: 'viewers' }];
    const outcome = decided(await pipeline(w).authorize('prod', getPods()));
    expect(outcome.reason).to.equal(
      'Access denied. None of the breakglass escalations you may request on cluster "prod" would allow get pods in namespace payments. ' +
        'If you need this access, contact your platform admins.',
    );
    w.requestable = [];
    const nothing = decided(await pipeline(w).authorize('prod', getPods()));
    expect(nothing.reason).to.equal(
      'Access denied. You may not request any breakglass escalation on cluster "prod". If you need access, contact your platform admins.',
    );
  });

  it('tells a user whose sessions do not allow it, without naming the sessions', async () => {
    const w = world();
    w.sessions = [session('prod-viewers-abc12', 'viewers')(w)];
    w.requestable = [
      { name: 'viewers', escalatedGroup: 'viewers' },
      { name: 'payments-admins', escalatedGroup: 'payments-admin' },
    ];
    w.spokeGrants = allowsGroup('payments-admin');
    const outcome = decided(await pipeline(w).authorize('prod', getPods()));
    expect(outcome.reason).to.match(/^Your 1 active breakglass session\(s\) on this cluster do not allow get pods in namespace payments\. /);
    expect(outcome.reason).to.include('request escalation "payments-admins"');
    expect(outcome.reason).to.not.include('prod-viewers-abc12');
    expect(w.grantCalls, 'the held group is not dry-run again').to.have.length(2);
  });

  it('answers 500 when the spoke is down for a session check, but only degrades the hint when a dry run fails', async () => {
    const w = world();
    w.sessions = [session('s1', 'payments-admin')(w)];
    w.spokeGrants = () => new GrantCheckError('timeout', 'prod', 'spoke prod did not answer within 2000 ms');
    const down = await pipeline(w).authorize('prod', getPods());
    expect(down.kind === 'failure' && [down.failure, down.httpStatus]).to.deep.equal(['spoke-unavailable', 500]);
    w.sessions = [];
    w.requestable = [{ name: 'x', escalatedGroup: 'x' }];
    const hint = decided(await pipeline(w).authorize('prod', getPods()));
    expect(hint.reason).to.equal(
      'Access denied. Breakglass could not check which escalations would allow this request; see https://breakglass.example?search=prod',
    );
    w.failures.requestable = new Error('cache');
    expect(decided(await pipeline(w).authorize('prod', getPods())).allowed).to.equal(false);
  });

  it('treats a refusal of the hub credentials as "not allowed" with a note, not as an outage', async () => {
    const w = world();
    w.sessions = [session('s1', 'payments-admin')(w)];
    w.spokeGrants = () => new GrantCheckError('no-credentials', 'prod', 'kubeconfig secret breakglass/prod not found');
    const outcome = decided(await pipeline(w).authorize('prod', getPods()));
    expect(outcome.allowed).to.equal(false);
    expect(outcome.reason).to.include(
      'Note: 1 active breakglass session(s) found. Session-level authorization checks were skipped due to cluster validation error: kubeconfig secret breakglass/prod not found.',
    );
    expect(outcome.reason).to.not.include('s1');
  });

  it('denies through a DenyPolicy before any grant check, whatever the session allows', async () => {
    const w = world();
    w.sessions = [session('s1', 'cluster-admin')(w)];
    w.spokeGrants = () => true;
    w.policies = [
      { metadata: { name: 'no-kube-system-secrets' }, spec: { rules: [{ verbs: ['*'], apiGroups: [''], resources: ['secrets'], namespaces: { patterns: ['kube-system'] } }] } },
    ];
    const outcome = decided(await pipeline(w).authorize('prod', getSecrets()));
    expect(outcome.allowed).to.equal(false);
    expect(outcome.reason).to.equal(
      'Denied by policy no-kube-system-secrets; no breakglass escalation can allow this request; see https://breakglass.example?search=prod',
    );
    expect([outcome.decision, outcome.denySource]).to.deep.equal(['denied', 'global']);
    expect(w.grantCalls).to.deep.equal([]);
    expect(decided(await pipeline(w).authorize('prod', getSecrets('payments'))).allowed).to.equal(true);
  });

  it('applies session-scoped policies to that session only', async () => {
    const w = world();
    w.sessions = [session('s1', 'cluster-admin')(w)];
    w.spokeGrants = () => true;
    w.policies = [{ metadata: { name: 'p' }, spec: { appliesTo: { sessions: ['s1'] }, rules: [{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }] } }];
    const outcome = decided(await pipeline(w).authorize('prod', getPods()));
    expect([outcome.allowed, outcome.denySource]).to.deep.equal([false, 'session']);
  });

  it('denies fail-closed when policies cannot be listed or selector labels cannot be read', async () => {
    const w = world();
    w.sessions = [session('s1', 'cluster-admin')(w)];
    w.spokeGrants = () => true;
    w.failures.policies = new CacheNotSyncedError('DenyPolicy');
    const unlisted = decided(await pipeline(w).authorize('prod', getPods()));
    expect([unlisted.allowed, unlisted.reason, unlisted.decision]).to.deep.equal([false, 'DenyPolicy evaluation failed; request denied fail-closed', 'policy-error']);
    w.failures = { labels: true };
    w.policies = [{ metadata: { name: 'prod-ns' }, spec: { rules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'], namespaces: { selectorTerms: [{ matchLabels: { env: 'prod' } }] } }] } }];
    const unlabelled = decided(await pipeline(w).authorize('prod', getPods()));
    expect([unlabelled.allowed, unlabelled.denySource]).to.deep.equal([false, 'policy-error']);
    w.failures = {};
    w.labels.set('payments', { env: 'dev' });
    expect(decided(await pipeline(w).authorize('prod', getPods())).allowed).to.equal(true);
  });

  it('scores the target pod of an exec: privileged denied, harmless allowed, override of the owning escalation honoured', async () => {
    const w = world();
    w.sessions = [session('s1', 'payments-admin', { owner: 'payments' })(w)];
    w.spokeGrants = () => true;
    w.policies = [
      {
        metadata: { name: 'pod-risk' },
        spec: { podSecurityRules: { riskFactors: { privilegedContainer: 100 }, thresholds: [{ maxScore: 50, action: 'allow' }, { maxScore: 1000, action: 'deny' }] } },
      },
    ];
    w.pods.set('payments/priv', { spec: { containers: [{ name: 'c', securityContext: { privileged: true } }] } });
    w.pods.set('payments/web', { spec: { containers: [{ name: 'c' }] } });
    const denied = decided(await pipeline(w).authorize('prod', execInto('priv')));
    expect(denied.reason).to.match(/^Denied by policy pod-risk: pod security risk score 100 exceeds threshold; /);
    expect(decided(await pipeline(w).authorize('prod', execInto('web'))).allowed).to.equal(true);
    expect(decided(await pipeline(w).authorize('prod', execInto('missing'))).reason).to.include('pod spec unavailable for security evaluation (fail-closed)');
    w.escalations.set('payments', { metadata: { name: 'payments' }, spec: { escalatedGroup: 'payments-admin', allowed: { clusters: ['prod'], groups: ['dev'] }, podSecurityOverrides: { enabled: true, maxAllowedScore: 100 } } } as BreakglassEscalation);
    expect(decided(await pipeline(w).authorize('prod', execInto('priv'))).allowed).to.equal(true);
  });

  it('guards impersonation: system:masters, unrecognised verbs, forbidden legacy, impersonationRules', async () => {
    const w = world();
    w.sessions = [session('s1', 'cluster-admin')(w)];
    w.spokeGrants = () => true;
    const impersonate = (verb: string, resource: string, name: string) => sar({ resourceAttributes: { verb, resource, name, version: 'v1' } });
    const masters = decided(await pipeline(w).authorize('prod', impersonate('impersonate', 'groups', 'system:masters')));
    expect(masters.reason).to.match(/^Impersonation denied: impersonating group system:masters is not allowed/);
    expect(decided(await pipeline(w).authorize('prod', impersonate('impersonate:bogus', 'users', 'x'))).allowed).to.equal(false);
    expect(decided(await pipeline(w).authorize('prod', impersonate('impersonate', 'users', 'bob'))).allowed).to.equal(true);
    w.clusters.set('prod', { ...cluster, spec: { ...cluster.spec, constrainedImpersonation: { legacyFallback: 'Forbidden', denyUnrecognisedVerbs: false } } });
    expect(decided(await pipeline(w).authorize('prod', impersonate('impersonate', 'users', 'bob'))).allowed).to.equal(false);
    expect(decided(await pipeline(w).authorize('prod', impersonate('impersonate:bogus', 'users', 'x'))).allowed).to.equal(true);
    w.clusters.set('prod', cluster);
    w.policies = [{ metadata: { name: 'no-sa' }, spec: { impersonationRules: [{ identityResources: ['serviceaccounts'], reason: 'service accounts are off limits' }] } }];
    const sa = decided(await pipeline(w).authorize('prod', impersonate('impersonate', 'serviceaccounts', 'default')));
    expect(sa.reason).to.match(/^Denied by policy no-sa: service accounts are off limits/);
  });

  it('checks non-resource requests on the spoke without DenyPolicies', async () => {
    const w = world();
    w.sessions = [session('s1', 'metrics-reader')(w)];
    w.spokeGrants = allowsGroup('metrics-reader');
    w.policies = [{ metadata: { name: 'all' }, spec: { rules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }] } }];
    const outcome = decided(await pipeline(w).authorize('prod', sar({ nonResourceAttributes: { verb: 'get', path: '/metrics' } })));
    expect(outcome.allowed).to.equal(true);
  });

  it('sets aside sessions from another identity provider when the spoke passes the issuer', async () => {
    const w = world();
    w.sessions = [session('s1', 'payments-admin', { issuer: 'https://other-idp' })(w)];
    w.spokeGrants = allowsGroup('payments-admin');
    const withIssuer = sar(
      { resourceAttributes: { verb: 'get', resource: 'pods', namespace: 'payments' } },
      { extra: { 'identity.t-caas.telekom.com/issuer': ['https://corporate-idp'] } },
    );
    const outcome = decided(await pipeline(w, { frontendBaseUrl: BASE, issuerHint: () => "(Your token was authenticated by 'Corporate')" }).authorize('prod', withIssuer));
    expect(outcome.allowed).to.equal(false);
    expect(outcome.reason).to.include('Note: 1 breakglass session(s) found but from different identity provider(s): other-idp.');
    expect(outcome.reason).to.match(/\(Your token was authenticated by 'Corporate'\)$/);
    expect(decided(await pipeline(w).authorize('prod', getPods())).allowed, 'no issuer: no filtering').to.equal(true);
  });
});
