import { expect } from 'chai';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT, base64url } from 'jose';
import { Registry } from 'prom-client';
import { createCa, type CertificateFiles } from '../../e2e/controlplane/certs.ts';
import { TestOidcProvider, type SigningKey } from '../../e2e/harness/oidc-provider.ts';
import { silentLogger } from '../observability/logger.ts';
import { AuthenticationError, IdentityProviderUnavailableError, type VerifiedIdentity } from './identity.ts';
import { IdentityMetrics } from './identity-metrics.ts';
import { parseIdentityProvider, resolveIssuer, type IdentityProviderConfig } from './identity-provider-config.ts';
import type { IdentityProviderSource } from './identity-provider-registry.ts';
import { JwksTokenVerifier, TokenRejectedError, type JwksTokenVerifierOptions } from './jwks-token-verifier.ts';

const AUDIENCE = 'breakglass-api';

function config(name: string, authority: string, ca: string | undefined, spec: Record<string, unknown> = {}): IdentityProviderConfig {
  const parsed = parseIdentityProvider({
    apiVersion: 'breakglass.t-caas.telekom.com/v1alpha1',
    kind: 'IdentityProvider',
    metadata: { name },
    spec: {
      oidc: { authority, clientID: 'breakglass-ui', expectedAudience: AUDIENCE, ...(ca !== undefined ? { certificateAuthority: ca } : {}) },
      ...spec,
    },
  } as Parameters<typeof parseIdentityProvider>[0]);
  if (!parsed.ok) throw new Error(parsed.problem);
  return parsed.config;
}

/** A mutable provider list standing in for the informer-backed registry (tested in e2e). */
class Providers implements IdentityProviderSource {
  constructor(public configs: IdentityProviderConfig[]) {}
  resolveIssuer(iss: string): IdentityProviderConfig | undefined {
    return resolveIssuer(this.configs, iss);
  }
}

async function rejection(promise: Promise<VerifiedIdentity>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the token to be refused');
}

async function rejectedFor(promise: Promise<VerifiedIdentity>, reason: string): Promise<void> {
  const err = await rejection(promise);
  expect(err, err.message).to.be.instanceOf(AuthenticationError);
  expect((err as TokenRejectedError).reason, err.message).to.equal(reason);
}

describe('JwksTokenVerifier against an HTTPS OIDC provider', function () {
  this.timeout(60_000);
  let dir: string;
  let ca: CertificateFiles;
  let caPem: string;
  let idp: TestOidcProvider;
  let key: SigningKey;
  let providers: Providers;
  let metrics: IdentityMetrics;
  let registry: Registry;

  function verifier(overrides: Partial<JwksTokenVerifierOptions> = {}): JwksTokenVerifier {
    return new JwksTokenVerifier({ identityProviders: providers, logger: silentLogger(), metrics, ...overrides });
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'identity-test-'));
    ca = await createCa(dir);
    caPem = await readFile(ca.certFile, 'utf8');
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  beforeEach(async () => {
    idp = await TestOidcProvider.start({ dir, ca });
    key = await idp.addKey('RS256');
    providers = new Providers([config('corp', idp.issuer, caPem)]);
    registry = new Registry();
    metrics = new IdentityMetrics(registry);
  });

  afterEach(async () => {
    await idp.close();
  });

  async function counter(name: string, labels: Record<string, string>): Promise<number> {
    const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
    const values = (metric?.values ?? []) as { labels: Record<string, string | number>; value: number }[];
    return values.filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l)).reduce((sum, v) => sum + v.value, 0);
  }

  it('accepts a valid token and returns the claims of the contract', async () => {
    const exp = Math.floor(Date.now() / 1000) + 120;
    const token = await idp.sign({
      aud: ['account', AUDIENCE],
      sub: 'f1b2',
      exp,
      email: 'alice@example.com',
      preferred_username: 'alice',
      name: 'Alice Liddell',
      groups: ['developers', ' developers ', '', 'ops'],
    });
    const identity = await verifier().verify(token);
    expect(identity).to.deep.equal({
      issuer: idp.issuer,
      identityProvider: 'corp',
      subject: 'f1b2',
      email: 'alice@example.com',
      username: 'alice',
      name: 'Alice Liddell',
      groups: ['developers', 'ops'],
      expiresAt: new Date(exp * 1000),
    });
    expect(await counter('breakglass_token_verifications_total', { result: 'accepted', reason: 'ok' })).to.equal(1);
    expect(await counter('breakglass_identity_provider_fetches_total', { document: 'jwks', result: 'success' })).to.equal(1);
  });

  it('drops the email claim when email_verified is present and not true (as kube-apiserver does)', async () => {
    const v = verifier();
    expect((await v.verify(await idp.sign({ aud: AUDIENCE, email: 'a@example.com', email_verified: true }))).email).to.equal('a@example.com');
    expect((await v.verify(await idp.sign({ aud: AUDIENCE, email: 'a@example.com' }))).email).to.equal('a@example.com');
    for (const unverified of [false, 'true', 1, null]) {
      const identity = await v.verify(await idp.sign({ aud: AUDIENCE, email: 'a@example.com', email_verified: unverified, preferred_username: 'a' }));
      expect(identity, String(unverified)).to.not.have.property('email');
      expect(identity.username).to.equal('a');
    }
  });

  it('tells an absent groups claim (undefined) from an empty one ([]) and refuses a non-array', async () => {
    const v = verifier();
    const absent = await v.verify(await idp.sign({ aud: AUDIENCE }));
    expect(absent).to.not.have.property('groups');
    expect(absent.groups).to.equal(undefined);
    expect((await v.verify(await idp.sign({ aud: AUDIENCE, groups: [] }))).groups).to.deep.equal([]);
    await rejectedFor(v.verify(await idp.sign({ aud: AUDIENCE, groups: 'admins' })), 'invalid_claims');
    await rejectedFor(v.verify(await idp.sign({ aud: AUDIENCE, groups: ['ok', 7] })), 'invalid_claims');
  });

  it('verifies ES256 and PS256 tokens too', async () => {
    const es = await idp.addKey('ES256');
    const ps = await idp.addKey('PS256');
    const v = verifier();
    expect((await v.verify(await idp.sign({ aud: AUDIENCE }, { key: es }))).subject).to.equal('user-1');
    expect((await v.verify(await idp.sign({ aud: AUDIENCE }, { key: ps }))).subject).to.equal('user-1');
  });

  it('refuses an expired token, but tolerates 30 s of clock skew', async () => {
    const now = Math.floor(Date.now() / 1000);
    const v = verifier();
    await rejectedFor(v.verify(await idp.sign({ aud: AUDIENCE, iat: now - 600, exp: now - 60 })), 'token_expired');
    expect((await v.verify(await idp.sign({ aud: AUDIENCE, iat: now - 600, exp: now - 10 }))).subject).to.equal('user-1');
    expect(await counter('breakglass_token_verifications_total', { result: 'rejected', reason: 'token_expired' })).to.equal(1);
  });

  it('refuses a token without exp', async () => {
    await rejectedFor(verifier().verify(await idp.sign({ aud: AUDIENCE, exp: undefined })), 'invalid_claims');
    await rejectedFor(verifier().verify(await idp.sign({ aud: AUDIENCE, exp: 1e20 })), 'invalid_claims');
  });

  it('refuses a token for another audience, or without aud', async () => {
    const v = verifier();
    await rejectedFor(v.verify(await idp.sign({ aud: 'some-other-api' })), 'audience_mismatch');
    await rejectedFor(v.verify(await idp.sign({ aud: ['a', 'b'] })), 'audience_mismatch');
    await rejectedFor(v.verify(await idp.sign({})), 'audience_mismatch');
  });

  it('refuses nbf and iat beyond the clock tolerance', async () => {
    const now = Math.floor(Date.now() / 1000);
    const v = verifier();
    await rejectedFor(v.verify(await idp.sign({ aud: AUDIENCE, nbf: now + 120 })), 'token_not_yet_valid');
    await rejectedFor(v.verify(await idp.sign({ aud: AUDIENCE, iat: now + 120, exp: now + 600 })), 'token_not_yet_valid');
    expect((await v.verify(await idp.sign({ aud: AUDIENCE, nbf: now + 10, iat: now + 10 }))).subject).to.equal('user-1');
  });

  it('refuses an unknown issuer without contacting any provider', async () => {
    const v = verifier();
    const token = await idp.sign({ aud: AUDIENCE, iss: 'https://127.0.0.1:1/realms/elsewhere' });
    await rejectedFor(v.verify(token), 'unknown_issuer');
    await rejectedFor(v.verify(await idp.sign({ aud: AUDIENCE, iss: 'http://insecure.example/realms/x' })), 'malformed_token');
    await rejectedFor(v.verify(await idp.sign({ aud: AUDIENCE, iss: undefined })), 'malformed_token');
    expect(idp.requests).to.deep.equal({ discovery: 0, jwks: 0 });
  });

  it('refuses a token of a disabled provider', async () => {
    providers.configs = [config('corp', idp.issuer, caPem, { disabled: true })];
    await rejectedFor(verifier().verify(await idp.sign({ aud: AUDIENCE })), 'unknown_issuer');
  });

  it('refuses a tampered signature and a tampered payload', async () => {
    const v = verifier();
    const [header, payload, signature] = (await idp.sign({ aud: AUDIENCE })).split('.') as [string, string, string];
    const flipped = signature.slice(0, 10) + (signature[10] === 'A' ? 'B' : 'A') + signature.slice(11);
    await rejectedFor(v.verify(`${header}.${payload}.${flipped}`), 'invalid_signature');
    const forged = base64url.encode(JSON.stringify({ ...JSON.parse(new TextDecoder().decode(base64url.decode(payload))), sub: 'admin' }));
    await rejectedFor(v.verify(`${header}.${forged}.${signature}`), 'invalid_signature');
    await rejectedFor(v.verify('not a jwt'), 'malformed_token');
    await rejectedFor(v.verify(''), 'malformed_token');
  });

  it('refuses alg none', async () => {
    const now = Math.floor(Date.now() / 1000);
    const header = base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }));
    const payload = base64url.encode(JSON.stringify({ iss: idp.issuer, sub: 'admin', aud: AUDIENCE, exp: now + 300 }));
    await rejectedFor(verifier().verify(`${header}.${payload}.`), 'algorithm_not_allowed');
    expect(idp.requests.jwks).to.equal(0);
  });

  it('refuses HS256 signed with the public key as the secret, even when the JWK names HS256', async () => {
    const pem = await TestOidcProvider.publicKeyPem(key);
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ iss: idp.issuer, sub: 'admin', aud: AUDIENCE, exp: now + 300 })
      .setProtectedHeader({ alg: 'HS256', kid: key.kid })
      .sign(new TextEncoder().encode(pem));
    key.publicJwk.alg = 'HS256';
    await rejectedFor(verifier().verify(token), 'algorithm_not_allowed');
  });

  it('refuses a token signed by a key the provider does not publish', async () => {
    const stranger = await TestOidcProvider.unpublishedKey('RS256', key.kid);
    await rejectedFor(verifier().verify(await idp.sign({ aud: AUDIENCE }, { key: stranger })), 'invalid_signature');
  });

  it('picks up a rotated key (new kid) without a restart', async () => {
    const v = verifier({ jwksCooldownMs: 300 });
    expect((await v.verify(await idp.sign({ aud: AUDIENCE }))).subject).to.equal('user-1');
    expect(idp.requests.jwks).to.equal(1);
    const rotated = await idp.addKey('RS256');
    idp.removeKey(key.kid);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect((await v.verify(await idp.sign({ aud: AUDIENCE, sub: 'after-rotation' }, { key: rotated }))).subject).to.equal('after-rotation');
    expect(idp.requests.jwks).to.equal(2);
    expect(idp.requests.discovery).to.equal(1);
  });

  it('answers a flood of unknown kids with one deduplicated fetch, then none during the cooldown', async () => {
    const v = verifier({ jwksCooldownMs: 60_000 });
    await v.verify(await idp.sign({ aud: AUDIENCE }));
    expect(idp.requests.jwks).to.equal(1);
    // Past the cooldown (as if the last fetch were old), concurrent unknown kids share one fetch.
    const fresh = verifier({ jwksCooldownMs: 0 });
    await fresh.verify(await idp.sign({ aud: AUDIENCE }));
    const before = idp.requests.jwks;
    const stranger = await TestOidcProvider.unpublishedKey('RS256');
    const tokens = await Promise.all(Array.from({ length: 20 }, (_, i) => idp.sign({ aud: AUDIENCE }, { key: stranger, kid: `made-up-${i}` })));
    const results = await Promise.allSettled(tokens.map((token) => fresh.verify(token)));
    expect(results.every((r) => r.status === 'rejected' && (r.reason as TokenRejectedError).reason === 'key_id_not_found')).to.equal(true);
    expect(idp.requests.jwks - before).to.equal(1);
    // Within the cooldown, unknown kids cost no request at all.
    const during = idp.requests.jwks;
    for (const token of tokens) await rejectedFor(v.verify(token), 'key_id_not_found');
    expect(idp.requests.jwks).to.equal(during);
  });

  it('deduplicates the first discovery and key fetch of concurrent requests', async () => {
    const v = verifier();
    const tokens = await Promise.all(Array.from({ length: 10 }, (_, i) => idp.sign({ aud: AUDIENCE, sub: `u${i}` })));
    const identities = await Promise.all(tokens.map((token) => v.verify(token)));
    expect(identities.map((i) => i.subject)).to.deep.equal(tokens.map((_, i) => `u${i}`));
    expect(idp.requests).to.deep.equal({ discovery: 1, jwks: 1 });
  });

  it('verifies a token without kid against every candidate key', async () => {
    await idp.addKey('RS256');
    const second = await idp.addKey('RS256');
    expect((await verifier().verify(await idp.sign({ aud: AUDIENCE }, { key: second, kid: null }))).subject).to.equal('user-1');
  });

  it('reports a provider whose TLS certificate is not from the configured CA as unavailable, not as a bad token', async () => {
    const otherCa = await createCa(dir, 'other-ca');
    providers.configs = [config('corp', idp.issuer, await readFile(otherCa.certFile, 'utf8'))];
    const v = verifier();
    const err = await rejection(v.verify(await idp.sign({ aud: AUDIENCE })));
    expect(err).to.be.instanceOf(IdentityProviderUnavailableError);
    expect(err).to.not.be.instanceOf(AuthenticationError);
    expect((err as IdentityProviderUnavailableError).identityProvider).to.equal('corp');
    expect(err.message).to.not.include('eyJ');
    // Without a CA the system roots are used, which do not know the test CA either.
    providers.configs = [config('corp', idp.issuer, undefined)];
    expect(await rejection(v.verify(await idp.sign({ aud: AUDIENCE })))).to.be.instanceOf(IdentityProviderUnavailableError);
    expect(await counter('breakglass_token_verifications_total', { result: 'unavailable', reason: 'idp_unavailable' })).to.equal(2);
    expect(await counter('breakglass_identity_provider_fetches_total', { document: 'discovery', result: 'error' })).to.equal(2);
  });

  it('backs off after a failed fetch instead of asking the provider on every request', async () => {
    idp.jwksStatus = 503;
    const v = verifier({ failureBackoffMs: 60_000 });
    const token = await idp.sign({ aud: AUDIENCE });
    expect(await rejection(v.verify(token))).to.be.instanceOf(IdentityProviderUnavailableError);
    const after = { ...idp.requests };
    for (let i = 0; i < 5; i++) expect(await rejection(v.verify(token))).to.be.instanceOf(IdentityProviderUnavailableError);
    expect(idp.requests).to.deep.equal(after);
  });

  it('keeps verifying with the keys it fetched last when the provider fails past the key cache age; a new kid is unavailable', async () => {
    const v = verifier({ jwksMaxAgeMs: 100, failureBackoffMs: 0 });
    const token = await idp.sign({ aud: AUDIENCE });
    expect((await v.verify(token)).subject).to.equal('user-1');
    idp.jwksStatus = 503;
    await new Promise((resolve) => setTimeout(resolve, 200));
    const fetches = idp.requests.jwks;
    expect((await v.verify(token)).subject, 'the outage outlasted the cache age').to.equal('user-1');
    expect(idp.requests.jwks, 'the refetch was tried').to.be.greaterThan(fetches);
    const rotated = await idp.addKey('RS256');
    expect(await rejection(v.verify(await idp.sign({ aud: AUDIENCE }, { key: rotated })))).to.be.instanceOf(IdentityProviderUnavailableError);
  });

  it('recovers once the provider answers again after the backoff', async () => {
    idp.jwksStatus = 500;
    const v = verifier({ failureBackoffMs: 200 });
    const token = await idp.sign({ aud: AUDIENCE });
    expect(await rejection(v.verify(token))).to.be.instanceOf(IdentityProviderUnavailableError);
    idp.jwksStatus = undefined;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await v.verify(token)).subject).to.equal('user-1');
  });

  it('refuses keys whose discovery document names another issuer (unavailable: a configuration problem)', async () => {
    idp.discoveryIssuer = 'https://evil.example/realms/test';
    const err = await rejection(verifier().verify(await idp.sign({ aud: AUDIENCE })));
    expect(err).to.be.instanceOf(IdentityProviderUnavailableError);
    expect(err.message).to.include('declares issuer https://evil.example/realms/test');
    expect(idp.requests.jwks).to.equal(0);
  });

  it('reports a provider that stops answering mid-response as unavailable within the request timeout', async () => {
    idp.stall = true;
    const started = Date.now();
    const err = await rejection(verifier({ requestTimeoutMs: 500 }).verify(await idp.sign({ aud: AUDIENCE })));
    expect(err).to.be.instanceOf(IdentityProviderUnavailableError);
    expect(err.message).to.include('operation was aborted due to timeout');
    expect(Date.now() - started).to.be.lessThan(10_000);
  });

  it('reports an unreachable provider as unavailable', async () => {
    await idp.close();
    const err = await rejection(verifier({ requestTimeoutMs: 2000 }).verify(await idp.sign({ aud: AUDIENCE })));
    expect(err).to.be.instanceOf(IdentityProviderUnavailableError);
    idp = await TestOidcProvider.start({ dir, ca }); // afterEach closes it
  });

  it('follows a configuration change: new audience at once, new authority and CA with fresh keys', async () => {
    const v = verifier();
    expect((await v.verify(await idp.sign({ aud: AUDIENCE }))).identityProvider).to.equal('corp');
    const second = await TestOidcProvider.start({ dir, ca, realmPath: '/realms/second' });
    try {
      const secondKey = await second.addKey('ES384');
      providers.configs = [config('corp', second.issuer, caPem)];
      await rejectedFor(v.verify(await idp.sign({ aud: AUDIENCE })), 'unknown_issuer');
      expect((await v.verify(await second.sign({ aud: AUDIENCE }, { key: secondKey }))).issuer).to.equal(second.issuer);
      expect(second.requests).to.deep.equal({ discovery: 1, jwks: 1 });
    } finally {
      await second.close();
    }
  });

  it('refuses (401, reason ambiguous_issuer) a token whose issuer two enabled providers claim', async () => {
    providers.configs = [config('corp', idp.issuer, caPem), config('corp-copy', idp.issuer, caPem)];
    const err = await rejection(verifier().verify(await idp.sign({ aud: AUDIENCE })));
    expect(err).to.be.instanceOf(AuthenticationError);
    expect((err as TokenRejectedError).reason).to.equal('ambiguous_issuer');
    expect(err.message).to.equal('token issuer is claimed by more than one identity provider (corp, corp-copy)');
    expect(await counter('breakglass_token_verifications_total', { result: 'rejected', reason: 'ambiguous_issuer' })).to.equal(1);
  });

  it('selects the provider by iss among several', async () => {
    const second = await TestOidcProvider.start({ dir, ca, realmPath: '/realms/partners' });
    try {
      await second.addKey('RS512');
      providers.configs = [config('corp', idp.issuer, caPem), config('partners', second.issuer, caPem)];
      const v = verifier();
      expect((await v.verify(await idp.sign({ aud: AUDIENCE }))).identityProvider).to.equal('corp');
      expect((await v.verify(await second.sign({ aud: AUDIENCE }))).identityProvider).to.equal('partners');
      // A token claiming one issuer but signed by the other's key does not verify.
      expect(await rejection(v.verify(await second.sign({ aud: AUDIENCE, iss: idp.issuer })))).to.be.instanceOf(AuthenticationError);
    } finally {
      await second.close();
    }
  });
});
