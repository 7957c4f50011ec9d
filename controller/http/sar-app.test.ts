import { expect } from 'chai';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import type { ClusterConfig } from '../../crds/index.ts';
import { createTestCa, issueServingCertificate, type TestCertificateAuthority } from '../admission/certificates.test-support.ts';
import { createWebhookHandler } from '../api/authorization-webhook-handler.ts';
import { CallerAuthenticator } from '../authorization/caller-auth.ts';
import { issueClientCertificate, issueIntermediateCa, type TestClientCertificate } from '../authorization/client-certificates.test-support.ts';
import type { AuthorizationOutcome } from '../authorization/decision.ts';
import { FakeClock } from '../clock/clock.ts';
import { silentLogger } from '../observability/logger.ts';
import { capturingLogger } from '../kube/capturing-logger.ts';
import { createSarListener } from './sar-app.ts';
import { startTlsServer, type TlsServer } from './tls-server.ts';

const cluster: ClusterConfig = {
  metadata: { name: 'spoke', namespace: 'breakglass' },
  spec: {
    kubeconfigSecretRef: { name: 'kc', namespace: 'breakglass' },
    webhookAuthentication: { clientCertificate: { caSecretRef: { name: 'ca', namespace: 'breakglass', key: 'ca.crt' }, commonName: 'spoke-apiserver' } },
  },
} as ClusterConfig;

const ALLOWED: AuthorizationOutcome = {
  kind: 'decision', allowed: true, reason: 'allowed by test', decision: 'allowed', denySource: '', clusterLabel: 'spoke', warnings: [],
} as AuthorizationOutcome;

const SAR = JSON.stringify({ apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec: { user: 'alice@example.com', resourceAttributes: { verb: 'get', resource: 'pods' } } });

describe('authorization webhook TLS listener', function () {
  this.timeout(60_000);
  let dir: string;
  let server: TlsServer;
  let servingCa: string;
  let servingAuthority: TestCertificateAuthority;
  let leaf: TestClientCertificate;
  let intermediatePem: string;
  let decisions = 0;
  const log = capturingLogger('info');
  /** The reason the hub logged for the refusals since `from`. */
  const reasons = (from: number) => log.records.slice(from).filter((r) => r.msg === 'sar_unauthenticated').map((r) => r.reason);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bg-sar-tls-'));
    const serving = await createTestCa(dir, 'serving-ca');
    servingCa = serving.certPem;
    servingAuthority = serving;
    const pair = await issueServingCertificate(dir, serving, { ips: ['127.0.0.1'] });
    await writeFile(join(dir, 'tls.crt'), pair.certPem);
    await writeFile(join(dir, 'tls.key'), pair.keyPem);
    const clientCa = await createTestCa(dir, 'spoke-webhook-ca');
    const intermediate = await issueIntermediateCa(dir, clientCa, 'spoke-intermediate');
    intermediatePem = intermediate.certPem;
    leaf = await issueClientCertificate(dir, intermediate, { commonName: 'spoke-apiserver' });
    const webhook = createWebhookHandler({
      pipeline: {
        authorize: async () => {
          decisions++;
          return ALLOWED;
        },
      },
      clusters: { get: (name) => (name === 'spoke' ? cluster : undefined) },
      callers: new CallerAuthenticator({ readSecret: async () => ({ 'ca.crt': clientCa.certPem }) }, { clock: new FakeClock(Date.now()) }),
      logger: log.logger,
    });
    server = await startTlsServer({
      purpose: 'authorization webhook',
      bindAddress: '127.0.0.1:0',
      certDir: dir,
      certFile: 'tls.crt',
      keyFile: 'tls.key',
      requestClientCertificate: true,
      listener: createSarListener({ logger: silentLogger(), webhook }),
      logger: silentLogger(),
      certPollIntervalMs: 200,
    });
  });
  after(async () => {
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  function post(path: string, tls: { cert?: string; key?: string }, agent: Agent | false = false): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port: server.port, path, method: 'POST', agent, ca: servingCa, ...tls, headers: { 'content-type': 'application/json' } },
        (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (c: string) => (body += c)).on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      req.end(SAR);
    });
  }

  it('hands the whole presented chain to caller authentication: a leaf sent with its intermediate is accepted, the leaf alone is not', async () => {
    const chain = await post('/api/breakglass/webhook/authorize/spoke', { cert: leaf.certPem + intermediatePem, key: leaf.keyPem });
    expect(chain.status, chain.body).to.equal(200);
    expect(JSON.parse(chain.body)).to.deep.include({ kind: 'SubjectAccessReview', status: { allowed: true, reason: 'allowed by test' } });
    const from = log.records.length;
    const leafOnly = await post('/breakglass/webhook/authorize/spoke', { cert: leaf.certPem, key: leaf.keyPem });
    expect(leafOnly.status).to.equal(401);
    expect(reasons(from)).to.deep.equal(['the client certificate was not issued by the CA this cluster trusts']);
    expect(decisions).to.equal(1);
  });

  it('asks for a certificate without requiring one (401 from the webhook, not a failed handshake) and serves nothing but the webhook', async () => {
    const from = log.records.length;
    const none = await post('/api/breakglass/webhook/authorize/spoke', {});
    expect(none.status).to.equal(401);
    expect(reasons(from)).to.deep.equal(['a client certificate is required']);
    const other = await post('/api/breakglassSessions', { cert: leaf.certPem + intermediatePem, key: leaf.keyPem });
    expect(other.status).to.equal(404);
    expect(JSON.parse(other.body).error).to.contain('serves only the authorization webhook');
  });

  /** Three new connections from one agent that would resume TLS sessions if offered: each must be accepted. */
  async function threeConnections(label: string): Promise<void> {
    // A resumed session keeps only the leaf, so the chain check would fail on the second connection.
    const agent = new Agent({ keepAlive: false, maxCachedSessions: 10 });
    const tls = { cert: leaf.certPem + intermediatePem, key: leaf.keyPem };
    for (let i = 0; i < 3; i++) {
      const answer = await post('/api/breakglass/webhook/authorize/spoke', tls, agent);
      expect(answer.status, `${label}, connection ${i + 1}: ${answer.body}`).to.equal(200);
    }
    agent.destroy();
  }

  /** The fingerprint of the serving certificate a new connection gets. */
  function servedFingerprint(): Promise<string> {
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: server.port, path: '/', method: 'GET', agent: false, ca: servingCa }, (res) => {
        resolve((res.socket as TLSSocket).getPeerCertificate().fingerprint256);
        res.resume();
      });
      req.on('error', reject);
      req.end();
    });
  }

  it('accepts the same spoke on every new connection: no TLS session resumption, which would drop the intermediates it sends', async () => {
    await threeConnections('first certificate');
  });

  it('still offers no session resumption after the serving certificate was reloaded', async () => {
    const before = await servedFingerprint();
    const next = await issueServingCertificate(dir, servingAuthority, { ips: ['127.0.0.1'] });
    await writeFile(join(dir, 'tls.crt'), next.certPem);
    await writeFile(join(dir, 'tls.key'), next.keyPem);
    const deadline = Date.now() + 10_000;
    while ((await servedFingerprint().catch(() => before)) === before) {
      if (Date.now() > deadline) throw new Error('the new serving certificate was not served within 10 s');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await threeConnections('after the reload');
  });
});
