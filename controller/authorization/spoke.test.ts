import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiException, KubeConfig } from '@kubernetes/client-node';
import type { ClusterConfig } from '../../crds/index.ts';
import { createTestCa, issueServingCertificate } from '../admission/certificates.test-support.ts';
import { FakeClock } from '../clock/clock.ts';
import { RequestTimeoutError } from '../kube/request-options.ts';
import { GrantCheckError } from './grant-checker.ts';
import { GRANT_CHECK_USER, grantCheckFailure, SpokeClients, SpokeGrantChecker, SpokeObjectReader } from './spoke.ts';

const config = (spec: ClusterConfig['spec'] = { kubeconfigSecretRef: { name: 'kc', namespace: 'bg' } }): ClusterConfig => ({
  metadata: { name: 'spoke', namespace: 'bg', uid: 'u', resourceVersion: '1' },
  spec,
});

/** A plain-HTTP stand-in for the spoke API server (the parse hook allows its http URL). */
function plainKubeConfig(server: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 's', server, skipTLSVerify: true }],
    users: [{ name: 'u', token: 'hub-token' }],
    contexts: [{ name: 'c', cluster: 's', user: 'u' }],
    currentContext: 'c',
  });
  return kc;
}

describe('spoke access', () => {
  let server: Server;
  let url: string;
  const requests: { path: string; body: Record<string, unknown>; authorization?: string }[] = [];
  let respond: (req: IncomingMessage, body: Record<string, unknown>) => { status: number; body: unknown } = () => ({ status: 500, body: {} });

  before(async () => {
    server = createServer((req, res) => {
      let raw = '';
      req.on('data', (c: Buffer) => (raw += c.toString()));
      req.on('end', () => {
        const body = raw === '' ? {} : (JSON.parse(raw) as Record<string, unknown>);
        requests.push({ path: req.url ?? '', body, authorization: req.headers.authorization });
        if (req.url?.startsWith('/hang')) return; // never answers
        const answer = respond(req, body);
        res.writeHead(answer.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(answer.body));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const clients = (cluster: ClusterConfig | undefined, secret: Record<string, string> | null = { value: 'kubeconfig' }) => {
    let reads = 0;
    const spokes = new SpokeClients(
      { get: () => cluster },
      { readSecret: async () => (reads++, secret ?? undefined) },
      { clock: new FakeClock(), parse: () => plainKubeConfig(url), requestTimeoutMs: 500 },
    );
    return { spokes, reads: () => reads };
  };

  it('asks the spoke with a SubjectAccessReview for the groups under a system: user, with the resource attributes', async () => {
    respond = (_req, body) => ({ status: 201, body: { ...body, status: { allowed: (body.spec as { groups: string[] }).groups.includes('admins') } } });
    const { spokes, reads } = clients(config());
    const checker = new SpokeGrantChecker(spokes);
    const attributes = { resource: { namespace: 'payments', verb: 'get', group: '', version: 'v1', resource: 'pods', subresource: '', name: 'web' } };
    expect(await checker.allowed('spoke', ['admins', 'oidc:admins'], attributes)).to.equal(true);
    expect(await checker.allowed('spoke', ['viewers'], attributes)).to.equal(false);
    const sent = requests.at(-1);
    expect(sent?.path).to.equal('/apis/authorization.k8s.io/v1/subjectaccessreviews');
    expect(sent?.body.spec).to.deep.include({ user: GRANT_CHECK_USER, groups: ['viewers'] });
    expect((sent?.body.spec as { resourceAttributes: unknown }).resourceAttributes).to.deep.include({ namespace: 'payments', resource: 'pods', name: 'web' });
    expect(reads(), 'credentials built once').to.equal(1);
  });

  it('types failures: no kubeconfig, missing Secret, 403, 5xx, timeout', async () => {
    const attributes = { nonResource: { path: '/metrics', verb: 'get' } };
    const failure = async (spokes: SpokeClients) => {
      try {
        await new SpokeGrantChecker(spokes).allowed('spoke', ['g'], attributes);
      } catch (error) {
        expect(error).to.be.instanceOf(GrantCheckError);
        return (error as GrantCheckError).failure;
      }
      throw new Error('expected a failure');
    };
    expect(await failure(clients(config({ authType: 'OIDC' })).spokes)).to.equal('no-credentials');
    expect(await failure(clients(config(), null).spokes)).to.equal('no-credentials');
    expect(await failure(clients(undefined).spokes)).to.equal('no-credentials');
    respond = () => ({ status: 403, body: { kind: 'Status', code: 403 } });
    expect(await failure(clients(config()).spokes)).to.equal('forbidden');
    respond = () => ({ status: 503, body: { kind: 'Status', code: 503 } });
    const unavailable = await failure(clients(config()).spokes);
    expect(unavailable).to.equal('unreachable');
    expect(grantCheckFailure(new RequestTimeoutError('x', 1), 'spoke').failure).to.equal('timeout');
    expect(grantCheckFailure(new ApiException(401, 'x', undefined, {}), 'spoke').failure).to.equal('no-credentials');
  });

  it('sends the review with the kubeconfig credentials under the server URL path, and types 401 and a silent spoke', async () => {
    const attributes = { nonResource: { path: '/metrics', verb: 'get' } };
    const at = (server: string) =>
      new SpokeGrantChecker(new SpokeClients({ get: () => config() }, { readSecret: async () => ({ value: 'kubeconfig' }) }, { clock: new FakeClock(), parse: () => plainKubeConfig(server), requestTimeoutMs: 300 }));
    respond = (_req, body) => ({ status: 201, body: { ...body, status: { allowed: true } } });
    expect(await at(`${url}/gateway/spoke-1/`).allowed('spoke', ['g'], attributes)).to.equal(true);
    expect(requests.at(-1)).to.deep.include({ path: '/gateway/spoke-1/apis/authorization.k8s.io/v1/subjectaccessreviews', authorization: 'Bearer hub-token' });
    const failure = async (checker: SpokeGrantChecker) => checker.allowed('spoke', ['g'], attributes).then(() => 'allowed', (error: unknown) => (error as GrantCheckError).failure);
    respond = () => ({ status: 401, body: { kind: 'Status', code: 401 } });
    expect(await failure(at(url))).to.equal('no-credentials');
    expect(await failure(at(`${url}/hang`))).to.equal('timeout');
  });

  it('reads namespace labels and pods; a missing pod is undefined, not an error', async () => {
    respond = (req) => {
      if (req.url === '/api/v1/namespaces/payments') return { status: 200, body: { metadata: { name: 'payments', labels: { tier: 'critical' } } } };
      if (req.url === '/api/v1/namespaces/payments/pods/web') return { status: 200, body: { metadata: { name: 'web' }, spec: { hostPID: true, containers: [] } } };
      return { status: 404, body: { kind: 'Status', code: 404 } };
    };
    const reader = new SpokeObjectReader(clients(config()).spokes);
    expect(await reader.namespaceLabels('spoke', 'payments')).to.deep.equal({ tier: 'critical' });
    expect((await reader.getPod('spoke', 'payments', 'web'))?.spec?.hostPID).to.equal(true);
    expect(await reader.getPod('spoke', 'payments', 'gone')).to.equal(undefined);
  });
});

describe('spoke connection reuse', () => {
  it('sends a review lost with a stale kept-alive connection once more on a new one', async () => {
    // A spoke (or a load balancer) that drops every connection after its first request.
    const served = new WeakSet<object>();
    let reviews = 0;
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        if (served.has(req.socket)) return void req.socket.destroy();
        served.add(req.socket);
        reviews++;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ status: { allowed: true } }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const kc = plainKubeConfig(`http://127.0.0.1:${(server.address() as { port: number }).port}`);
      const checker = new SpokeGrantChecker(new SpokeClients({ get: () => config() }, { readSecret: async () => ({ value: 'k' }) }, { clock: new FakeClock(), parse: () => kc }));
      const attributes = { nonResource: { path: '/healthz', verb: 'get' } };
      for (let i = 0; i < 3; i++) expect(await checker.allowed('spoke', ['g'], attributes), `check ${i}`).to.equal(true);
      expect(reviews).to.equal(3);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('spoke connections', function () {
  this.timeout(30_000);
  let dir: string;
  let server: HttpsServer;
  let kubeconfig: string;
  let connections = 0;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bg-spoke-tls-'));
    const ca = await createTestCa(dir, 'spoke-ca');
    const serving = await issueServingCertificate(dir, ca, { ips: ['127.0.0.1'] });
    server = createHttpsServer({ cert: serving.certPem, key: serving.keyPem }, (req, res) => {
      req.resume();
      req.on('end', () => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', status: { allowed: true } }));
      });
    });
    server.on('secureConnection', () => connections++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 's', server: `https://127.0.0.1:${port}`, caData: Buffer.from(ca.certPem).toString('base64') }],
      users: [{ name: 'u', token: 'hub-token' }],
      contexts: [{ name: 'c', cluster: 's', user: 'u' }],
      currentContext: 'c',
    });
    kubeconfig = kc.exportConfig();
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  });

  it('reuses one TLS connection for successive grant checks, also after the credentials TTL while the Secret is unchanged', async () => {
    const clock = new FakeClock();
    let secret = kubeconfig;
    const spokes = new SpokeClients({ get: () => config() }, { readSecret: async () => ({ value: secret }) }, { clock, credentialsTtlMs: 1000 });
    const checker = new SpokeGrantChecker(spokes);
    const attributes = { resource: { namespace: 'payments', verb: 'get', group: '', version: 'v1', resource: 'pods', subresource: '', name: '' } };
    const before = connections;
    for (let i = 0; i < 5; i++) expect(await checker.allowed('spoke', ['ops'], attributes)).to.equal(true);
    await clock.advance(1000); // the Secret is read again: same kubeconfig, same clients
    for (let i = 0; i < 5; i++) await checker.allowed('spoke', ['ops'], attributes);
    expect(connections - before, 'TLS connections for 10 grant checks').to.equal(1);
    // New credentials in the Secret: new clients, so a new connection.
    secret = `${kubeconfig}\n# rotated\n`;
    await clock.advance(1000);
    await checker.allowed('spoke', ['ops'], attributes);
    expect(connections - before).to.equal(2);
  });
});
