import { expect } from 'chai';
import { REQUESTER_EMAIL_ANNOTATION, type BreakglassEscalation, type BreakglassSession } from '../../crds/index.ts';
import { clusterConfig, escalation, identityProvider, person, RecordingAudit, StaticSource } from '../api/testing/fixtures.ts';
import { silentLogger } from '../observability/logger.ts';
import { InMemorySessionRepository } from './in-memory-session-repository.ts';
import { RequestError } from './request-errors.ts';
import { SessionActions } from './session-actions.ts';
import type { SessionDomainDeps } from './session-context.ts';
import { SessionQueries } from './session-queries.ts';
import { SessionRequests } from './session-requests.ts';

const NOW = new Date('2026-06-01T12:00:00Z');

function setup(escalations: BreakglassEscalation[] = [escalation('dev-admin')]) {
  const sessions = new InMemorySessionRepository();
  const audit = new RecordingAudit();
  const deps: SessionDomainDeps = {
    sessions,
    escalations: new StaticSource(escalations),
    clusterConfigs: new StaticSource([]),
    identityProviders: new StaticSource([]),
    audit,
    now: () => NOW,
  };
  return {
    sessions,
    audit,
    deps,
    requests: new SessionRequests(deps, silentLogger()),
    actions: new SessionActions(deps),
    queries: new SessionQueries(deps),
  };
}

async function refusal(promise: Promise<unknown> | (() => unknown)): Promise<RequestError> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (err) {
    if (err instanceof RequestError) return err;
    throw err;
  }
  throw new Error('expected a RequestError');
}

const request = { cluster: 'prod-eu', group: 'cluster-admin', reason: 'INC-42: database down' };

/** The labels the API gives alice's sessions on prod-eu. */
const labelsOf = (group: string) => ({
  'breakglass.t-caas.telekom.com/cluster': 'prod-eu',
  'breakglass.t-caas.telekom.com/user': 'alice-example-com',
  'breakglass.t-caas.telekom.com/group': group,
});

describe('session requests', () => {
  it('creates a Pending session owned by the escalation, with labels, identity and a sanitized reason', async () => {
    const { requests, audit } = setup([escalation('dev-admin', { maxValidFor: '2h', approvalTimeout: '30m', requestReason: { mandatory: true } })]);
    const session = await requests.request(person('alice'), request);
    expect(session.status?.state).to.equal('Pending');
    expect(session.status?.timeoutAt).to.equal('2026-06-01T12:30:00Z');
    expect(session.spec).to.include({
      cluster: 'prod-eu',
      user: 'alice@example.com',
      grantedGroup: 'cluster-admin',
      requestReason: 'INC-42 database down',
      maxValidFor: '2h',
      identityProviderName: 'corp',
      allowIDPMismatch: true,
    });
    expect(session.metadata?.ownerReferences?.[0]).to.include({ kind: 'BreakglassEscalation', name: 'dev-admin', uid: 'uid-dev-admin', controller: true });
    expect(session.metadata?.labels).to.deep.equal({
      'breakglass.t-caas.telekom.com/cluster': 'prod-eu',
      'breakglass.t-caas.telekom.com/user': 'alice-example-com',
      'breakglass.t-caas.telekom.com/group': 'cluster-admin',
    });
    expect(session.metadata?.namespace).to.equal('breakglass');
    expect(audit.records.map((r) => [r.action, r.actor])).to.deep.equal([['requested', 'alice@example.com']]);
  });

  it('refuses a caller without a matching group (403) and a foreign user name (403)', async () => {
    const { requests } = setup();
    const dave = await refusal(requests.request(person('dave'), request));
    expect([dave.kind, dave.message]).to.deep.equal(['Forbidden', 'user not authorized for requested group']);
    const other = await refusal(requests.request(person('alice'), { ...request, user: 'bob@example.com' }));
    expect([other.kind, other.message]).to.deep.equal(['Forbidden', 'user identity mismatch']);
    const wrongCluster = await refusal(requests.request(person('alice'), { ...request, cluster: 'staging' }));
    expect(wrongCluster.kind).to.equal('Forbidden');
  });

  it('validates reason, duration and scheduled start with messages naming the problem', async () => {
    const { requests } = setup([escalation('dev-admin', { maxValidFor: '1h', requestReason: { mandatory: true, description: 'ticket' } })]);
    const cases: [Partial<typeof request> & { duration?: number; scheduledStartTime?: string }, string][] = [
      [{ reason: '' }, 'missing required request reason'],
      [{ reason: 'x'.repeat(501) }, 'invalid reason: reason must be at most 500 characters'],
      [{ duration: 59 }, 'invalid duration: duration must be at least 60 seconds (1 minute)'],
      [{ duration: 3601 }, 'invalid duration: requested duration 3601 seconds exceeds maximum allowed 3600 seconds'],
      [{ scheduledStartTime: 'tomorrow' }, 'invalid scheduledStartTime format (expected ISO 8601)'],
      [{ scheduledStartTime: '2026-06-01T11:00:00Z' }, 'scheduledStartTime must be in the future'],
      [{ cluster: ' ' }, 'missing input request data: cluster is required'],
    ];
    for (const [change, message] of cases) {
      const err = await refusal(requests.request(person('alice'), { ...request, ...change }));
      expect([err.kind, err.message], JSON.stringify(change)).to.deep.equal(['Unprocessable', message]);
    }
  });

  it('stores a shortened duration and a scheduled start', async () => {
    const { requests } = setup();
    const session = await requests.request(person('alice'), { ...request, duration: 1800, scheduledStartTime: '2026-06-02T08:00:00.000Z' });
    expect(session.spec.maxValidFor).to.equal('30m0s');
    expect(session.spec.scheduledStartTime).to.equal('2026-06-02T08:00:00Z');
  });

  it('answers a second identical request with 409 and the existing session', async () => {
    const { requests } = setup();
    const first = await requests.request(person('alice'), request);
    const err = await refusal(requests.request(person('alice'), request));
    expect([err.kind, err.message]).to.deep.equal(['Conflict', 'already requested']);
    expect(err.session?.metadata?.name).to.equal(first.metadata?.name);
    expect(err.session?.metadata?.resourceVersion).to.equal(undefined);
  });

  it('when another replica created the same request concurrently, exactly one stands', async () => {
    const { requests, sessions } = setup();
    // The other replica's session appears after this request's duplicate check, before its list.
    sessions.beforeWrite = () => {
      sessions.beforeWrite = undefined;
      sessions.put({
        metadata: {
          name: 'other-replica',
          namespace: 'breakglass',
          creationTimestamp: '2026-06-01T11:59:59Z',
          labels: {
            'breakglass.t-caas.telekom.com/cluster': 'prod-eu',
            'breakglass.t-caas.telekom.com/user': 'alice-example-com',
            'breakglass.t-caas.telekom.com/group': 'cluster-admin',
          },
        },
        spec: { cluster: 'prod-eu', user: 'alice@example.com', grantedGroup: 'cluster-admin' },
        status: { state: 'Pending', timeoutAt: '2026-06-01T13:00:00Z' },
      });
    };
    const err = await refusal(requests.request(person('alice'), request));
    expect([err.kind, err.message, err.session?.metadata?.name]).to.deep.equal(['Conflict', 'already requested', 'other-replica']);
    const ours = sessions.listCached().find((s) => s.metadata?.name !== 'other-replica');
    expect(ours?.status).to.include({ state: 'Withdrawn', reasonEnded: 'withdrawn' });
  });

  it('a concurrent stateless winner that is gone when re-read does not withdraw this request', async () => {
    const { requests, sessions } = setup();
    sessions.beforeWrite = () => {
      sessions.beforeWrite = undefined;
      // Another replica's half-created session: created first, its status write failed.
      sessions.put({
        metadata: {
          name: 'half-created',
          namespace: 'breakglass',
          creationTimestamp: '2026-06-01T11:59:59Z',
          labels: {
            'breakglass.t-caas.telekom.com/cluster': 'prod-eu',
            'breakglass.t-caas.telekom.com/user': 'alice-example-com',
            'breakglass.t-caas.telekom.com/group': 'cluster-admin',
          },
        },
        spec: { cluster: 'prod-eu', user: 'alice@example.com', grantedGroup: 'cluster-admin' },
      });
    };
    // Its creator removes it after this request listed it, before this request decides.
    const listLive = sessions.listLive.bind(sessions);
    sessions.listLive = async (selector, signal) => {
      const listed = await listLive(selector, signal);
      const half = sessions.get('breakglass', 'half-created');
      if (half !== undefined) await sessions.delete('breakglass', 'half-created', { uid: half.metadata?.uid ?? '', resourceVersion: half.metadata?.resourceVersion ?? '' });
      return listed;
    };
    const session = await requests.request(person('alice'), request);
    expect(session.status?.state).to.equal('Pending');
    expect(sessions.listCached().map((s) => [s.metadata?.name, s.status?.state])).to.deep.equal([[session.metadata?.name, 'Pending']]);
  });

  it('enforces session limits of the escalation and of the identity provider', async () => {
    const limited = setup([
      escalation('dev-admin', { sessionLimitsOverride: { maxActiveSessionsPerUser: 1 } }),
      escalation('dev-view', { escalatedGroup: 'view' }),
    ]);
    await limited.requests.request(person('alice'), { ...request, group: 'view' });
    const err = await refusal(limited.requests.request(person('alice'), request));
    expect(err.kind).to.equal('Unprocessable');
    expect(err.message).to.match(/maximum 1 slot-occupying sessions per user allowed \(escalation override\)/);

    const byIdp = setup([escalation('dev-admin'), escalation('dev-view', { escalatedGroup: 'view' })]);
    byIdp.deps.identityProviders = new StaticSource([identityProvider('corp', { sessionLimits: { maxActiveSessionsPerUser: 1 } })]);
    const requests = new SessionRequests(byIdp.deps, silentLogger());
    await requests.request(person('alice'), { ...request, group: 'view' });
    expect((await refusal(requests.request(person('alice'), request))).message).to.match(/\(IDP default\)/);
  });

  it('counts a session this replica has not cached yet: checked again after creation, refused, nothing left', async () => {
    const t = setup([escalation('dev-admin', { sessionLimitsOverride: { maxActiveSessionsPerUser: 1 } }), escalation('dev-view', { escalatedGroup: 'view' })]);
    t.sessions.autoSync = false;
    // Created a moment ago on another replica: live, not yet in this replica's cache.
    t.sessions.put({
      metadata: { name: 'view-on-b', namespace: 'breakglass', labels: { 'breakglass.t-caas.telekom.com/user': 'alice-example-com' } },
      spec: { cluster: 'prod-eu', user: 'alice@example.com', grantedGroup: 'view' },
      status: { state: 'Approved', expiresAt: '2026-06-01T13:00:00Z' },
    });
    const err = await refusal(t.requests.request(person('alice'), request));
    expect([err.kind, err.message]).to.deep.equal([
      'Unprocessable',
      'session limit reached: maximum 1 slot-occupying sessions per user allowed (escalation override)',
    ]);
    expect(err.details).to.match(/checked again after creation/);
    expect((await t.sessions.listLive({})).map((s) => s.metadata?.name)).to.deep.equal(['view-on-b']);
    expect(t.audit.records).to.deep.equal([]);
  });

  it('of two concurrent requests for different groups under a per-user limit of 1, exactly one stands', async () => {
    for (let round = 0; round < 20; round++) {
      const t = setup([
        escalation('dev-admin', { sessionLimitsOverride: { maxActiveSessionsPerUser: 1 } }),
        escalation('dev-view', { escalatedGroup: 'view', sessionLimitsOverride: { maxActiveSessionsPerUser: 1 } }),
      ]);
      // Neither request sees the other in the cache: as on two replicas at the same moment.
      t.sessions.autoSync = false;
      // The repository stamps creationTimestamp with the real clock; "under creation" is judged by it.
      t.deps.now = () => new Date();
      const results = await Promise.allSettled([t.requests.request(person('alice'), request), t.requests.request(person('alice'), { ...request, group: 'view' })]);
      const refused = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as RequestError] : []));
      expect(refused.map((e) => e.message), `round ${round}`).to.deep.equal([
        'session limit reached: maximum 1 slot-occupying sessions per user allowed (escalation override)',
      ]);
      const live = await t.sessions.listLive({});
      expect(live.map((s) => s.status?.state), `round ${round}: the loser leaves nothing`).to.deep.equal(['Pending']);
    }
  });

  it('under a limit, a concurrent duplicate is still a duplicate: 409 with the session that stands, not a limit refusal', async () => {
    const t = setup([escalation('dev-admin', { sessionLimitsOverride: { maxActiveSessionsPerUser: 1 } })]);
    t.sessions.autoSync = false;
    // The same request, created a second earlier on another replica, its first status write under way.
    t.sessions.put({
      metadata: { name: 'same-on-b', namespace: 'breakglass', creationTimestamp: '2026-06-01T11:59:59Z', labels: labelsOf('cluster-admin') },
      spec: { cluster: 'prod-eu', user: 'alice@example.com', grantedGroup: 'cluster-admin' },
    });
    const err = await refusal(t.requests.request(person('alice'), request));
    // Still stateless when it won: "session exists" rather than "already requested".
    expect([err.kind, err.message, err.session?.metadata?.name]).to.deep.equal(['Conflict', 'session exists', 'same-on-b']);
  });

  it('a stateless session this replica still caches but the API server no longer has does not hold a slot', async () => {
    const t = setup([escalation('dev-admin', { sessionLimitsOverride: { maxActiveSessionsPerUser: 1 } }), escalation('dev-view', { escalatedGroup: 'view' })]);
    // A request that lost a race a second ago and deleted itself; the deletion has not reached the cache.
    t.sessions.put({
      metadata: { name: 'withdrawn-loser', namespace: 'breakglass', creationTimestamp: '2026-06-01T11:59:59Z', labels: labelsOf('view') },
      spec: { cluster: 'prod-eu', user: 'alice@example.com', grantedGroup: 'view' },
    });
    t.sessions.autoSync = false;
    t.sessions.remove('breakglass', 'withdrawn-loser');
    expect(t.sessions.listCached().map((s) => s.metadata?.name)).to.deep.equal(['withdrawn-loser']);
    const session = await t.requests.request(person('alice'), request);
    expect(session.status?.state).to.equal('Pending');
  });

  it('refuses a cluster whose ClusterConfig is broken or ambiguous', async () => {
    const t = setup();
    t.deps.clusterConfigs = new StaticSource([clusterConfig('prod-eu', {}, 'False')]);
    const err = await refusal(new SessionRequests(t.deps, silentLogger()).request(person('alice'), request));
    expect([err.kind, err.message]).to.deep.equal(['Forbidden', 'requested ClusterConfig is not ready or is ambiguous']);
  });

  it('uses the ClusterConfig userIdentifierClaim for spec.user', async () => {
    const t = setup();
    t.deps.clusterConfigs = new StaticSource([clusterConfig('prod-eu', { userIdentifierClaim: 'preferred_username' }, 'True')]);
    const session = await new SessionRequests(t.deps, silentLogger()).request(person('alice'), request);
    expect(session.spec.user).to.equal('alice');
  });

  it('leaves nothing behind when the initial status cannot be written', async () => {
    const { requests, sessions } = setup();
    sessions.beforeWrite = () => {
      sessions.beforeWrite = undefined;
      throw new Error('API server unavailable');
    };
    let failure: unknown;
    await requests.request(person('alice'), request).catch((err: unknown) => (failure = err));
    expect(String(failure)).to.contain('API server unavailable');
    expect(sessions.listCached()).to.deep.equal([]);
    expect(sessions.deletes).to.have.length(1);
  });
});

describe('session actions', () => {
  async function pending(t = setup()) {
    const session = await t.requests.request(person('alice'), request);
    return { ...t, name: session.metadata?.name as string };
  }

  it('bob approves: Approved with approver, approvedAt, expiresAt, and an audit record', async () => {
    const t = await pending();
    const approved = await t.actions.perform(person('bob'), 'approve', t.name, 'ok, go');
    expect(approved.status).to.include({
      state: 'Approved',
      approver: 'bob@example.com',
      approvedAt: '2026-06-01T12:00:00Z',
      expiresAt: '2026-06-01T13:00:00Z',
      approvalReason: 'ok, go',
    });
    expect(t.audit.records.map((r) => r.action)).to.deep.equal(['requested', 'approved']);
  });

  it('alice cannot approve her own request (403 naming self-approval); dave is no approver', async () => {
    const t = await pending(setup([escalation('dev-admin', { approvers: { groups: ['approvers', 'developers'] } })]));
    const self = await refusal(t.actions.perform(person('alice'), 'approve', t.name));
    expect(self.kind).to.equal('Forbidden');
    expect(self.message).to.match(/Self-approval is not allowed/);
    const dave = await refusal(t.actions.perform(person('dave'), 'approve', t.name));
    expect([dave.kind, dave.message]).to.deep.equal(['Forbidden', 'You are not in an approver group for this escalation']);
  });

  it('carol rejects; the requester may reject (withdraw-like) her own pending request', async () => {
    const t = await pending();
    const rejected = await t.actions.perform(person('carol'), 'reject', t.name, 'no ticket');
    expect(rejected.status).to.include({ state: 'Rejected', approver: 'carol@example.com', reasonEnded: 'rejected' });
    const again = await refusal(t.actions.perform(person('bob'), 'approve', t.name));
    expect([again.kind, again.message]).to.deep.equal(['BadRequest', 'session must be pending to perform approve; current state: Rejected']);
  });

  it('withdraw and drop are for the requester only; cancel for approvers', async () => {
    const t = await pending();
    expect((await refusal(t.actions.perform(person('bob'), 'withdraw', t.name))).message).to.equal('only the session requester can withdraw');
    await t.actions.perform(person('bob'), 'approve', t.name);
    const notPending = await refusal(t.actions.perform(person('alice'), 'withdraw', t.name));
    expect([notPending.kind, notPending.message]).to.deep.equal(['BadRequest', 'Session is not pending and cannot be withdrawn; current state: Approved']);
    expect((await refusal(t.actions.perform(person('dave'), 'cancel', t.name))).message).to.equal('only approvers can cancel sessions');
    const canceled = await t.actions.perform(person('carol'), 'cancel', t.name);
    expect(canceled.status).to.include({ state: 'Expired', reasonEnded: 'canceled', approver: 'carol@example.com' });
    const dropped = await refusal(t.actions.perform(person('alice'), 'drop', t.name));
    expect(dropped.message).to.equal('session is in terminal state Expired and cannot be dropped');
  });

  it('the same name at another identity provider is not the requester: no withdraw, not in mine, no read', async () => {
    const t = await pending();
    const impostor = person('alice', { issuer: 'https://other.example.com/realms/x', identityProvider: 'other' });
    const withdraw = await refusal(t.actions.perform(impostor, 'withdraw', t.name));
    expect([withdraw.kind, withdraw.message]).to.deep.equal(['Forbidden', 'only the session requester can withdraw']);
    expect(t.queries.list(impostor, { mine: true })).to.deep.equal([]);
    const stored = t.sessions.get('breakglass', t.name) as BreakglassSession;
    expect((await refusal(() => t.queries.get(impostor, stored))).message).to.equal('not allowed to read this breakglass session');
    // Self-approval stays blocked for the same person arriving through another provider.
    const approverImpostor = person('alice', { issuer: 'https://other.example.com/realms/x', identityProvider: 'other', groups: ['approvers'] });
    expect((await refusal(t.actions.perform(approverImpostor, 'approve', t.name))).message).to.match(/Self-approval is not allowed/);
    expect(t.queries.list(person('alice'), { mine: true }).map((s) => s.metadata?.name)).to.deep.equal([t.name]);
    await t.actions.perform(person('alice'), 'withdraw', t.name);
  });

  it('blocks self-approval through a second identity provider also when the cluster identifies users by sub', async () => {
    // spec.user is then the requester's sub at their provider; only the email recorded at creation ties them.
    const t = setup([escalation('dev-admin', { approvers: { users: ['alice@example.com'] } })]);
    t.deps.clusterConfigs = new StaticSource([clusterConfig('prod-eu', { userIdentifierClaim: 'sub' })]);
    const created = await t.requests.request(person('alice'), request);
    expect(created.spec.user).to.equal('sub-alice');
    expect(created.metadata?.annotations?.[REQUESTER_EMAIL_ANNOTATION]).to.equal('alice@example.com');
    const name = created.metadata?.name ?? '';
    const elsewhere = person('alice', { issuer: 'https://partner.example.com/realms/p', identityProvider: 'partner', subject: 'p-42', username: 'asmith', email: 'Alice@Example.com' });
    expect((await refusal(t.actions.perform(elsewhere, 'approve', name))).message).to.match(/Self-approval is not allowed/);
    expect(t.sessions.get('breakglass', name)?.status?.state).to.equal('Pending');
    // The approver list agrees whichever session it checks first: her own request is not offered, dave's is.
    const daves = await t.requests.request(person('dave', { groups: ['developers'] }), request);
    const offered = t.queries.list(elsewhere, { approver: true }).map((s) => s.metadata?.name);
    expect(offered).to.deep.equal([daves.metadata?.name]);
  });

  it('a concurrent change between read and write is a conflict, never an overwrite', async () => {
    const t = await pending();
    // alice's withdraw lands after bob's read, before bob's write.
    t.sessions.beforeWrite = (namespace, name) => {
      t.sessions.beforeWrite = undefined;
      t.sessions.modify(namespace, name, (s) => {
        s.status = { ...s.status, state: 'Withdrawn' };
      });
    };
    const err = await refusal(t.actions.perform(person('bob'), 'approve', t.name));
    expect([err.kind, err.message]).to.deep.equal(['Conflict', 'session update conflict, please retry']);
    expect(err.session?.status?.state).to.equal('Withdrawn');
    expect(t.sessions.get('breakglass', t.name)?.status?.state).to.equal('Withdrawn');
  });

  it('unknown names are 404', async () => {
    const t = setup();
    expect((await refusal(t.actions.perform(person('bob'), 'approve', 'nope'))).kind).to.equal('NotFound');
  });
});

describe('session queries', () => {
  it('lists mine, the ones I may approve and the ones I approved, with state filters', async () => {
    const t = setup([escalation('dev-admin'), escalation('dev-view', { escalatedGroup: 'view', approvers: { users: ['carol@example.com'] } })]);
    const admin = await t.requests.request(person('alice'), request);
    const view = await t.requests.request(person('alice'), { ...request, group: 'view' });
    await t.actions.perform(person('bob'), 'approve', admin.metadata?.name as string);
    const names = (list: BreakglassSession[]) => list.map((s) => s.spec.grantedGroup).sort();

    expect(names(t.queries.list(person('alice'), { mine: true }))).to.deep.equal(['cluster-admin', 'view']);
    expect(names(t.queries.list(person('bob'), {}))).to.deep.equal(['cluster-admin']);
    expect(names(t.queries.list(person('carol'), {}))).to.deep.equal(['cluster-admin', 'view']);
    expect(names(t.queries.list(person('carol'), { state: ['pending'] }))).to.deep.equal(['view']);
    expect(names(t.queries.list(person('bob'), { approvedByMe: true }))).to.deep.equal(['cluster-admin']);
    expect(names(t.queries.list(person('alice'), { mine: true, activeOnly: true }))).to.deep.equal(['cluster-admin']);
    expect(t.queries.list(person('dave'), {})).to.deep.equal([]);
    const err = await refusal(() => t.queries.list(person('bob'), { state: ['pending,bogus'] }));
    expect([err.kind, err.message]).to.deep.equal(['BadRequest', 'invalid state filter']);
    expect(err.details).to.match(/unsupported state filter value\(s\): bogus/);
    void view;
  });

  it('approvalMeta tells requester and approvers what they may do; others may not read', async () => {
    const t = setup();
    const session = await t.requests.request(person('alice'), request);
    const stored = t.sessions.listCached()[0] as BreakglassSession;
    expect(t.queries.get(person('bob'), stored).approvalMeta).to.deep.equal({
      canApprove: true,
      canReject: true,
      isRequester: false,
      isApprover: true,
      sessionState: 'Pending',
    });
    expect(t.queries.get(person('alice'), stored).approvalMeta).to.include({ canApprove: false, canReject: true, isRequester: true });
    expect((await refusal(() => t.queries.get(person('dave'), stored))).message).to.equal('not allowed to read this breakglass session');
    void session;
  });
});
