import { createServer, type IncomingMessage, type Server } from 'node:http';
import { expect } from 'chai';
import { KubeConfig, type V1Lease } from '@kubernetes/client-node';
import { freePort } from '../../e2e/controlplane/controlplane.ts';
import { capturingLogger } from '../kube/capturing-logger.ts';
import { KubernetesLeaseStore, WATCH_FAILURES_BEFORE_WARN } from './kubernetes-lease-store.ts';
import { ConflictError } from '../kube/errors.ts';


async function eventually(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('KubernetesLeaseStore watch', () => {
  it('logs a watch that keeps failing at warn, the first failures at debug', async () => {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'down', server: `https://127.0.0.1:${await freePort()}`, skipTLSVerify: true }],
      users: [{ name: 'u', token: 'x' }],
      contexts: [{ name: 'down', cluster: 'down', user: 'u' }],
      currentContext: 'down',
    });
    const { logger, records } = capturingLogger();
    const store = new KubernetesLeaseStore(kc, { namespace: 'ns', name: 'lease', logger });
    const stop = new AbortController();
    store.watch(() => {}, stop.signal);
    try {
      const ended = () => records.filter((r) => r.msg === 'lease watch ended; restarting');
      await eventually(() => ended().length >= WATCH_FAILURES_BEFORE_WARN, 'repeated watch failures');
      expect(ended().map((r) => r.level)).to.deep.equal(['debug', 'debug', 'warn']);
      expect(ended()[2]).to.include({ failuresInARow: 3, lease: 'ns/lease' });
    } finally {
      stop.abort();
    }
  });
});

/**
 * A loopback API server for one Lease with the API server's PUT semantics: the body replaces the
 * stored object (metadata included), only at the stored resourceVersion.
 */
class FakeLeaseServer {
  lease: V1Lease | undefined;
  readonly puts: V1Lease[] = [];
  private version = 1;
  private server: Server | undefined;

  async start(): Promise<KubeConfig> {
    this.server = createServer((req, res) => {
      void this.handle(req).then(({ code, body }) => {
        res.writeHead(code, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'fake', server: `http://127.0.0.1:${(this.server.address() as { port: number }).port}`, skipTLSVerify: true }],
      users: [{ name: 'u', token: 'x' }],
      contexts: [{ name: 'fake', cluster: 'fake', user: 'u' }],
      currentContext: 'fake',
    });
    return kc;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** A write by someone else: changes the stored object and bumps its resourceVersion. */
  modify(change: (lease: V1Lease) => void): string {
    if (!this.lease) throw new Error('no lease');
    change(this.lease);
    this.lease.metadata = { ...this.lease.metadata, resourceVersion: String(++this.version) };
    return this.lease.metadata.resourceVersion ?? '';
  }

  private async handle(req: IncomingMessage): Promise<{ code: number; body: unknown }> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = chunks.length > 0 ? (JSON.parse(Buffer.concat(chunks).toString()) as V1Lease) : undefined;
    const status = (code: number, reason: string) => ({ code, body: { kind: 'Status', code, reason, message: reason } });
    if (req.method === 'GET') return this.lease ? { code: 200, body: this.lease } : status(404, 'NotFound');
    if (req.method === 'POST' && body) {
      if (this.lease) return status(409, 'AlreadyExists');
      this.lease = { ...body, metadata: { ...body.metadata, resourceVersion: String(++this.version) } };
      return { code: 201, body: this.lease };
    }
    if (req.method === 'PUT' && body) {
      this.puts.push(structuredClone(body));
      if (!this.lease) return status(404, 'NotFound');
      if (body.metadata?.resourceVersion !== this.lease.metadata?.resourceVersion) return status(409, 'Conflict');
      this.lease = { ...body, metadata: { ...body.metadata, resourceVersion: String(++this.version) } };
      return { code: 200, body: this.lease };
    }
    return status(405, 'MethodNotAllowed');
  }
}

describe('KubernetesLeaseStore update', () => {
  let fake: FakeLeaseServer;
  let kc: KubeConfig;
  beforeEach(async () => {
    fake = new FakeLeaseServer();
    kc = await fake.start();
  });
  afterEach(() => fake.stop());

  const record = (holder: string) => ({
    holderIdentity: holder,
    leaseDurationSeconds: 15,
    acquireTime: new Date('2030-01-01T00:00:00Z'),
    renewTime: new Date('2030-01-01T00:00:01Z'),
    leaseTransitions: 0,
  });

  it('writes from the stored object when the resourceVersion is newer than its last read (labels, annotations, owners kept)', async () => {
    const store = new KubernetesLeaseStore(kc, { namespace: 'ns', name: 'lease', labels: { app: 'breakglass' } });
    await store.create(record('a'));
    const owner = { apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: 'u-1' };
    // Seen only through the watch: the store's last read is older.
    const version = fake.modify((lease) => {
      lease.metadata = { ...lease.metadata, annotations: { team: 'platform' }, ownerReferences: [owner] };
    });
    await store.update(record('a'), version);
    const put = fake.puts.at(-1);
    expect(put?.metadata).to.include({ name: 'lease', namespace: 'ns', resourceVersion: version });
    expect(put?.metadata?.labels).to.deep.equal({ app: 'breakglass' });
    expect(put?.metadata?.annotations).to.deep.equal({ team: 'platform' });
    expect(put?.metadata?.ownerReferences).to.deep.equal([owner]);
    expect(fake.lease?.spec?.holderIdentity).to.equal('a');
  });

  it('refuses, without a write, an update at a version it never read that is no longer the stored one', async () => {
    const store = new KubernetesLeaseStore(kc, { namespace: 'ns', name: 'lease' });
    await store.create(record('a'));
    const seenInWatch = fake.modify(() => {});
    fake.modify(() => {});
    let error: unknown;
    await store.update(record('b'), seenInWatch).catch((err) => (error = err));
    expect(error).to.be.instanceOf(ConflictError);
    expect(fake.puts, 'PUT requests').to.deep.equal([]);
    expect(fake.lease?.spec?.holderIdentity).to.equal('a');
  });
});
