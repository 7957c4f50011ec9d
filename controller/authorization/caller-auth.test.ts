import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClusterConfig } from '../../crds/index.ts';
import { createTestCa, type TestCertificateAuthority } from '../admission/certificates.test-support.ts';
import { FakeClock } from '../clock/clock.ts';
import { CallerAuthenticator, matchesToken, SecretUnavailableError } from './caller-auth.ts';
import { issueClientCertificate, issueIntermediateCa, type TestClientCertificate } from './client-certificates.test-support.ts';

const TOKEN = 'spoke-token-0123456789';

function clusterWith(webhookAuthentication: ClusterConfig['spec']['webhookAuthentication']): ClusterConfig {
  return {
    metadata: { name: 'spoke', namespace: 'breakglass' },
    spec: { kubeconfigSecretRef: { name: 'kc', namespace: 'breakglass' }, ...(webhookAuthentication ? { webhookAuthentication } : {}) },
  } as ClusterConfig;
}

const tokenRef = { name: 'spoke-webhook', namespace: 'breakglass', key: 'token' };
const caRef = { name: 'spoke-webhook-ca', namespace: 'breakglass', key: 'ca.crt' };

describe('webhook caller authentication', function () {
  this.timeout(60_000);
  let dir: string;
  let ca: TestCertificateAuthority;
  let otherCa: TestCertificateAuthority;
  let good: TestClientCertificate;
  let wrongCn: TestClientCertificate;
  let strange: TestClientCertificate;
  let serverOnly: TestClientCertificate;
  let noUsage: TestClientCertificate;
  let viaIntermediate: TestClientCertificate;
  let intermediate: Awaited<ReturnType<typeof issueIntermediateCa>>;
  let clock: FakeClock;
  let secrets: Record<string, Record<string, string> | undefined>;
  let reads: number;
  let callers: CallerAuthenticator;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bg-caller-auth-'));
    ca = await createTestCa(dir, 'spoke-webhook-ca');
    otherCa = await createTestCa(dir, 'spoke-webhook-ca'); // same name, other key: only the signature tells them apart
    good = await issueClientCertificate(dir, ca, { commonName: 'spoke-apiserver' });
    wrongCn = await issueClientCertificate(dir, ca, { commonName: 'someone-else' });
    strange = await issueClientCertificate(dir, otherCa, { commonName: 'spoke-apiserver' });
    serverOnly = await issueClientCertificate(dir, ca, { commonName: 'spoke-apiserver', extendedKeyUsage: 'serverAuth' });
    noUsage = await issueClientCertificate(dir, ca, { commonName: 'spoke-apiserver', extendedKeyUsage: null });
    intermediate = await issueIntermediateCa(dir, ca, 'spoke-intermediate');
    viaIntermediate = await issueClientCertificate(dir, intermediate, { commonName: 'spoke-apiserver' });
  });
  after(() => rm(dir, { recursive: true, force: true }));

  beforeEach(() => {
    clock = new FakeClock(Date.now());
    reads = 0;
    secrets = {
      'breakglass/spoke-webhook': { token: `${TOKEN}\n` },
      'breakglass/spoke-webhook-ca': { 'ca.crt': `# the spoke's CA\n${ca.certPem}` },
    };
    callers = new CallerAuthenticator(
      {
        readSecret: async (namespace, name) => {
          reads++;
          return secrets[`${namespace}/${name}`];
        },
      },
      { clock, secretTtlMs: 30_000 },
    );
  });

  const certOnly = clusterWith({ clientCertificate: { caSecretRef: caRef, commonName: 'spoke-apiserver' } });

  it('accepts a client certificate issued by the cluster CA with the expected CN, and nothing else', async () => {
    expect(await callers.authenticate(certOnly, { clientCertificates: [good.der] })).to.deep.equal({ ok: true });
    const refused = async (presented: Parameters<CallerAuthenticator['authenticate']>[1]) => {
      const result = await callers.authenticate(certOnly, presented);
      expect(result.ok, JSON.stringify(presented.bearerToken ?? '')).to.equal(false);
      return result.ok ? '' : result.reason;
    };
    expect(await refused({})).to.equal('a client certificate is required');
    expect(await refused({ bearerToken: TOKEN })).to.equal('a client certificate is required');
    expect(await refused({ clientCertificates: [strange.der] })).to.equal('the client certificate was not issued by the CA this cluster trusts');
    expect(await refused({ clientCertificates: [wrongCn.der] })).to.equal('the client certificate subject CN is not the one this cluster expects');
    expect(await refused({ clientCertificates: [serverOnly.der] })).to.match(/not valid for client authentication/);
    expect(await refused({ clientCertificates: [Buffer.from('not a certificate')] })).to.equal('the client certificate cannot be parsed');
    // A CA certificate is no client identity, even the trusted one itself.
    expect(await refused({ clientCertificates: [intermediate.der] })).to.equal('the client certificate is a CA certificate');
  });

  it('accepts any CN when none is configured, a leaf without extended key usages, and a chain through a sent intermediate', async () => {
    const anyCn = clusterWith({ clientCertificate: { caSecretRef: caRef } });
    expect(await callers.authenticate(anyCn, { clientCertificates: [wrongCn.der] })).to.deep.equal({ ok: true });
    expect(await callers.authenticate(certOnly, { clientCertificates: [noUsage.der] })).to.deep.equal({ ok: true });
    expect(await callers.authenticate(certOnly, { clientCertificates: [viaIntermediate.der, intermediate.der] })).to.deep.equal({ ok: true });
    // Without the intermediate the chain does not reach the CA.
    expect((await callers.authenticate(certOnly, { clientCertificates: [viaIntermediate.der] })).ok).to.equal(false);
  });

  it('refuses a certificate outside its validity window', async () => {
    await clock.advance(3 * 24 * 3600_000); // test certificates live two days
    const result = await callers.authenticate(certOnly, { clientCertificates: [good.der] });
    expect(result).to.deep.equal({ ok: false, reason: 'the client certificate is expired or not yet valid' });
  });

  it('refuses every certificate when the CA Secret is missing or holds no certificate, and follows a rotated CA after the TTL', async () => {
    secrets['breakglass/spoke-webhook-ca'] = { 'ca.crt': 'no PEM here' };
    const result = await callers.authenticate(certOnly, { clientCertificates: [good.der] });
    expect(result).to.deep.equal({ ok: false, reason: 'the webhook client CA Secret of ClusterConfig spoke is missing or holds no PEM certificate' });
    secrets['breakglass/spoke-webhook-ca'] = { 'ca.crt': otherCa.certPem };
    expect((await callers.authenticate(certOnly, { clientCertificates: [strange.der] })).ok, 'within the TTL').to.equal(false);
    await clock.advance(30_001);
    expect(await callers.authenticate(certOnly, { clientCertificates: [strange.der] })).to.deep.equal({ ok: true });
    expect((await callers.authenticate(certOnly, { clientCertificates: [good.der] })).ok, 'the old CA is gone').to.equal(false);
    expect(reads).to.equal(2);
  });

  it('checks a bearer token in constant time against its Secret; with both options configured either credential is enough', async () => {
    const tokenOnly = clusterWith({ tokenSecretRef: tokenRef });
    expect(await callers.authenticate(tokenOnly, { bearerToken: TOKEN })).to.deep.equal({ ok: true });
    expect(await callers.authenticate(tokenOnly, { bearerToken: 'nope' })).to.deep.equal({ ok: false, reason: 'the bearer token is not valid for this cluster' });
    // A certificate does not stand in for the token of a token-only cluster.
    expect(await callers.authenticate(tokenOnly, { clientCertificates: [good.der] })).to.deep.equal({ ok: false, reason: 'a bearer token is required' });

    const both = clusterWith({ tokenSecretRef: tokenRef, clientCertificate: { caSecretRef: caRef, commonName: 'spoke-apiserver' } });
    expect(await callers.authenticate(both, { bearerToken: TOKEN })).to.deep.equal({ ok: true });
    expect(await callers.authenticate(both, { clientCertificates: [good.der] })).to.deep.equal({ ok: true });
    expect(await callers.authenticate(both, { bearerToken: 'nope', clientCertificates: [strange.der] })).to.deep.equal({
      ok: false,
      reason: 'the client certificate was not issued by the CA this cluster trusts; the bearer token is not valid for this cluster',
    });
  });

  it('remembers a failed Secret read for a few seconds: its callers get SecretUnavailableError without another read each', async () => {
    let failing = true;
    callers = new CallerAuthenticator(
      {
        readSecret: async (namespace, name) => {
          reads++;
          if (failing) throw new Error('secrets "spoke-webhook" is forbidden');
          return secrets[`${namespace}/${name}`];
        },
      },
      { clock, secretTtlMs: 30_000, secretFailureTtlMs: 5_000 },
    );
    const tokenOnly = clusterWith({ tokenSecretRef: tokenRef });
    for (let i = 0; i < 20; i++) {
      const error = await callers.authenticate(tokenOnly, { bearerToken: 'anything' }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(SecretUnavailableError);
      expect((error as Error).message).to.equal('Secret breakglass/spoke-webhook could not be read: secrets "spoke-webhook" is forbidden');
    }
    expect(reads, 'one read for 20 requests').to.equal(1);
    failing = false;
    await clock.advance(5_000);
    expect(await callers.authenticate(tokenOnly, { bearerToken: TOKEN })).to.deep.equal({ ok: true });
    expect(reads, 'read again once the failure expired').to.equal(2);
  });

  it('with both options configured, a credential that matches counts even when the other one\'s Secret cannot be read', async () => {
    callers = new CallerAuthenticator(
      {
        readSecret: async (namespace, name) => {
          if (name === caRef.name) throw new Error('connection refused');
          return secrets[`${namespace}/${name}`];
        },
      },
      { clock },
    );
    const both = clusterWith({ tokenSecretRef: tokenRef, clientCertificate: { caSecretRef: caRef } });
    expect(await callers.authenticate(both, { bearerToken: TOKEN, clientCertificates: [good.der] })).to.deep.equal({ ok: true });
    // Without a matching token nothing can be decided: the CA could have allowed the certificate.
    const error = await callers.authenticate(both, { bearerToken: 'wrong', clientCertificates: [good.der] }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(SecretUnavailableError);
  });

  it('refuses every caller of a ClusterConfig without webhook authentication', async () => {
    for (const config of [clusterWith(undefined), clusterWith({})]) {
      expect(await callers.authenticate(config, { bearerToken: TOKEN, clientCertificates: [good.der] })).to.deep.equal({
        ok: false,
        reason: 'ClusterConfig spoke configures no webhook caller authentication',
      });
    }
  });
});

describe('bearer token comparison', () => {
  const expected = Buffer.from('s3cret-token', 'utf8');

  it('accepts exactly the expected token: not a prefix, an extension, another token of the same length or nothing', () => {
    expect(matchesToken(expected, 's3cret-token')).to.equal(true);
    expect(matchesToken(expected, 's3cret-toke')).to.equal(false);
    expect(matchesToken(expected, 's3cret-token2')).to.equal(false);
    expect(matchesToken(expected, 's3cret-tokex')).to.equal(false);
    expect(matchesToken(expected, '')).to.equal(false);
  });

  it('compares bytes, so a token with multi-byte characters matches only itself', () => {
    const unicode = Buffer.from('tökén', 'utf8');
    expect(matchesToken(unicode, 'tökén')).to.equal(true);
    // Same number of characters, fewer bytes.
    expect(matchesToken(unicode, 'token')).to.equal(false);
  });
});
