import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestCa, issueServingCertificate, type TestCertificateAuthority } from '../admission/certificates.test-support.ts';
import { FakeKeycloak } from './fake-keycloak.test-support.ts';
import { KeycloakAdminClient, KeycloakError, pickGroup, type KeycloakConnection } from './keycloak-admin-client.ts';

describe('KeycloakAdminClient', function () {
  let dir: string;
  let ca: TestCertificateAuthority;
  let otherCa: TestCertificateAuthority;
  let keycloak: FakeKeycloak;
  const clients: KeycloakAdminClient[] = [];

  before(async function () {
    dir = await mkdtemp(join(tmpdir(), 'keycloak-client-'));
    ca = await createTestCa(dir);
    otherCa = await createTestCa(dir, 'another-ca');
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  beforeEach(async () => {
    const serving = await issueServingCertificate(dir, ca, { ips: ['127.0.0.1'] });
    keycloak = new FakeKeycloak({ certPem: serving.certPem, keyPem: serving.keyPem });
    await keycloak.start();
  });
  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await keycloak.stop();
  });

  function client(overrides: Partial<KeycloakConnection> = {}): KeycloakAdminClient {
    const c = new KeycloakAdminClient({
      realm: keycloak.realm,
      clientID: keycloak.clientID,
      clientSecret: keycloak.clientSecret,
      certificateAuthority: ca.certPem,
      requestTimeoutMs: 2000,
      ...overrides,
      baseURL: overrides.baseURL ?? keycloak.url,
    });
    clients.push(c);
    return c;
  }

  it('resolves members across pages, preferring email over username, normalized and sorted', async () => {
    const users = Array.from({ length: 7 }, (_, i) => ({ username: `user${i}`, email: ` User${i}@Example.com ` }));
    keycloak.addGroup('approvers', [...users, { username: 'NoMail' }, { username: 'dup', email: 'user1@example.com' }]);
    const result = await client({ pageSize: 3 }).resolveGroup('approvers');
    expect(result).to.deep.equal({
      found: true,
      members: [...users.map((_, i) => `user${i}@example.com`), 'nomail'].sort(),
    });
    const pages = keycloak.requests.filter((r) => r.includes('/members'));
    // 9 members at 3 per page: 3 full pages and an empty one that ends the paging.
    expect(pages).to.have.length(4);
    expect(pages[0]).to.include('first=0&max=3');
    expect(pages[3]).to.include('first=9&max=3');
  });

  it('includes members of nested sub-groups and finds a group that is itself a sub-group', async () => {
    const sre = keycloak.addGroup('sre', [{ username: 'bob', email: 'bob@example.com' }]);
    const oncall = keycloak.addGroup('oncall', [{ username: 'carol', email: 'carol@example.com' }], sre);
    keycloak.addGroup('night', [{ username: 'dave', email: 'dave@example.com' }], oncall);
    expect(await client().resolveGroup('sre')).to.deep.equal({
      found: true,
      members: ['bob@example.com', 'carol@example.com', 'dave@example.com'],
    });
    expect(await client().resolveGroup('oncall')).to.deep.equal({ found: true, members: ['carol@example.com', 'dave@example.com'] });
  });

  it('reports a group the realm does not have as not found', async () => {
    keycloak.addGroup('approvers-extended', [{ username: 'x' }]);
    expect(await client().resolveGroup('approvers')).to.deep.equal({ found: false });
  });

  it('reuses the token until shortly before it expires, and fetches a new one after a 401', async () => {
    keycloak.addGroup('approvers', [{ username: 'bob' }]);
    let now = 1_000_000;
    const c = new KeycloakAdminClient(
      { baseURL: keycloak.url, realm: keycloak.realm, clientID: keycloak.clientID, clientSecret: keycloak.clientSecret, certificateAuthority: ca.certPem, requestTimeoutMs: 2000 },
      () => now,
    );
    clients.push(c);
    await c.resolveGroup('approvers');
    await c.resolveGroup('approvers');
    expect(keycloak.tokenRequests).to.equal(1);
    now += 291_000; // 300 s lifetime minus the 10 s margin has passed
    await c.resolveGroup('approvers');
    expect(keycloak.tokenRequests).to.equal(2);
    keycloak.revokeTokens();
    expect(await c.resolveGroup('approvers')).to.deep.equal({ found: true, members: ['bob'] });
    expect(keycloak.tokenRequests).to.equal(3);
  });

  it('fails with TokenRequestFailed for a wrong client secret, without the secret in the message', async () => {
    const err = await client({ clientSecret: 'wrong-secret-value' }).resolveGroup('approvers').catch((e: unknown) => e);
    expect(err).to.be.instanceOf(KeycloakError);
    expect((err as KeycloakError).reason).to.equal('TokenRequestFailed');
    expect((err as KeycloakError).message).to.include('unauthorized_client').and.not.include('wrong-secret-value');
  });

  it('fails with Forbidden when the service account lacks the admin roles', async () => {
    keycloak.adminStatus = 403;
    const err = await client().resolveGroup('approvers').catch((e: unknown) => e);
    expect((err as KeycloakError).reason).to.equal('Forbidden');
  });

  it('bounds every request by the request timeout', async () => {
    keycloak.hangAdmin = true;
    const started = Date.now();
    const err = await client({ requestTimeoutMs: 300 }).resolveGroup('approvers').catch((e: unknown) => e);
    expect((err as KeycloakError).reason).to.equal('Timeout');
    expect(Date.now() - started).to.be.lessThan(2000);
  });

  it('stops at once when the caller aborts, with the abort reason', async () => {
    keycloak.hangAdmin = true;
    const controller = new AbortController();
    const reason = new Error('term ended');
    setTimeout(() => controller.abort(reason), 100);
    const err = await client({ requestTimeoutMs: 10_000 }).resolveGroup('approvers', controller.signal).catch((e: unknown) => e);
    expect(err).to.equal(reason);
  });

  it('an already aborted signal fails at once with its reason and sends nothing', async () => {
    const controller = new AbortController();
    const reason = new Error('term already over');
    controller.abort(reason);
    const err = await client().resolveGroup('approvers', controller.signal).catch((e: unknown) => e);
    expect(err).to.equal(reason);
    await new Promise((resolve) => setTimeout(resolve, 200)); // an unheard 'error' event would crash the run here
    expect(keycloak.tokenRequests).to.equal(0);
  });

  it('trusts only the configured CA: another CA fails as Unreachable', async () => {
    const err = await client({ certificateAuthority: otherCa.certPem }).resolveGroup('approvers').catch((e: unknown) => e);
    expect((err as KeycloakError).reason).to.equal('Unreachable');
    expect(keycloak.tokenRequests).to.equal(0);
  });

  it('reports a closed port as Unreachable', async () => {
    const url = keycloak.url;
    await keycloak.stop();
    const err = await client({ baseURL: url }).resolveGroup('approvers').catch((e: unknown) => e);
    expect((err as KeycloakError).reason).to.equal('Unreachable');
  });

  it('pickGroup prefers the exact spelling, then a case-insensitive match', () => {
    const tree = [
      { id: '1', name: 'Approvers', subGroups: [{ id: '2', name: 'approvers' }] },
      { id: '3', name: 'other' },
    ];
    expect(pickGroup(tree, 'approvers')?.id).to.equal('2');
    expect(pickGroup(tree, 'APPROVERS')?.id).to.equal('1');
    expect(pickGroup(tree, 'missing')).to.equal(undefined);
  });
});
