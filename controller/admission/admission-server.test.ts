import { X509Certificate } from 'node:crypto';
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { expect } from 'chai';
import type { ObjectLookup } from '../../crds/validation/index.ts';
import { silentLogger } from '../observability/logger.ts';
import { ADMISSION_PATHS, createAdmissionApp, type AdmissionValidator } from './admission-app.ts';
import { startAdmissionServer, type AdmissionServer } from './admission-server.ts';
import { createTestCa, issueServingCertificate, type TestCertificateAuthority, type TestServingCertificate } from './certificates.test-support.ts';
import { sendRaw } from './client.test-support.ts';

const allowAll: AdmissionValidator = {
  validateAdmission: async () => ({ errors: [], warnings: [] }),
  formatFieldErrors: () => '',
};
const emptyLookup: ObjectLookup = {
  namespacesWithName: async () => [],
  listIdentityProviders: async () => [],
  listEscalations: async () => [],
};

function app() {
  return createAdmissionApp({ validator: allowAll, lookup: emptyLookup, logger: silentLogger() });
}

/** Fingerprint of the certificate a fresh TLS connection is served. */
function servedFingerprint(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca }, () => {
      const fingerprint = socket.getPeerCertificate().fingerprint256;
      socket.end();
      resolve(fingerprint);
    });
    socket.on('error', reject);
  });
}

async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (await check()) return;
    await new Promise((done) => setTimeout(done, 100));
  }
  expect.fail(`timed out waiting until ${what}`);
}

const fingerprint = (pem: string): string => new X509Certificate(pem).fingerprint256;

describe('admission server', function () {
  this.timeout(20_000);
  let dir: string;
  let ca: TestCertificateAuthority;
  let first: TestServingCertificate;
  let second: TestServingCertificate;
  let server: AdmissionServer | undefined;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'admission-server-'));
    ca = await createTestCa(dir);
    first = await issueServingCertificate(dir, ca, { ips: ['127.0.0.1'] });
    second = await issueServingCertificate(dir, ca, { ips: ['127.0.0.1'] });
  });

  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function certDirWith(pair: TestServingCertificate): Promise<string> {
    const certDir = await mkdtemp(join(dir, 'certs-'));
    await writeFile(join(certDir, 'tls.crt'), pair.certPem);
    await writeFile(join(certDir, 'tls.key'), pair.keyPem);
    return certDir;
  }

  it('serves admission reviews over HTTPS with the certificate from the files', async () => {
    const certDir = await certDirWith(first);
    server = await startAdmissionServer({ bindAddress: '127.0.0.1:0', certDir, certFile: 'tls.crt', keyFile: 'tls.key', listener: app().callback(), logger: silentLogger() });
    expect(await servedFingerprint(server.port, ca.certPem)).to.equal(fingerprint(first.certPem));
    const body = JSON.stringify({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: { uid: 'u1', kind: { group: 'breakglass.t-caas.telekom.com', version: 'v1alpha1', kind: 'DenyPolicy' }, operation: 'CREATE', object: { metadata: { name: 'p' } } },
    });
    const response = await sendRaw({ port: server.port, path: ADMISSION_PATHS.DenyPolicy, body, ca: ca.certPem, headers: { 'content-type': 'application/json' } });
    expect(response.status).to.equal(200);
    expect(JSON.parse(response.text)).to.deep.equal({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'u1', allowed: true } });
  });

  it('refuses to start when the certificate or key file is missing, naming the path', async () => {
    const certDir = await mkdtemp(join(dir, 'empty-'));
    const start = startAdmissionServer({ bindAddress: '127.0.0.1:0', certDir, certFile: 'tls.crt', keyFile: 'tls.key', listener: app().callback(), logger: silentLogger() });
    let message = '';
    await start.then(
      (started) => {
        server = started;
      },
      (err: Error) => {
        message = err.message;
      },
    );
    expect(message).to.match(new RegExp(`^admission webhook (certificate|key) ${certDir}/tls\\.(crt|key) cannot be read: ENOENT`));
  });

  it('serves a rewritten certificate to new connections', async () => {
    const certDir = await certDirWith(first);
    server = await startAdmissionServer({ bindAddress: '127.0.0.1:0', certDir, certFile: 'tls.crt', keyFile: 'tls.key', listener: app().callback(), logger: silentLogger() });
    const port = server.port;
    expect(await servedFingerprint(port, ca.certPem)).to.equal(fingerprint(first.certPem));
    await writeFile(join(certDir, 'tls.key'), second.keyPem);
    await writeFile(join(certDir, 'tls.crt'), second.certPem);
    await eventually(async () => (await servedFingerprint(port, ca.certPem)) === fingerprint(second.certPem), 'the new certificate is served');
  });

  it('follows a Kubernetes Secret volume update (the ..data symlink swap)', async () => {
    // Layout of a Secret volume: tls.crt -> ..data/tls.crt, ..data -> ..<timestamp>/
    const certDir = await mkdtemp(join(dir, 'volume-'));
    const writeGeneration = async (name: string, pair: TestServingCertificate): Promise<void> => {
      await mkdir(join(certDir, name));
      await writeFile(join(certDir, name, 'tls.crt'), pair.certPem);
      await writeFile(join(certDir, name, 'tls.key'), pair.keyPem);
    };
    await writeGeneration('..gen1', first);
    await symlink('..gen1', join(certDir, '..data'));
    await symlink('..data/tls.crt', join(certDir, 'tls.crt'));
    await symlink('..data/tls.key', join(certDir, 'tls.key'));
    server = await startAdmissionServer({ bindAddress: '127.0.0.1:0', certDir, certFile: 'tls.crt', keyFile: 'tls.key', listener: app().callback(), logger: silentLogger() });
    const port = server.port;
    expect(await servedFingerprint(port, ca.certPem)).to.equal(fingerprint(first.certPem));

    await writeGeneration('..gen2', second);
    await symlink('..gen2', join(certDir, '..data_tmp'));
    await rename(join(certDir, '..data_tmp'), join(certDir, '..data'));
    await rm(join(certDir, '..gen1'), { recursive: true });
    await eventually(async () => (await servedFingerprint(port, ca.certPem)) === fingerprint(second.certPem), 'the swapped certificate is served');
  });

  it('keeps the working certificate when the new files do not belong together', async () => {
    const certDir = await certDirWith(first);
    server = await startAdmissionServer({
      bindAddress: '127.0.0.1:0', certDir, certFile: 'tls.crt', keyFile: 'tls.key', listener: app().callback(), logger: silentLogger(), certPollIntervalMs: 50,
    });
    const port = server.port;
    await writeFile(join(certDir, 'tls.crt'), second.certPem); // key still belongs to `first`
    await new Promise((done) => setTimeout(done, 500));
    expect(await servedFingerprint(port, ca.certPem)).to.equal(fingerprint(first.certPem));
    await writeFile(join(certDir, 'tls.key'), second.keyPem);
    await eventually(async () => (await servedFingerprint(port, ca.certPem)) === fingerprint(second.certPem), 'the completed pair is served');
  });
});
