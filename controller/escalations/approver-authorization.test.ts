import { expect } from 'chai';
import type { BreakglassSession } from '../../crds/index.ts';
import { clusterConfig, escalation, person } from '../api/testing/fixtures.ts';
import { checkApprovalAuthorization, SELF_APPROVAL_MESSAGE } from './approver-authorization.ts';
import { matchesCluster, matchesGroups } from './matching.ts';

function session(user = 'alice@example.com', owner?: { name: string; uid: string }): BreakglassSession {
  return {
    metadata: {
      name: 's1',
      namespace: 'breakglass',
      ...(owner ? { ownerReferences: [{ apiVersion: 'x', kind: 'BreakglassEscalation', controller: true, ...owner }] } : {}),
    },
    spec: { cluster: 'prod-eu', user, grantedGroup: 'cluster-admin' },
    status: { state: 'Pending' },
  };
}

describe('escalation matching', () => {
  it('matches clusters exactly or by glob, from allowed.clusters and clusterConfigRefs', () => {
    const e = escalation('e', { allowed: { clusters: ['prod-*', 'lab'], groups: ['dev'] }, clusterConfigRefs: ['edge-[0-9]'] });
    expect(matchesCluster(e, 'prod-eu')).to.equal(true);
    expect(matchesCluster(e, 'lab')).to.equal(true);
    expect(matchesCluster(e, 'edge-7')).to.equal(true);
    expect(matchesCluster(e, 'edge-x')).to.equal(false);
    expect(matchesCluster(e, 'staging')).to.equal(false);
    expect(matchesCluster(escalation('none', { allowed: { groups: ['dev'] } }), 'prod-eu')).to.equal(false);
  });

  it('matches groups exactly and case-sensitively', () => {
    const e = escalation('e', { allowed: { clusters: ['*'], groups: ['developers', 'sre'] } });
    expect(matchesGroups(e, ['sre'])).to.equal(true);
    expect(matchesGroups(e, ['SRE'])).to.equal(false);
    expect(matchesGroups(e, [])).to.equal(false);
  });
});

describe('approver authorization', () => {
  const base = { escalations: [escalation('e')], clusterConfig: undefined };

  it('lets a member of an approver group (token groups) approve', () => {
    expect(checkApprovalAuthorization({ ...base, caller: person('bob'), session: session() }).allowed).to.equal(true);
  });

  it('refuses someone in no approver group', () => {
    const decision = checkApprovalAuthorization({ ...base, caller: person('dave'), session: session() });
    expect(decision).to.include({ allowed: false, code: 'NOT_AN_APPROVER' });
  });

  it('blocks self-approval by default, even for a member of an approver group', () => {
    const alice = person('alice', { groups: ['developers', 'approvers'] });
    const decision = checkApprovalAuthorization({ ...base, caller: alice, session: session() });
    expect(decision).to.deep.include({ allowed: false, code: 'SELF_APPROVAL_BLOCKED', message: SELF_APPROVAL_MESSAGE });
  });

  it('recognizes the requester by any identifier, case-insensitively', () => {
    const alice = person('alice', { groups: ['approvers'] });
    const decision = checkApprovalAuthorization({ ...base, caller: alice, session: session('ALICE') });
    expect(decision).to.include({ code: 'SELF_APPROVAL_BLOCKED' });
  });

  it('allows self-approval only where the escalation or the ClusterConfig says so explicitly', () => {
    const alice = person('alice', { groups: ['approvers'] });
    const optIn = escalation('e', { blockSelfApproval: false });
    expect(checkApprovalAuthorization({ caller: alice, session: session(), escalations: [optIn], clusterConfig: undefined }).allowed).to.equal(true);
    const clusterOptIn = clusterConfig('prod-eu', { blockSelfApproval: false });
    expect(
      checkApprovalAuthorization({ caller: alice, session: session(), escalations: [escalation('e')], clusterConfig: clusterOptIn }).allowed,
    ).to.equal(true);
    // The escalation wins over the cluster.
    expect(
      checkApprovalAuthorization({
        caller: alice,
        session: session(),
        escalations: [escalation('e', { blockSelfApproval: true })],
        clusterConfig: clusterOptIn,
      }),
    ).to.include({ code: 'SELF_APPROVAL_BLOCKED' });
  });

  it('lets explicit approver users approve without groups', () => {
    const e = escalation('e', { approvers: { users: ['Dave@Example.com'] } });
    expect(checkApprovalAuthorization({ caller: person('dave'), session: session(), escalations: [e], clusterConfig: undefined }).allowed).to.equal(true);
  });

  it('treats synced approver group members as authoritative for their group', () => {
    const synced = escalation('e', {}, { status: { approverGroupMembers: { approvers: ['carol@example.com', 'dave@example.com'] } } });
    const ctx = { session: session(), escalations: [synced], clusterConfig: undefined };
    // dave is a member per the identity provider, even though his (older) token has no group.
    expect(checkApprovalAuthorization({ ...ctx, caller: person('dave') }).allowed).to.equal(true);
    // bob's token still says "approvers", but the group's synced members no longer include him.
    expect(checkApprovalAuthorization({ ...ctx, caller: person('bob') })).to.include({ code: 'NOT_AN_APPROVER' });
  });

  it('finds the synced members of an approver group written with surrounding spaces (the sync keys them trimmed)', () => {
    const spaced = escalation('e', { approvers: { groups: [' approvers '] } }, { status: { approverGroupMembers: { approvers: ['dave@example.com'] } } });
    const ctx = { session: session(), escalations: [spaced], clusterConfig: undefined };
    expect(checkApprovalAuthorization({ ...ctx, caller: person('dave') }).allowed).to.equal(true);
  });

  it('enforces approver domains, the escalation list over the cluster list', () => {
    const e = escalation('e', { allowedApproverDomains: ['corp.example'] });
    const decision = checkApprovalAuthorization({ caller: person('bob'), session: session(), escalations: [e], clusterConfig: undefined });
    expect(decision).to.include({ code: 'DOMAIN_NOT_ALLOWED' });
    const cluster = clusterConfig('prod-eu', { allowedApproverDomains: ['other.example'] });
    expect(
      checkApprovalAuthorization({ caller: person('bob'), session: session(), escalations: [escalation('e')], clusterConfig: cluster }),
    ).to.include({ code: 'DOMAIN_NOT_ALLOWED' });
    expect(
      checkApprovalAuthorization({
        caller: person('bob'),
        session: session(),
        escalations: [escalation('e', { allowedApproverDomains: ['example.com'] })],
        clusterConfig: cluster,
      }).allowed,
    ).to.equal(true);
  });

  it('enforces the identity providers allowed to approve', () => {
    const e = escalation('e', { allowedIdentityProvidersForApprovers: ['partner'], allowedIdentityProvidersForRequests: ['corp'] });
    expect(checkApprovalAuthorization({ caller: person('bob'), session: session(), escalations: [e], clusterConfig: undefined })).to.include({
      code: 'IDP_NOT_ALLOWED',
    });
    expect(
      checkApprovalAuthorization({
        caller: person('bob', { identityProvider: 'partner' }),
        session: session(),
        escalations: [e],
        clusterConfig: undefined,
      }).allowed,
    ).to.equal(true);
  });

  it('decides only under the owning escalation (name and uid) when the session has one', () => {
    const strict = escalation('strict', { approvers: { users: ['carol@example.com'] } });
    const loose = escalation('loose');
    const owned = session('alice@example.com', { name: 'strict', uid: 'uid-strict' });
    expect(checkApprovalAuthorization({ caller: person('bob'), session: owned, escalations: [strict, loose], clusterConfig: undefined })).to.include({
      code: 'NOT_AN_APPROVER',
    });
    const replaced = session('alice@example.com', { name: 'strict', uid: 'uid-of-a-deleted-one' });
    expect(checkApprovalAuthorization({ caller: person('carol'), session: replaced, escalations: [strict], clusterConfig: undefined })).to.include({
      code: 'NO_MATCHING_ESCALATION',
    });
  });

  it('needs an email claim and a unique ClusterConfig', () => {
    const noEmail = person('bob', { email: undefined });
    expect(checkApprovalAuthorization({ ...base, caller: noEmail, session: session() })).to.include({ code: 'UNAUTHENTICATED' });
    expect(checkApprovalAuthorization({ ...base, caller: person('bob'), session: session(), clusterConfig: 'ambiguous' })).to.include({
      code: 'CLUSTER_POLICY_AMBIGUOUS',
    });
  });
});
