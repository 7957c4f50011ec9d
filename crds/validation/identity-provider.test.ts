import { expect } from 'chai';
import { admit, errorLines, identityProvider, lookupWith } from './fixtures.test-support.ts';

const oidc = { authority: 'https://sso.example.com/realms/corp', clientID: 'breakglass-ui', expectedAudience: 'breakglass' };
const keycloak = {
  baseURL: 'https://sso.example.com',
  realm: 'corp',
  clientID: 'group-sync',
  clientSecretRef: { name: 'group-sync', namespace: 'breakglass-system' },
};

describe('IdentityProvider admission', () => {
  it('accepts a provider with and without Keycloak group sync', async () => {
    expect((await admit('IdentityProvider', identityProvider())).errors).to.deep.equal([]);
    expect((await admit('IdentityProvider', identityProvider({ groupSyncProvider: 'Keycloak', keycloak }))).errors).to.deep.equal([]);
  });

  it('rejects an http authority', async () => {
    const outcome = await admit('IdentityProvider', identityProvider({ oidc: { ...oidc, authority: 'http://sso.example.com' } }));
    expect(errorLines(outcome)).to.deep.equal(['spec.oidc.authority: must be an https:// URL']);
  });

  it('requires expectedAudience', async () => {
    const { expectedAudience: _omitted, ...withoutAudience } = oidc;
    const outcome = await admit('IdentityProvider', identityProvider({ oidc: withoutAudience as typeof oidc }));
    expect(errorLines(outcome)).to.deep.equal(['spec.oidc.expectedAudience: Required value']);
  });

  it('forbids insecureSkipVerify for the issuer and for Keycloak', async () => {
    const outcome = await admit(
      'IdentityProvider',
      identityProvider({ oidc: { ...oidc, insecureSkipVerify: true }, groupSyncProvider: 'Keycloak', keycloak: { ...keycloak, insecureSkipVerify: true } }),
    );
    expect(errorLines(outcome)).to.deep.equal([
      'spec.oidc.insecureSkipVerify: insecureSkipVerify is not supported; configure certificateAuthority instead',
      'spec.keycloak.insecureSkipVerify: insecureSkipVerify is not supported; configure certificateAuthority instead',
    ]);
  });

  it('requires the keycloak block exactly when groupSyncProvider is Keycloak', async () => {
    expect(errorLines(await admit('IdentityProvider', identityProvider({ groupSyncProvider: 'Keycloak' })))).to.deep.equal([
      'spec.keycloak: keycloak is required when groupSyncProvider is Keycloak',
    ]);
    expect(errorLines(await admit('IdentityProvider', identityProvider({ keycloak })))).to.deep.equal([
      'spec.keycloak: keycloak must not be set unless groupSyncProvider is Keycloak',
    ]);
  });

  it('rejects a client ID with whitespace and an unparsable Keycloak timeout', async () => {
    const outcome = await admit(
      'IdentityProvider',
      identityProvider({ groupSyncProvider: 'Keycloak', keycloak: { ...keycloak, cacheTTL: '10x' }, oidc: { ...oidc, clientID: 'a b' } }),
    );
    expect(errorLines(outcome)).to.deep.equal([
      'spec.oidc.clientID: must match the pattern ^\\S+$',
      'spec.keycloak.cacheTTL: must be a duration such as "30s" or "10m"',
    ]);
  });

  it('rejects a Keycloak timeout beyond the Go maximum, naming the field', async () => {
    const outcome = await admit('IdentityProvider', identityProvider({ groupSyncProvider: 'Keycloak', keycloak: { ...keycloak, requestTimeout: '99999999999h' } }));
    expect(errorLines(outcome)).to.deep.equal([
      'spec.keycloak.requestTimeout: duration "99999999999h" exceeds the maximum of 2562047h47m16.854775807s',
    ]);
  });

  it('rejects an issuer already used by another provider, ignoring a trailing slash', async () => {
    const lookup = lookupWith({ identityProviders: () => [identityProvider({ issuer: 'https://sso.example.com/realms/corp/' }, 'corp-old')] });
    const outcome = await admit('IdentityProvider', identityProvider(), { lookup });
    expect(errorLines(outcome)).to.deep.equal(['spec.issuer: issuer must be unique cluster-wide; conflicting IdentityProvider=corp-old']);
    const itself = lookupWith({ identityProviders: () => [identityProvider()] });
    expect((await admit('IdentityProvider', identityProvider(), { lookup: itself })).errors).to.deep.equal([]);
  });

  it('compares the issuer tokens are matched by: spec.issuer, else the authority', async () => {
    // Without spec.issuer a provider is found by its authority; two such providers make every
    // login through that issuer ambiguous.
    const { issuer: _, ...withoutIssuer } = identityProvider().spec;
    const other = identityProvider({ issuer: undefined }, 'corp-old');
    delete other.spec.issuer;
    const lookup = lookupWith({ identityProviders: () => [other] });
    const copy = { ...identityProvider(), spec: withoutIssuer };
    expect(errorLines(await admit('IdentityProvider', copy, { lookup }))).to.deep.equal([
      "spec.oidc.authority: the authority is this provider's issuer (spec.issuer is not set) and must be unique cluster-wide; conflicting IdentityProvider=corp-old",
    ]);
    expect(errorLines(await admit('IdentityProvider', identityProvider(), { lookup }))).to.deep.equal([
      'spec.issuer: issuer must be unique cluster-wide; conflicting IdentityProvider=corp-old',
    ]);
    // Its own issuer but the authority of one found by authority: tokens of that issuer would
    // resolve to both. Two with issuers of their own may share an authority.
    const elsewhere = identityProvider({ issuer: 'https://sso.example.com/realms/other' });
    expect(errorLines(await admit('IdentityProvider', elsewhere, { lookup }))).to.deep.equal([
      "spec.oidc.authority: the authority is also IdentityProvider=corp-old's, and that one has no spec.issuer, so its tokens would match both; give both an issuer or use another authority",
    ]);
    const withIssuers = lookupWith({ identityProviders: () => [identityProvider({}, 'corp-old')] });
    expect((await admit('IdentityProvider', elsewhere, { lookup: withIssuers })).errors).to.deep.equal([]);
  });

  it('rejects a malformed group glob in session limit overrides', async () => {
    const outcome = await admit('IdentityProvider', identityProvider({ sessionLimits: { groupOverrides: [{ group: 'sre-[', unlimited: true }] } }));
    expect(errorLines(outcome)).to.deep.equal([
      'spec.sessionLimits.groupOverrides[0].group: "sre-[" is not a valid glob pattern: it has an unterminated or malformed character class',
    ]);
  });
});
