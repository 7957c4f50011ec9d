import { expect } from 'chai';
import { KubeConfig, VersionApi } from '@kubernetes/client-node';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestCa, issueServingCertificate, type TestCertificateAuthority } from '../admission/certificates.test-support.ts';
import { shareConnections } from './shared-connections.ts';

describe('shareConnections', () => {
  let dir: string;
  let ca: TestCertificateAuthority;
  let otherCa: TestCertificateAuthority;
  let server: Server;
  let url: string;
  let connections = 0;
  const authorizations: (string | undefined)[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bg-shared-connections-'));
    ca = await createTestCa(dir, 'api-ca');
    otherCa = await createTestCa(dir, 'other-ca');
    const pair = await issueServingCertificate(dir, ca, { ips: ['127.0.0.1'] });
    server = createServer({ cert: pair.certPem, key: pair.keyPem }, (req, res) => {
      authorizations.push(req.headers.authorization);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ major: '1', minor: '35', gitVersion: 'v1.35.0' }));
    });
    server.on('secureConnection', () => connections++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `https://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  });

  function load(kubeConfig: KubeConfig, caPem: string): void {
    kubeConfig.loadFromOptions({
      clusters: [{ name: 'hub', server: url, caData: Buffer.from(caPem).toString('base64') }],
      users: [{ name: 'controller', token: 'secret-token' }],
      contexts: [{ name: 'hub', cluster: 'hub', user: 'controller' }],
      currentContext: 'hub',
    });
  }

  it('sends the API calls of one kubeconfig over one connection, with their credentials', async () => {
    const kubeConfig = shareConnections(new KubeConfig());
    load(kubeConfig, ca.certPem);
    const api = kubeConfig.makeApiClient(VersionApi);
    const before = connections;
    authorizations.length = 0;
    for (let i = 0; i < 3; i++) expect((await api.getCode()).gitVersion).to.equal('v1.35.0');
    expect(connections - before).to.equal(1);
    expect(authorizations).to.deep.equal(['Bearer secret-token', 'Bearer secret-token', 'Bearer secret-token']);
  });

  it('opens a new connection when the TLS options change (a rotated CA bundle)', async () => {
    const kubeConfig = shareConnections(new KubeConfig());
    load(kubeConfig, ca.certPem);
    const api = kubeConfig.makeApiClient(VersionApi);
    const before = connections;
    await api.getCode();
    load(kubeConfig, ca.certPem + otherCa.certPem);
    await kubeConfig.makeApiClient(VersionApi).getCode();
    await kubeConfig.makeApiClient(VersionApi).getCode();
    expect(connections - before).to.equal(2);
  });
});
