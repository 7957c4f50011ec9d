/**
 * Fast bulk creation of BreakglassSessions for benchmarks. client-node 1.4 opens a new TLS
 * connection for every request (one agent per request), which makes 20,000 requests take
 * minutes on a busy machine; this sends them over a few kept-alive connections with the
 * kubeconfig's own credentials (https options and headers as client-node computes them).
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { Agent, request, type RequestOptions } from 'node:https';
import { GROUP, VERSION } from '../../crds/index.ts';
import type { SessionSeed } from '../harness/sessions.ts';

export class BulkSessionWriter {
  private constructor(
    private readonly server: URL,
    private readonly options: RequestOptions,
  ) {}

  static async forKubeConfig(kc: KubeConfig, connections: number): Promise<BulkSessionWriter> {
    const server = kc.getCurrentCluster()?.server;
    if (server === undefined) throw new Error('the kubeconfig has no current cluster');
    const opts: RequestOptions = {};
    await kc.applyToHTTPSOptions(opts);
    const agent = new Agent({ keepAlive: true, maxSockets: connections, ca: opts.ca, cert: opts.cert, key: opts.key, rejectUnauthorized: opts.rejectUnauthorized });
    return new BulkSessionWriter(new URL(server), { ...opts, agent });
  }

  /**
   * Creates the session, then writes its status (the status subresource ignores it on create).
   * `metadata` adds labels, ownerReferences and the like to the name.
   */
  async create(namespace: string, seed: SessionSeed, metadata: Record<string, unknown> = {}): Promise<void> {
    const base = `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/breakglasssessions`;
    const object = {
      apiVersion: `${GROUP}/${VERSION}`,
      kind: 'BreakglassSession',
      metadata: { ...metadata, name: seed.name },
      spec: { cluster: 'prod-eu', user: `${seed.name}@example.com`, grantedGroup: 'cluster-admin', ...seed.spec },
    };
    const created = (await this.send('POST', base, object)) as { metadata: Record<string, unknown> };
    await this.send('PUT', `${base}/${seed.name}/status`, { ...object, metadata: created.metadata, status: { state: seed.state, ...seed.status } });
  }

  close(): void {
    (this.options.agent as Agent).destroy();
  }

  private send(method: string, path: string, body: unknown): Promise<unknown> {
    const payload = JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          ...this.options,
          protocol: this.server.protocol,
          hostname: this.server.hostname,
          port: this.server.port,
          method,
          path,
          headers: { ...this.options.headers, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString();
            if ((res.statusCode ?? 0) >= 300) reject(new Error(`${method} ${path}: ${res.statusCode} ${text.slice(0, 300)}`));
            else resolve(JSON.parse(text));
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }
}
