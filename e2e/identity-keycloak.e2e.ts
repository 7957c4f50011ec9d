/**
 * Real Keycloak access tokens through an IdentityProvider object on a real API server: the
 * verifier discovers the realm over HTTPS (the test CA from the object), accepts alice's and
 * dave's tokens with their groups, and refuses a tampered token and, once the object demands
 * another audience, the same token again.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { installCrds } from '../crds/install.ts';
import { GROUP, VERSION, plurals } from '../crds/index.ts';
import type { IdentityProvider } from '../crds/identity-provider.ts';
import { createIdentityServices, TokenRejectedError, type IdentityServices } from '../controller/identity/index.ts';
import { silentLogger } from '../controller/observability/logger.ts';
import { testCluster } from './harness/cluster.ts';
import { KEYCLOAK_START_TIMEOUT_MS, useKeycloak, type KeycloakHandle } from './harness/keycloak.ts';
import { eventually } from './harness/wait.ts';

const PLURAL = plurals.IdentityProvider;

describe('Keycloak access tokens verified through an IdentityProvider object', function () {
  this.timeout(120_000);
  let kc: KeycloakHandle;
  let custom: CustomObjectsApi;
  let services: IdentityServices;
  const stop = new AbortController();
  const name = `e2e-keycloak-${randomBytes(3).toString('hex')}`;

  before(async function () {
    this.timeout(KEYCLOAK_START_TIMEOUT_MS);
    kc = await useKeycloak();
    const kubeConfig = testCluster().admin.kubeConfig;
    await installCrds(kubeConfig);
    custom = kubeConfig.makeApiClient(CustomObjectsApi);
    services = createIdentityServices(kubeConfig, { logger: silentLogger(), registry: new Registry(), verifier: { jwksCooldownMs: 100 } });
    services.component.start(stop.signal);
    const body = kc.identityProviderObject({ name, groupSync: false });
    // The object names the realm's issuer; the CA is the test CA, so the system roots play no part.
    expect(body.spec.oidc.certificateAuthority ?? '').to.include('BEGIN CERTIFICATE');
    await custom.createClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, body });
    await eventually('the IdentityProvider to reach the registry', 30_000, () => services.identityProviders.get(name));
  });

  after(async () => {
    stop.abort();
    await custom?.deleteClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, name }).catch(() => undefined);
  });

  it("accepts alice's access token with her identity and the developers group", async () => {
    const identity = await services.tokenVerifier.verify(await kc.accessToken('alice'));
    expect(identity.identityProvider).to.equal(name);
    expect(identity.issuer).to.equal(kc.issuer);
    expect(identity.username).to.equal('alice');
    expect(identity.email).to.equal(kc.users.alice.email);
    expect(identity.groups).to.deep.equal(['developers']);
    expect(identity.subject).to.match(/^[0-9a-f-]{36}$/);
    expect(identity.expiresAt.getTime()).to.be.greaterThan(Date.now());
  });

  it("accepts dave's access token, in no group", async () => {
    const identity = await services.tokenVerifier.verify(await kc.accessToken('dave'));
    expect(identity.username).to.equal('dave');
    expect(identity.groups ?? []).to.deep.equal([]);
  });

  it('refuses a real token whose payload was changed', async () => {
    const [header, payload, signature] = (await kc.accessToken('dave')).split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    const forged = Buffer.from(JSON.stringify({ ...claims, groups: ['approvers'] })).toString('base64url');
    const err = await services.tokenVerifier.verify(`${header}.${forged}.${signature}`).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(TokenRejectedError);
    expect((err as TokenRejectedError).reason).to.equal('invalid_signature');
  });

  it('refuses the same token once the IdentityProvider demands another audience', async () => {
    const token = await kc.accessToken('alice');
    const current = (await custom.getClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, name })) as IdentityProvider;
    await custom.replaceClusterCustomObject({
      group: GROUP,
      version: VERSION,
      plural: PLURAL,
      name,
      body: { ...current, spec: { ...current.spec, oidc: { ...current.spec.oidc, expectedAudience: 'not-in-the-token' } } },
    });
    const reason = await eventually('the new audience to apply', 20_000, async () => {
      try {
        await services.tokenVerifier.verify(token);
        return undefined;
      } catch (err) {
        return err instanceof TokenRejectedError ? err.reason : String(err);
      }
    });
    expect(reason).to.equal('audience_mismatch');
  });
});
