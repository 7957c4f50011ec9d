import { expect } from 'chai';
import type { ClusterConfig } from '../../crds/index.ts';
import { compileImpersonationRule, impersonationRefusal, parseImpersonation, type ImpersonationRequest } from './impersonation.ts';
import type { ResourceAttributes } from './subject-access-review.ts';

const attrs = (verb: string, resource: string, name = '', extra: Partial<ResourceAttributes> = {}): ResourceAttributes => ({
  namespace: '',
  verb,
  group: '',
  version: 'v1',
  resource,
  subresource: '',
  name,
  ...extra,
});

const cluster = (settings: NonNullable<ClusterConfig['spec']['constrainedImpersonation']> = {}): ClusterConfig => ({
  metadata: { name: 'prod' },
  spec: { constrainedImpersonation: settings },
});

describe('impersonation guard', () => {
  it('recognises legacy and constrained impersonation verbs, and nothing else', () => {
    expect(parseImpersonation(attrs('get', 'pods')).kind).to.equal('none');
    expect(parseImpersonation(attrs('impersonate', 'pods')).kind, 'not an identity resource').to.equal('none');
    expect(parseImpersonation(attrs('impersonated', 'users')).kind).to.equal('none');
    const legacy = parseImpersonation(attrs('impersonate', 'users', 'bob'));
    expect(legacy.kind === 'impersonation' && legacy.request.mode).to.equal('legacy');
    const on = parseImpersonation(attrs('impersonate-on:user-info:list', 'users', 'bob'));
    expect(on.kind === 'impersonation' && [on.request.mode, on.request.actionVerb]).to.deep.equal(['user-info', 'list']);
    expect(parseImpersonation(attrs('impersonate:serviceaccount', 'serviceaccounts', 'default')).kind).to.equal('impersonation');
    expect(parseImpersonation(attrs('impersonate:root', 'users')).kind).to.equal('unrecognised');
    expect(parseImpersonation(attrs('impersonate-on:user-info', 'users')).kind).to.equal('unrecognised');
    expect(parseImpersonation(attrs('impersonate:legacy', 'users')).kind, 'legacy is not a constrained mode').to.equal('unrecognised');
  });

  it('refuses system:masters, any group, unrecognised verbs (unless allowed) and forbidden legacy', () => {
    const refuse = (a: ResourceAttributes, c = cluster()) => impersonationRefusal(parseImpersonation(a), c);
    expect(refuse(attrs('impersonate', 'groups', 'system:masters'))).to.equal('impersonating group system:masters is not allowed');
    expect(refuse(attrs('impersonate', 'groups', '*'))).to.equal('impersonating any group is not allowed');
    expect(refuse(attrs('impersonate', 'groups', ''))).to.equal('impersonating any group is not allowed');
    expect(refuse(attrs('impersonate', 'groups', 'devs'))).to.equal(undefined);
    expect(refuse(attrs('impersonate:bogus', 'users'))).to.equal('impersonation verb "impersonate:bogus" is not recognised');
    expect(refuse(attrs('impersonate:bogus', 'users'), cluster({ denyUnrecognisedVerbs: false }))).to.equal(undefined);
    expect(refuse(attrs('impersonate', 'users', 'bob'), cluster({ legacyFallback: 'Forbidden' }))).to.match(/legacy impersonation is forbidden/);
    expect(refuse(attrs('impersonate', 'users', 'bob'), cluster({ legacyFallback: 'Warn' }))).to.equal(undefined);
    expect(refuse(attrs('impersonate:user-info', 'users', 'bob'), cluster({ legacyFallback: 'Forbidden' }))).to.equal(undefined);
  });

  it('matches impersonationRules field by field; an empty rule matches everything', () => {
    const request: ImpersonationRequest = { mode: 'user-info', actionVerb: 'get', identityResource: 'users', identity: 'admin-1', namespace: '', extraKey: '' };
    expect(compileImpersonationRule({}).matches(request)).to.equal(true);
    expect(compileImpersonationRule({ modes: ['serviceaccount'] }).matches(request)).to.equal(false);
    expect(compileImpersonationRule({ identities: ['admin-*'] }).matches(request)).to.equal(true);
    expect(compileImpersonationRule({ identities: ['ops-*'] }).matches(request)).to.equal(false);
    expect(compileImpersonationRule({ identities: ['ops-*'] }).matches({ ...request, identity: '' }), 'any identity includes ops-*').to.equal(true);
    expect(compileImpersonationRule({ actionVerbs: ['delete'] }).matches(request)).to.equal(false);
    expect(compileImpersonationRule({ identityResources: ['serviceaccounts'], namespaces: { patterns: ['kube-*'] } }).matches({ ...request, identityResource: 'serviceaccounts', namespace: 'kube-system' })).to.equal(true);
    expect(compileImpersonationRule({ identityResources: ['serviceaccounts'], namespaces: { patterns: ['kube-*'] } }).matches({ ...request, identityResource: 'serviceaccounts', namespace: 'apps' })).to.equal(false);
  });
});
