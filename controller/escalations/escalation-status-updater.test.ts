import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BreakglassEscalation, IdentityProvider } from '../../crds/index.ts';
import { createTestCa, issueServingCertificate, type TestCertificateAuthority } from '../admission/certificates.test-support.ts';
import { capturingLogger } from '../kube/capturing-logger.ts';
import { ControllerMetrics } from '../observability/metrics.ts';
import { FencedError, type WriteGuard } from '../leadership/fencing.ts';
import { unfencedGuard, type LoopContext } from '../runtime/loop.ts';
import { findCondition } from '../sessions/conditions.ts';
import { EscalationStatusUpdater, escalationStatusUpdaterLoop, GROUP_SYNC_HEALTHY, providersFor } from './escalation-status-updater.ts';
import { FakeKeycloak } from './fake-keycloak.test-support.ts';
import { MEMBERS_RESOLVED } from './group-sync-status.ts';
import { InMemoryEscalationStore } from './in-memory-escalation-store.test-support.ts';

function escalation(name: string, groups: string[], extra: Partial<BreakglassEscalation['spec']> = {}): BreakglassEscalation {
  return {
    apiVersion: 'breakglass.t-caas.telekom.com/v1alpha1',
    kind: 'BreakglassEscalation',
    metadata: { name, namespace: 'hub' },
    spec: { escalatedGroup: 'cluster-admin', allowed: { clusters: ['*'], groups: ['developers'] }, approvers: { groups }, ...extra },
  };
}

describe('EscalationStatusUpdater', function () {
  let dir: string;
  let ca: TestCertificateAuthority;
  let keycloak: FakeKeycloak;
  let store: InMemoryEscalationStore;
  let updater: EscalationStatusUpdater;
  let logs: ReturnType<typeof capturingLogger>;
  let metrics: ControllerMetrics;
  const ctx = (guard: WriteGuard = unfencedGuard, signal = new AbortController().signal): LoopContext => ({ signal, guard });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'group-sync-'));
    ca = await createTestCa(dir);
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  function provider(name: string, overrides: Partial<IdentityProvider['spec']> = {}): IdentityProvider {
    return {
      apiVersion: 'breakglass.t-caas.telekom.com/v1alpha1',
      kind: 'IdentityProvider',
      metadata: { name },
      spec: {
        oidc: { authority: keycloak.url, clientID: 'ui', expectedAudience: 'breakglass' },
        groupSyncProvider: 'Keycloak',
        keycloak: {
          baseURL: keycloak.url,
          realm: keycloak.realm,
          clientID: keycloak.clientID,
          clientSecretRef: { name: 'kc', namespace: 'breakglass-system', key: 'secret' },
          certificateAuthority: ca.certPem,
          requestTimeout: '1s',
        },
        ...overrides,
      },
    };
  }

  beforeEach(async () => {
    const serving = await issueServingCertificate(dir, ca, { ips: ['127.0.0.1'] });
    keycloak = new FakeKeycloak({ certPem: serving.certPem, keyPem: serving.keyPem });
    await keycloak.start();
    store = new InMemoryEscalationStore();
    store.secrets.set('breakglass-system/kc', { secret: keycloak.clientSecret });
    store.putProvider(provider('corp'));
    logs = capturingLogger();
    metrics = new ControllerMetrics({ defaultMetrics: false });
    updater = new EscalationStatusUpdater({ store, logger: logs.logger, metrics, concurrency: 2 });
  });
  afterEach(async () => {
    updater.close();
    await keycloak.stop();
  });

  it('writes resolved members, the condition and GroupSyncHealthy, and logs "Checking group membership"', async () => {
    keycloak.addGroup('approvers', [{ username: 'bob', email: 'bob@example.com' }, { username: 'carol', email: 'Carol@Example.com' }]);
    store.putEscalation(escalation('prod', ['approvers']));
    const counts = await updater.runPass(ctx());
    expect(counts).to.include({ updated: 1, lookups: 1, lookupErrors: 0 });
    const status = store.escalation('hub', 'prod').status!;
    expect(status.approverGroupMembers).to.deep.equal({ approvers: ['bob@example.com', 'carol@example.com'] });
    expect(status.idpGroupMemberships).to.deep.equal({ corp: { approvers: ['bob@example.com', 'carol@example.com'] } });
    expect(findCondition(status.conditions, MEMBERS_RESOLVED)).to.include({ status: 'True', reason: 'GroupMembersResolved', observedGeneration: 1 });
    expect(findCondition(store.providers.get('corp')!.status?.conditions, GROUP_SYNC_HEALTHY)).to.include({ status: 'True', reason: 'GroupSyncSucceeded' });
    expect(logs.records.filter((r) => r.msg === 'Checking group membership')).to.have.length(1);
    expect(logs.records.filter((r) => r.msg === 'escalation approver group members updated').map((r) => r.escalation)).to.deep.equal(['hub/prod']);
    expect(JSON.stringify(logs.records)).to.not.include(keycloak.clientSecret);
  });

  it('writes nothing when nothing changed, and picks up a new member on the next pass', async () => {
    const group = keycloak.addGroup('approvers', [{ username: 'bob', email: 'bob@example.com' }]);
    store.putEscalation(escalation('prod', ['approvers']));
    await updater.runPass(ctx());
    const writes = store.writes.length;
    expect((await updater.runPass(ctx())).updated).to.equal(0);
    expect(store.writes).to.have.length(writes);
    group.members.push({ username: 'dave', email: 'dave@example.com' });
    expect((await updater.runPass(ctx())).updated).to.equal(1);
    expect(store.escalation('hub', 'prod').status?.approverGroupMembers).to.deep.equal({ approvers: ['bob@example.com', 'dave@example.com'] });
    // One client per IdentityProvider across passes: one token for all three passes.
    expect(keycloak.tokenRequests).to.equal(1);
  });

  it('keeps the last known members when Keycloak fails, with a False condition naming the reason', async () => {
    keycloak.addGroup('approvers', [{ username: 'bob', email: 'bob@example.com' }]);
    store.putEscalation(escalation('prod', ['approvers', 'auditors']));
    keycloak.addGroup('auditors', []);
    await updater.runPass(ctx());
    keycloak.adminStatus = 503;
    const counts = await updater.runPass(ctx());
    expect(counts.lookupErrors).to.equal(2);
    const status = store.escalation('hub', 'prod').status!;
    expect(status.approverGroupMembers).to.deep.equal({ approvers: ['bob@example.com'], auditors: [] });
    const condition = findCondition(status.conditions, MEMBERS_RESOLVED)!;
    expect(condition).to.include({ status: 'False', reason: 'GroupSyncFailed' });
    expect(condition.message).to.include('Kept last known members of: approvers, auditors').and.include('RequestFailed');
    expect(findCondition(store.providers.get('corp')!.status?.conditions, GROUP_SYNC_HEALTHY)).to.include({ status: 'False', reason: 'RequestFailed' });
    const errors = await metrics.registry.getSingleMetricAsString('breakglass_group_sync_errors_total');
    expect(errors).to.include('identity_provider="corp",reason="RequestFailed"} 2');
    // Still failing: the same condition is not written again.
    const writes = store.writes.length;
    await updater.runPass(ctx());
    expect(store.writes).to.have.length(writes);
  });

  it('reports an unreachable Keycloak as Unreachable and keeps members', async () => {
    keycloak.addGroup('approvers', [{ username: 'bob', email: 'bob@example.com' }]);
    store.putEscalation(escalation('prod', ['approvers']));
    await updater.runPass(ctx());
    await keycloak.stop();
    await updater.runPass(ctx());
    const status = store.escalation('hub', 'prod').status!;
    expect(status.approverGroupMembers).to.deep.equal({ approvers: ['bob@example.com'] });
    expect(findCondition(status.conditions, MEMBERS_RESOLVED)).to.include({ status: 'False', reason: 'GroupSyncFailed' });
    expect(findCondition(store.providers.get('corp')!.status?.conditions, GROUP_SYNC_HEALTHY)).to.include({ status: 'False', reason: 'Unreachable' });
  });

  it('a group deleted in Keycloak is emptied and reported as GroupNotFound; unconfigured groups are pruned', async () => {
    const kept = keycloak.addGroup('approvers', [{ username: 'bob', email: 'bob@example.com' }]);
    keycloak.addGroup('old', [{ username: 'eve', email: 'eve@example.com' }]);
    store.putEscalation(escalation('prod', ['approvers', 'old']));
    await updater.runPass(ctx());
    keycloak.groups.splice(keycloak.groups.indexOf(kept), 1);
    await updater.runPass(ctx());
    let status = store.escalation('hub', 'prod').status!;
    expect(status.approverGroupMembers).to.deep.equal({ approvers: [], old: ['eve@example.com'] });
    expect(findCondition(status.conditions, MEMBERS_RESOLVED)).to.include({ status: 'False', reason: 'GroupNotFound' });
    const current = store.escalation('hub', 'prod');
    store.putEscalation({ ...current, spec: { ...current.spec, approvers: { groups: ['old'] } } });
    await updater.runPass(ctx());
    status = store.escalation('hub', 'prod').status!;
    expect(status.approverGroupMembers).to.deep.equal({ old: ['eve@example.com'] });
    expect(status.idpGroupMemberships).to.deep.equal({ corp: { old: ['eve@example.com'] } });
  });

  it('a missing client secret is SecretNotFound on the IdentityProvider and the escalation, without lookups', async () => {
    store.secrets.clear();
    store.putEscalation(escalation('prod', ['approvers']));
    const counts = await updater.runPass(ctx());
    expect(counts.lookups).to.equal(0);
    expect(keycloak.tokenRequests).to.equal(0);
    expect(findCondition(store.providers.get('corp')!.status?.conditions, GROUP_SYNC_HEALTHY)).to.include({ status: 'False', reason: 'SecretNotFound' });
    const condition = findCondition(store.escalation('hub', 'prod').status?.conditions, MEMBERS_RESOLVED)!;
    expect(condition).to.include({ status: 'False', reason: 'GroupSyncFailed' });
    expect(condition.message).to.include('SecretNotFound');
    expect(store.escalation('hub', 'prod').status?.approverGroupMembers).to.equal(undefined);
  });

  it('no approver groups: True NoApproverGroupsConfigured, no Keycloak lookups', async () => {
    store.putEscalation({ ...escalation('prod', []), spec: { ...escalation('prod', []).spec, approvers: { users: ['lead@example.com'] } } });
    await updater.runPass(ctx());
    expect(findCondition(store.escalation('hub', 'prod').status?.conditions, MEMBERS_RESOLVED)).to.include({ status: 'True', reason: 'NoApproverGroupsConfigured' });
    expect(keycloak.requests.filter((r) => r.includes('/admin/'))).to.deep.equal([]);
  });

  it('resolves each group once per pass however many escalations use it, with bounded concurrency', async () => {
    keycloak.adminDelayMs = 50;
    for (let i = 0; i < 8; i++) keycloak.addGroup(`g${i}`, [{ username: `u${i}` }]);
    for (let i = 0; i < 6; i++) store.putEscalation(escalation(`e${i}`, ['g0', `g${i}`, `g${i + 1}`, `g${i + 2}`]));
    const counts = await updater.runPass(ctx());
    expect(counts.lookups).to.equal(8);
    expect(counts.updated).to.equal(6);
    expect(keycloak.maxInFlight).to.be.at.most(2).and.at.least(2);
  });

  it('asks only the IdentityProviders selected for approvers, and merges members across realms', async () => {
    keycloak.addGroup('approvers', [{ username: 'bob', email: 'bob@example.com' }]);
    store.putProvider(provider('partner'));
    store.putProvider(provider('plain', { groupSyncProvider: '', keycloak: undefined }));
    store.putProvider(provider('off', { disabled: true }));
    store.putEscalation(escalation('all', ['approvers']));
    store.putEscalation(escalation('partner-only', ['approvers'], { allowedIdentityProvidersForRequests: ['partner'], allowedIdentityProvidersForApprovers: ['partner'] }));
    store.putEscalation(escalation('plain-only', ['approvers'], { allowedIdentityProviders: ['plain'] }));
    await updater.runPass(ctx());
    expect(Object.keys(store.escalation('hub', 'all').status?.idpGroupMemberships ?? {})).to.deep.equal(['corp', 'partner']);
    expect(store.escalation('hub', 'all').status?.approverGroupMembers).to.deep.equal({ approvers: ['bob@example.com'] });
    expect(Object.keys(store.escalation('hub', 'partner-only').status?.idpGroupMemberships ?? {})).to.deep.equal(['partner']);
    const plain = store.escalation('hub', 'plain-only').status!;
    expect(plain.approverGroupMembers).to.equal(undefined);
    expect(findCondition(plain.conditions, MEMBERS_RESOLVED)).to.include({ status: 'False', reason: 'NoGroupSyncProvider' });
    expect(store.providers.get('plain')!.status).to.equal(undefined);
    expect(providersFor(escalation('x', ['a']), ['corp', 'partner'])).to.deep.equal(['corp', 'partner']);
  });

  it('checks the fencing guard before every write and stops the pass when it is fenced', async () => {
    keycloak.addGroup('approvers', [{ username: 'bob' }]);
    store.putEscalation(escalation('a', ['approvers']));
    store.putEscalation(escalation('b', ['approvers']));
    let checks = 0;
    const guard: WriteGuard = {
      assertCanWrite() {
        checks++;
        if (checks > 1) throw new FencedError();
      },
    };
    const err = await updater.runPass(ctx(guard)).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(FencedError);
    expect(store.writes).to.deep.equal(['escalation hub/a']);
  });

  it('a write conflict leaves the escalation for the next pass', async () => {
    keycloak.addGroup('approvers', [{ username: 'bob' }]);
    store.putEscalation(escalation('a', ['approvers']));
    const racing: LoopContext = {
      signal: new AbortController().signal,
      guard: {
        assertCanWrite() {
          // Someone edits the escalation between our list and our write.
          const current = store.escalations.get('hub/a');
          if (current && !current.status) store.putEscalation(current);
        },
      },
    };
    expect((await updater.runPass(racing)).conflicts).to.equal(1);
    expect(store.escalation('hub', 'a').status).to.equal(undefined);
    expect((await updater.runPass(ctx())).updated).to.equal(1);
  });

  it('writes nothing when the term ends during the lookups', async () => {
    keycloak.hangAdmin = true;
    keycloak.addGroup('approvers', [{ username: 'bob' }]);
    store.putEscalation(escalation('a', ['approvers']));
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('term ended')), 100);
    await updater.runPass(ctx(unfencedGuard, controller.signal));
    expect(store.writes).to.deep.equal([]);
  });

  it('is a leader-only loop named escalation-status-updater with the given interval', () => {
    const loop = escalationStatusUpdaterLoop({ store, logger: logs.logger }, 600_000);
    expect(loop).to.include({ name: 'escalation-status-updater', leaderOnly: true, intervalMs: 600_000 });
  });
});
