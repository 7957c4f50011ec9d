/**
 * KubeObjectLookup against a scripted HTTP API server, for the paths a real API server does not
 * take on demand: a refused field selector, paging, and server errors. The normal paths run
 * against a real API server in e2e/admission.e2e.ts.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { expect } from 'chai';
import { KubeObjectLookup, LookupError } from './kube-object-lookup.ts';

type Handler = (url: URL, res: ServerResponse) => void;

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

const status = (code: number, message: string) => ({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, message });
const item = (name: string, namespace: string) => ({ metadata: { name, namespace } });

describe('KubeObjectLookup', () => {
  let server: Server;
  let handler: Handler;
  let requests: URL[];
  let lookup: KubeObjectLookup;

  before(async () => {
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      requests.push(url);
      handler(url, res);
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    lookup = new KubeObjectLookup(fakeServerConfig());
  });

  beforeEach(() => {
    requests = [];
  });

  /** A kubeconfig for the scripted server. */
  function fakeServerConfig(): KubeConfig {
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromOptions({
      clusters: [{ name: 'fake', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true }],
      users: [{ name: 'fake', token: 'token' }],
      contexts: [{ name: 'fake', cluster: 'fake', user: 'fake' }],
      currentContext: 'fake',
    });
    return kubeConfig;
  }

  after(async () => {
    await new Promise<void>((done) => server.close(() => done()));
  });

  it('asks for the name with a field selector and reports the namespaces holding it', async () => {
    handler = (_url, res) => send(res, 200, { items: [item('shared', 'team-a'), item('shared', 'team-b')], metadata: {} });
    expect(await lookup.namespacesWithName('BreakglassEscalation', 'shared')).to.deep.equal(['team-a', 'team-b']);
    expect(requests).to.have.length(1);
    expect(requests[0]?.pathname).to.equal('/apis/breakglass.t-caas.telekom.com/v1alpha1/breakglassescalations');
    expect(requests[0]?.searchParams.get('fieldSelector')).to.equal('metadata.name=shared');
  });

  it('falls back to listing everything, page by page, when the field selector is refused', async () => {
    handler = (url, res) => {
      if (url.searchParams.has('fieldSelector')) return send(res, 400, status(400, 'field label not supported: metadata.name'));
      if (url.searchParams.get('continue') === 'page-2') return send(res, 200, { items: [item('wanted', 'team-c')], metadata: {} });
      return send(res, 200, { items: [item('other', 'team-a'), item('wanted', 'team-b')], metadata: { continue: 'page-2' } });
    };
    expect(await lookup.namespacesWithName('ClusterConfig', 'wanted')).to.deep.equal(['team-b', 'team-c']);
    expect(requests.map((url) => url.searchParams.get('continue'))).to.deep.equal([null, null, 'page-2']);
  });

  it('fails with a LookupError naming the resource and the API server message', async () => {
    handler = (_url, res) => send(res, 503, status(503, 'etcd is unavailable'));
    const failure = await lookup.listIdentityProviders().then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failure).to.be.instanceOf(LookupError);
    expect((failure as Error).message).to.equal(
      'could not list identityproviders.breakglass.t-caas.telekom.com from the API server: HTTP 503: etcd is unavailable',
    );
  });

  it('escapes field selector syntax in names', async () => {
    handler = (_url, res) => send(res, 200, { items: [], metadata: {} });
    await lookup.namespacesWithName('BreakglassSession', 'a,b=c');
    expect(requests[0]?.searchParams.get('fieldSelector')).to.equal('metadata.name=a\\,b\\=c');
  });

  it('retries a 429 (storage initialising) and answers once the API server does', async () => {
    let calls = 0;
    handler = (_url, res) => {
      calls++;
      if (calls === 1) {
        res.setHeader('retry-after', '1');
        return send(res, 429, status(429, 'storage is (re)initializing'));
      }
      send(res, 200, { items: [item('x', 'team-a')], metadata: {} });
    };
    expect(await lookup.namespacesWithName('ClusterConfig', 'x')).to.deep.equal(['team-a']);
    expect(calls).to.equal(2);
  });

  it('gives up after a few 429s and fails closed with the reason', async () => {
    handler = (_url, res) => send(res, 429, status(429, 'too many requests'));
    const err = await lookup.listEscalations().then(() => undefined, (e: unknown) => e);
    expect(err).to.be.instanceOf(LookupError);
    expect((err as Error).message).to.match(/HTTP 429: too many requests/);
    expect(requests).to.have.length(4);
  });

  describe('with a deadline', () => {
    let bounded: KubeObjectLookup;
    const held: ServerResponse[] = [];
    before(() => {
      bounded = new KubeObjectLookup(fakeServerConfig(), { timeoutMs: 300 });
    });
    afterEach(() => {
      for (const res of held.splice(0)) res.destroy();
    });

    it('fails closed, saying so, when the API server does not answer in time', async () => {
      handler = (_url, res) => void held.push(res);
      const err = await bounded.listIdentityProviders().then(() => undefined, (e: unknown) => e);
      expect(err).to.be.instanceOf(LookupError);
      expect((err as Error).message).to.match(/identityproviders.* timed out after 300 ms/);
    });

    it('gives the lookups of one review one time limit together, not one each', async () => {
      // Each list answers after 200 ms: the first of a review fits in its 300 ms, the second not.
      handler = (_url, res) => void setTimeout(() => send(res, 200, { items: [], metadata: {} }), 200);
      const review = bounded.forReview();
      expect(await review.listIdentityProviders()).to.deep.equal([]);
      const err = await review.listEscalations().then(() => undefined, (e: unknown) => e);
      expect((err as Error).message).to.match(/breakglassescalations.* timed out after \d+ ms/);
      // A new review has its own limit again.
      expect(await bounded.forReview().listEscalations()).to.deep.equal([]);
    });

    it('does not sleep past the deadline on a Retry-After', async () => {
      handler = (_url, res) => {
        res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '1' });
        res.end(JSON.stringify(status(429, 'too many requests')));
      };
      const err = await bounded.namespacesWithName('ClusterConfig', 'x').then(() => undefined, (e: unknown) => e);
      expect((err as Error).message).to.match(/timed out after 300 ms/);
      expect(requests).to.have.length(1);
    });
  });
});
