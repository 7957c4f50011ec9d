/**
 * Proves the Keycloak harness: a real Keycloak over HTTPS with the test CA, the realm imported
 * from e2e/keycloak/realm-breakglass.json, tokens shaped the way the IdentityProvider verifier
 * and a spoke API server need them, and a group-sync client that can read groups and nothing more.
 */
import { expect } from 'chai';
import { createPublicKey, verify, type JsonWebKey } from 'node:crypto';
import { KEYCLOAK_START_TIMEOUT_MS, useKeycloak, type KeycloakHandle, type KeycloakUserName } from './harness/keycloak.ts';
import { expectJson, httpCall, type HttpResponse } from './keycloak/http.ts';

interface AccessTokenClaims {
  iss: string;
  aud: string | string[];
  exp: number;
  email?: string;
  email_verified?: boolean;
  preferred_username?: string;
  groups?: string[];
}

function decodePart<T>(part: string | undefined): T {
  return JSON.parse(Buffer.from(part ?? '', 'base64url').toString('utf8')) as T;
}

/** Checks the RS256 signature against the realm's JWKS and returns header and claims. */
async function verifiedToken(kc: KeycloakHandle, token: string): Promise<{ header: { alg: string; kid?: string }; claims: AccessTokenClaims }> {
  const [h, p, s] = token.split('.');
  const header = decodePart<{ alg: string; kid?: string }>(h);
  const jwks = expectJson<{ keys: (JsonWebKey & { kid: string; use?: string })[] }>(
    'JWKS',
    await httpCall(`${kc.issuer}/protocol/openid-connect/certs`, { ca: kc.caPem }),
  );
  // The realm has a signing key and an encryption key: pick by kid and use.
  const jwk = jwks.keys.find((k) => k.kid === header.kid && k.use === 'sig');
  expect(jwk, `JWKS has a sig key with kid ${header.kid}`).to.not.equal(undefined);
  const valid = verify('RSA-SHA256', Buffer.from(`${h}.${p}`), createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' }), Buffer.from(s ?? '', 'base64url'));
  expect(valid, 'signature verifies with the JWKS key').to.equal(true);
  return { header, claims: decodePart<AccessTokenClaims>(p) };
}

function groupSyncToken(kc: KeycloakHandle): Promise<string> {
  return httpCall(`${kc.issuer}/protocol/openid-connect/token`, {
    ca: kc.caPem,
    form: { grant_type: 'client_credentials', client_id: kc.groupSync.clientId, client_secret: kc.groupSync.clientSecret },
  }).then((res) => expectJson<{ access_token: string }>('client credentials grant', res).access_token);
}

function asGroupSync(kc: KeycloakHandle, token: string, method: string, path: string, json?: unknown): Promise<HttpResponse> {
  return httpCall(`${kc.baseUrl}/admin/realms/${kc.realm}${path}`, { method, ca: kc.caPem, headers: { Authorization: `Bearer ${token}` }, json });
}

describe('keycloak harness: a real Keycloak with the breakglass realm', function () {
  let kc: KeycloakHandle;

  before(async function () {
    this.timeout(KEYCLOAK_START_TIMEOUT_MS);
    kc = await useKeycloak();
    if (kc.local) {
      console.log(
        `      Keycloak ${kc.baseUrl}: ready in ${(kc.timings.startToReadyMs / 1000).toFixed(1)} s, realm import ${(kc.timings.realmImportMs / 1000).toFixed(1)} s` +
          (kc.timings.databaseFromTemplate ? ' (database from template)' : ' (new database)'),
      );
    }
  });

  it('serves HTTPS with a certificate of the exposed CA, and pins the issuer', async () => {
    if (kc.local) {
      expect(kc.baseUrl).to.match(/^https:\/\/127\.0\.0\.1:\d+$/);
      expect(kc.caPem).to.match(/^-----BEGIN CERTIFICATE-----/);
      expect(kc.issuer).to.equal(`${kc.baseUrl}/realms/breakglass`);
      // Without the CA the serving certificate is not trusted.
      const untrusted = await httpCall(`${kc.issuer}/.well-known/openid-configuration`).then(
        () => 'trusted',
        (err: Error) => err.message,
      );
      expect(untrusted).to.not.equal('trusted');
    }
    // Dev mode would take the issuer from the Host header; pinned, a forged one changes nothing.
    const res = await httpCall(`${kc.issuer}/.well-known/openid-configuration`, { ca: kc.caPem, hostHeader: 'evil.example:1' });
    const discovery = expectJson<{ issuer: string; jwks_uri: string }>('discovery', res);
    expect(discovery.issuer).to.equal(kc.issuer);
    expect(discovery.jwks_uri).to.equal(`${kc.issuer}/protocol/openid-connect/certs`);
  });

  const expectedGroups: Record<KeycloakUserName, string[] | undefined> = {
    alice: ['developers'],
    bob: ['approvers'],
    carol: ['approvers'],
    // The group-membership mapper leaves the claim out for a user without groups (no `groups: []`).
    dave: undefined,
  };
  for (const name of Object.keys(expectedGroups) as KeycloakUserName[]) {
    it(`gives ${name} an RS256 access token with kid, pinned iss, both audiences, email and groups`, async () => {
      const { header, claims } = await verifiedToken(kc, await kc.accessToken(name));
      expect(header.alg).to.equal('RS256');
      expect(header.kid).to.be.a('string').and.not.equal('');
      expect(claims.iss).to.equal(kc.issuer);
      expect(claims.aud).to.include.members([kc.audience, kc.kubernetesAudience]);
      expect(claims.email).to.equal(`${name}@example.com`);
      expect(claims.email).to.equal(kc.users[name].email);
      expect(claims.email_verified).to.equal(true);
      expect(claims.preferred_username).to.equal(name);
      expect(claims.exp * 1000).to.be.greaterThan(Date.now());
      if (expectedGroups[name] === undefined) expect(claims).to.not.have.property('groups');
      else expect(claims.groups).to.deep.equal(expectedGroups[name]);
    });
  }

  it('refuses a wrong password', async () => {
    const res = await httpCall(`${kc.issuer}/protocol/openid-connect/token`, {
      ca: kc.caPem,
      form: { grant_type: 'password', client_id: kc.uiClientId, username: 'alice', password: 'not-her-password' },
    });
    expect(res.status).to.equal(401);
  });

  it('lets the UI client use loopback redirect URIs with PKCE S256 and no other redirect', async () => {
    const auth = (redirect: string, pkce: boolean): Promise<HttpResponse> => {
      const q = new URLSearchParams({ client_id: kc.uiClientId, response_type: 'code', scope: 'openid', redirect_uri: redirect });
      if (pkce) {
        q.set('code_challenge', 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
        q.set('code_challenge_method', 'S256');
      }
      return httpCall(`${kc.issuer}/protocol/openid-connect/auth?${q.toString()}`, { ca: kc.caPem });
    };
    // 200: the login page.
    expect((await auth('http://127.0.0.1:43123/callback', true)).status).to.equal(200);
    expect((await auth('http://localhost:5173/', true)).status).to.equal(200);
    // 400: Keycloak refuses to redirect anywhere else.
    expect((await auth('http://evil.example:5173/callback', true)).status).to.equal(400);
    // Without a code challenge the request is sent back with an error, never to the login page.
    const noPkce = await auth('http://127.0.0.1:43123/callback', false);
    expect(noPkce.status).to.equal(302);
    expect(String(noPkce.headers.location)).to.contain('error=invalid_request');
  });

  it('gives the group-sync client groups and members, and nothing more', async () => {
    const token = await groupSyncToken(kc);
    const search = await asGroupSync(kc, token, 'GET', '/groups?search=approvers');
    const groups = expectJson<{ id: string; name: string }[]>('group search', search);
    const approvers = groups.find((g) => g.name === 'approvers');
    expect(approvers, 'approvers group found').to.not.equal(undefined);
    const members = expectJson<{ username: string; email: string }[]>(
      'members',
      await asGroupSync(kc, token, 'GET', `/groups/${approvers?.id}/members`),
    );
    expect(members.map((m) => m.email).sort()).to.deep.equal(['bob@example.com', 'carol@example.com']);

    // view-users + query-groups only: no writes, no clients.
    expect((await asGroupSync(kc, token, 'POST', '/users', { username: 'eve', email: 'eve@example.com' })).status).to.equal(403);
    const daveId = await kc.admin.userId('dave');
    expect((await asGroupSync(kc, token, 'PUT', `/users/${daveId}/groups/${approvers?.id}`)).status).to.equal(403);
    expect((await asGroupSync(kc, token, 'GET', '/clients')).status).to.equal(403);
    expect(await kc.admin.groupMembers('approvers')).to.deep.equal(['bob', 'carol']);
  });

  it('refuses the group-sync client with a wrong secret', async () => {
    const res = await httpCall(`${kc.issuer}/protocol/openid-connect/token`, {
      ca: kc.caPem,
      form: { grant_type: 'client_credentials', client_id: kc.groupSync.clientId, client_secret: `${kc.groupSync.clientSecret}x` },
    });
    expect(res.status).to.equal(401);
  });

  it('adds and removes group members through the admin API, seen in new tokens', async () => {
    await kc.admin.addUserToGroup('dave', 'approvers');
    try {
      expect(await kc.admin.groupMembers('approvers')).to.deep.equal(['bob', 'carol', 'dave']);
      expect((await verifiedToken(kc, await kc.accessToken('dave'))).claims.groups).to.deep.equal(['approvers']);
    } finally {
      await kc.admin.removeUserFromGroup('dave', 'approvers');
    }
    expect(await kc.admin.groupMembers('approvers')).to.deep.equal(['bob', 'carol']);
    expect(await kc.admin.userGroups('dave')).to.deep.equal([]);
    expect((await verifiedToken(kc, await kc.accessToken('dave'))).claims).to.not.have.property('groups');
  });

  it('creates a user with a verified email that gets a token', async () => {
    const user = { username: 'erin', email: 'erin@example.com', password: 'erin-e2e-password', groups: ['developers'] };
    await kc.admin.createUser(user);
    const { claims } = await verifiedToken(kc, await kc.accessToken(user));
    expect(claims.email).to.equal('erin@example.com');
    expect(claims.email_verified).to.equal(true);
    expect(claims.groups).to.deep.equal(['developers']);
  });

  it('describes itself as an IdentityProvider object and the Secret it references', () => {
    const idp = kc.identityProviderObject({ name: 'kc', secretNamespace: 'ns1' });
    expect(idp.spec.oidc.authority).to.equal(kc.issuer);
    expect(idp.spec.oidc.clientID).to.equal(kc.uiClientId);
    expect(idp.spec.oidc.expectedAudience).to.equal('breakglass');
    expect(idp.spec.oidc.certificateAuthority).to.equal(kc.caPem);
    expect(idp.spec.groupSyncProvider).to.equal('Keycloak');
    expect(idp.spec.keycloak?.baseURL).to.equal(kc.baseUrl);
    expect(idp.spec.keycloak?.clientID).to.equal(kc.groupSync.clientId);
    const secret = kc.groupSyncSecret({ secretNamespace: 'ns1' });
    expect(idp.spec.keycloak?.clientSecretRef).to.deep.equal({ name: secret.metadata.name, namespace: 'ns1', key: 'value' });
    expect(secret.stringData.value).to.equal(kc.groupSync.clientSecret);
  });
});
