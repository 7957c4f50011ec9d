import { expect } from 'chai';
import type { IdentityProvider } from '../../crds/identity-provider.ts';
import { capturingLogger } from '../kube/capturing-logger.ts';
import { SharedIssuerWarning } from './identity-provider-registry.ts';
import { AmbiguousIssuerError, parseIdentityProvider, primaryOf, resolveIssuer, sharedIssuers, type IdentityProviderConfig } from './identity-provider-config.ts';

function object(name: string, spec: Record<string, unknown>, oidc: Record<string, unknown> = {}): IdentityProvider {
  return {
    apiVersion: 'breakglass.t-caas.telekom.com/v1alpha1',
    kind: 'IdentityProvider',
    metadata: { name },
    spec: { oidc: { authority: `https://${name}.example/realms/r`, clientID: 'ui', expectedAudience: 'api', ...oidc }, ...spec },
  } as IdentityProvider;
}

function parsed(obj: IdentityProvider): IdentityProviderConfig {
  const result = parseIdentityProvider(obj);
  if (!result.ok) throw new Error(result.problem);
  return result.config;
}

describe('IdentityProvider configuration', () => {
  it('reads the fields verification and the config endpoints need, with defaults', () => {
    const config = parsed(object('corp', { keycloak: { baseURL: 'https://kc.example', realm: 'r' }, groupSyncProvider: 'Keycloak' }));
    expect(config).to.include({
      name: 'corp',
      issuer: 'https://corp.example/realms/r',
      authority: 'https://corp.example/realms/r',
      clientID: 'ui',
      expectedAudience: 'api',
      displayName: 'corp',
      primary: false,
      disabled: false,
      groupSyncProvider: 'Keycloak',
    });
    expect(config.keycloak).to.deep.equal({ baseURL: 'https://kc.example', realm: 'r' });
    expect(config).to.not.have.property('certificateAuthority');
  });

  it('refuses objects that admission would have refused, naming the field', () => {
    const problem = (obj: IdentityProvider) => {
      const result = parseIdentityProvider(obj);
      return result.ok ? 'ok' : result.problem;
    };
    expect(problem(object('a', {}, { authority: 'http://a.example' }))).to.equal('spec.oidc.authority must be an https URL');
    expect(problem(object('a', {}, { expectedAudience: '' }))).to.equal('spec.oidc.expectedAudience is required');
    expect(problem(object('a', {}, { insecureSkipVerify: true }))).to.equal('spec.oidc.insecureSkipVerify is not supported');
    expect(problem(object('a', { issuer: 'http://x' }))).to.equal('spec.issuer must be an https URL');
    expect(problem({ apiVersion: 'v', kind: 'IdentityProvider', metadata: { name: 'b' } } as IdentityProvider)).to.equal('spec is missing');
  });

  it('changes the keys fingerprint with authority, issuer and CA, not with audience or display name', () => {
    const base = parsed(object('a', {}));
    expect(parsed(object('a', { displayName: 'A' }, { expectedAudience: 'other' })).keysFingerprint).to.equal(base.keysFingerprint);
    expect(parsed(object('a', {}, { certificateAuthority: 'PEM' })).keysFingerprint).to.not.equal(base.keysFingerprint);
    expect(parsed(object('a', { issuer: 'https://other.example' })).keysFingerprint).to.not.equal(base.keysFingerprint);
    expect(parsed(object('a', {}, { authority: 'https://b.example' })).keysFingerprint).to.not.equal(base.keysFingerprint);
  });

  it('resolves iss by spec.issuer first, then by authority, ignoring trailing slashes and disabled providers', () => {
    const configs = [
      parsed(object('by-authority', {}, { authority: 'https://idp.example/realms/r/' })),
      parsed(object('by-issuer', { issuer: 'https://idp.example/realms/r' }, { authority: 'https://internal.example/realms/r' })),
      parsed(object('off', { issuer: 'https://off.example', disabled: true })),
    ];
    expect(resolveIssuer(configs, 'https://idp.example/realms/r/')?.name).to.equal('by-issuer');
    expect(resolveIssuer(configs.slice(0, 1), 'https://idp.example/realms/r')?.name).to.equal('by-authority');
    expect(resolveIssuer(configs, 'https://off.example')).to.equal(undefined);
    expect(resolveIssuer(configs, 'https://unknown.example')).to.equal(undefined);
  });

  it('refuses an issuer claimed by two enabled providers instead of picking one by name', () => {
    const configs = [
      parsed(object('a', { issuer: 'https://idp.example/realms/r' })),
      parsed(object('b', { issuer: 'https://idp.example/realms/r/' }, { authority: 'https://other.example/realms/r' })),
      parsed(object('c', {}, { authority: 'https://idp.example/realms/r' })),
      parsed(object('off', { issuer: 'https://solo.example', disabled: true })),
      parsed(object('solo', { issuer: 'https://solo.example' })),
    ];
    const err = (() => {
      try {
        resolveIssuer(configs, 'https://idp.example/realms/r');
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).to.be.instanceOf(AmbiguousIssuerError);
    expect((err as AmbiguousIssuerError).providers).to.deep.equal(['a', 'b']);
    expect(resolveIssuer(configs, 'https://solo.example')?.name).to.equal('solo');
    expect(sharedIssuers(configs)).to.deep.equal([{ issuer: 'https://idp.example/realms/r', providers: ['a', 'b'] }]);
    expect(sharedIssuers(configs.slice(2))).to.deep.equal([]);
  });

  it('warns "Identity providers share an issuer" once per change of the shared set', () => {
    const { logger, records } = capturingLogger();
    const warning = new SharedIssuerWarning(logger);
    const a = parsed(object('a', { issuer: 'https://idp.example/realms/r' }));
    const b = parsed(object('b', { issuer: 'https://idp.example/realms/r' }));
    const warnings = () => records.filter((r) => r.msg === 'Identity providers share an issuer');
    warning.observe([a]);
    expect(warnings()).to.have.length(0);
    warning.observe([a, b]);
    warning.observe([a, b]);
    expect(warnings()).to.have.length(1);
    expect(warnings()[0]?.sharedIssuers).to.deep.equal([{ issuer: 'https://idp.example/realms/r', providers: ['a', 'b'] }]);
    warning.observe([a]);
    warning.observe([a, b]);
    expect(warnings()).to.have.length(2);
  });

  it('picks the primary provider: first enabled with primary, else the first enabled', () => {
    const a = parsed(object('a', { disabled: true, primary: true }));
    const b = parsed(object('b', {}));
    const c = parsed(object('c', { primary: true }));
    expect(primaryOf([c, b, a])?.name).to.equal('c');
    expect(primaryOf([a, b])?.name).to.equal('b');
    expect(primaryOf([a])).to.equal(undefined);
  });
});
