/**
 * The IdentityProvider registry and the token verifier against a real API server: objects are
 * created, changed, disabled and deleted with the custom objects API, and the verifier (built as
 * compose.ts builds it) follows each change without a restart. The identity providers are local
 * HTTPS OIDC servers with certificates from a test CA.
 */
import { expect } from 'chai';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { installCrds } from '../crds/install.ts';
import { API_VERSION, GROUP, VERSION, plurals } from '../crds/index.ts';
import type { IdentityProvider, IdentityProviderSpec } from '../crds/identity-provider.ts';
import { createIdentityServices, IdentityProviderUnavailableError, TokenRejectedError, type IdentityServices, type VerifiedIdentity } from '../controller/identity/index.ts';
import { silentLogger } from '../controller/observability/logger.ts';
import { createCa, type CertificateFiles } from './controlplane/certs.ts';
import { testCluster } from './harness/cluster.ts';
import { TestOidcProvider } from './harness/oidc-provider.ts';
import { eventually } from './harness/wait.ts';

const PLURAL = plurals.IdentityProvider;

/** What a verification attempt came to: the identity provider's name, a rejection reason, or 'unavailable'. */
async function outcome(promise: Promise<VerifiedIdentity>): Promise<string> {
  try {
    return `ok:${(await promise).identityProvider}`;
  } catch (err) {
    if (err instanceof TokenRejectedError) return `rejected:${err.reason}`;
    if (err instanceof IdentityProviderUnavailableError) return 'unavailable';
    throw err;
  }
}

describe('IdentityProvider registry and token verifier on a real API server', function () {
  this.timeout(120_000);
  let dir: string;
  let ca: CertificateFiles;
  let caPem: string;
  let first: TestOidcProvider;
  let second: TestOidcProvider;
  let custom: CustomObjectsApi;
  let services: IdentityServices;
  const stop = new AbortController();
  const name = `e2e-idp-${randomBytes(3).toString('hex')}`;

  before(async () => {
    const kubeConfig = testCluster().admin.kubeConfig;
    await installCrds(kubeConfig);
    custom = kubeConfig.makeApiClient(CustomObjectsApi);
    dir = await mkdtemp(join(tmpdir(), 'identity-e2e-'));
    ca = await createCa(dir);
    caPem = await readFile(ca.certFile, 'utf8');
    first = await TestOidcProvider.start({ dir, ca, realmPath: '/realms/first' });
    second = await TestOidcProvider.start({ dir, ca, realmPath: '/realms/second' });
    await first.addKey('RS256');
    await second.addKey('ES256');
    services = createIdentityServices(kubeConfig, {
      logger: silentLogger(),
      registry: new Registry(),
      // Short cooldowns: each step below may need a fresh fetch.
      verifier: { jwksCooldownMs: 100, failureBackoffMs: 100, requestTimeoutMs: 3000 },
    });
    services.component.start(stop.signal);
    await eventually('the IdentityProvider cache to sync', 30_000, () => (services.component.hasSynced() ? true : undefined));
  });

  after(async () => {
    stop.abort();
    await custom.deleteClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, name }).catch(() => undefined);
    await first?.close();
    await second?.close();
    await rm(dir, { recursive: true, force: true });
  });

  function spec(overrides: { authority?: string; audience?: string; ca?: string; disabled?: boolean; displayName?: string } = {}): IdentityProviderSpec {
    return {
      oidc: {
        authority: overrides.authority ?? first.issuer,
        clientID: 'breakglass-ui',
        expectedAudience: overrides.audience ?? 'breakglass-api',
        certificateAuthority: overrides.ca ?? caPem,
      },
      displayName: overrides.displayName ?? 'Corporate login',
      primary: true,
      ...(overrides.disabled !== undefined ? { disabled: overrides.disabled } : {}),
    };
  }

  async function replaceSpec(next: IdentityProviderSpec): Promise<void> {
    const current = (await custom.getClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, name })) as IdentityProvider;
    await custom.replaceClusterCustomObject({
      group: GROUP,
      version: VERSION,
      plural: PLURAL,
      name,
      body: { ...current, spec: next },
    });
  }

  async function until(what: string, token: () => Promise<string>, expected: string): Promise<void> {
    let last = '';
    await eventually(what, 20_000, async () => {
      last = await outcome(services.tokenVerifier.verify(await token()));
      return last === expected ? true : undefined;
    }).catch((err: Error) => {
      throw new Error(`${err.message}; last outcome ${last}`);
    });
  }

  it('follows create, audience change, authority change, CA change, disable and delete without a restart', async () => {
    const firstToken = (aud = 'breakglass-api') => first.sign({ aud, email: 'alice@example.com', groups: ['developers'] });
    const secondToken = (aud = 'breakglass-api') => second.sign({ aud });
    expect(await outcome(services.tokenVerifier.verify(await firstToken()))).to.equal('rejected:unknown_issuer');

    const body: IdentityProvider = { apiVersion: API_VERSION, kind: 'IdentityProvider', metadata: { name }, spec: spec() };
    await custom.createClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, body });
    await until('the new provider to verify tokens', () => firstToken(), `ok:${name}`);
    const identity = await services.tokenVerifier.verify(await firstToken());
    expect(identity).to.include({ email: 'alice@example.com', issuer: first.issuer });
    expect(identity.groups).to.deep.equal(['developers']);
    // The read model behind /api/config/idps.
    const listed = services.identityProviders.list().find((idp) => idp.name === name);
    expect(listed).to.include({ displayName: 'Corporate login', issuer: first.issuer, authority: first.issuer, clientID: 'breakglass-ui', primary: true });

    await replaceSpec(spec({ audience: 'breakglass-api-v2' }));
    await until('the old audience to be refused', () => firstToken(), 'rejected:audience_mismatch');
    expect(await outcome(services.tokenVerifier.verify(await firstToken('breakglass-api-v2')))).to.equal(`ok:${name}`);

    await replaceSpec(spec({ authority: second.issuer }));
    await until('the new authority to verify its tokens', () => secondToken(), `ok:${name}`);
    expect(await outcome(services.tokenVerifier.verify(await firstToken()))).to.equal('rejected:unknown_issuer');

    const otherCa = await createCa(dir, 'not-the-idp-ca');
    await replaceSpec(spec({ authority: second.issuer, ca: await readFile(otherCa.certFile, 'utf8') }));
    await until('a CA that does not sign the IdP certificate to make the provider unavailable', () => secondToken(), 'unavailable');
    await replaceSpec(spec({ authority: second.issuer }));
    await until('the right CA to work again', () => secondToken(), `ok:${name}`);

    await replaceSpec(spec({ authority: second.issuer, disabled: true }));
    await until('a disabled provider to stop verifying', () => secondToken(), 'rejected:unknown_issuer');
    expect(services.identityProviders.list().map((idp) => idp.name)).to.not.include(name);
    expect(services.identityProviders.list({ includeDisabled: true }).map((idp) => idp.name)).to.include(name);

    await replaceSpec(spec({ authority: second.issuer }));
    await until('a re-enabled provider to verify again', () => secondToken(), `ok:${name}`);
    await custom.deleteClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, name });
    await until('a deleted provider to stop verifying', () => secondToken(), 'rejected:unknown_issuer');
    expect(services.identityProviders.get(name)).to.equal(undefined);
  });
});
