/**
 * A TCP proxy in front of the API server, so a test can cut one replica off the API server
 * (a network partition) without touching the others. While partitioned, existing connections
 * are dropped and new ones are accepted but black-holed, the way a broken network behaves:
 * requests hang until the client's own timeout. A delay makes the API server slow instead: every
 * byte a client sends reaches the server that much later (a congested link or an overloaded
 * server, as a request's client sees it).
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export class TcpProxy {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private partitioned = false;
  private delayMs = 0;
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {
    this.server = createServer((client) => this.accept(client));
  }

  static forUrl(url: string): TcpProxy {
    const u = new URL(url);
    return new TcpProxy(u.hostname, Number(u.port || (u.protocol === 'https:' ? 443 : 80)));
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
    return this;
  }

  /** The URL clients should use instead of the target. */
  url(scheme = 'https'): string {
    return `${scheme}://127.0.0.1:${this.port}`;
  }

  partition(): void {
    this.partitioned = true;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  heal(): void {
    this.partitioned = false;
    this.delayMs = 0;
  }

  /** From now on, forwards what clients send only after `ms` (0: at once again). */
  delay(ms: number): void {
    this.delayMs = ms;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    this.sockets.add(client);
    client.on('close', () => this.sockets.delete(client));
    client.on('error', () => client.destroy());
    if (this.partitioned) return; // black hole: keep the socket open, forward nothing
    const upstream = connect(this.targetPort, this.targetHost);
    this.sockets.add(upstream);
    upstream.on('close', () => {
      this.sockets.delete(upstream);
      client.destroy();
    });
    upstream.on('error', () => upstream.destroy());
    client.on('close', () => upstream.destroy());
    // Chunks go through one queue per connection, each due `delayMs` after it arrived, so they
    // stay in order even when the delay changes while data flows.
    let queue = Promise.resolve();
    const forward = (send: () => void) => {
      const due = Date.now() + this.delayMs;
      queue = queue.then(() => (due > Date.now() ? new Promise((resolve) => setTimeout(resolve, due - Date.now())) : undefined)).then(() => {
        if (!upstream.destroyed) send();
      });
    };
    client.on('data', (chunk: Buffer) => forward(() => upstream.write(chunk)));
    client.on('end', () => forward(() => upstream.end()));
    upstream.pipe(client);
  }
}
