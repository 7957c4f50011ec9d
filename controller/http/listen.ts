/**
 * Binding Koa apps (or any request listener) to "[host]:port" addresses, with the timeouts a
 * production server needs and a close() that does not wait for idle keep-alive connections.
 */
import { createServer, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { parseBindAddress } from '../bind-address.ts';

/**
 * How long an idle keep-alive connection stays open. Node's 5 s default makes a client that keeps
 * connections longer (a spoke API server's webhook client, a load balancer: typically 60-90 s)
 * open a new connection after every pause and, when its request crosses our close, see a reset:
 * for a SubjectAccessReview that is a failed call, which the spoke's failurePolicy turns into a
 * denial. Longer than the usual 60 s load balancer idle timeout; a closing server ends its
 * connections itself (closeGracefully).
 */
export const KEEP_ALIVE_TIMEOUT_MS = 65_000;

/** How often a closing server looks for connections that have become idle. */
const CLOSE_POLL_MS = 50;

/**
 * A request listener whose responses say `Connection: close` once the server is closing (also
 * those already in progress whose headers are not sent yet): Node's server.close() ends only the
 * connections idle at that instant, and a busy keep-alive connection would otherwise stay open
 * until the keep-alive timeout.
 */
export class ClosingAwareListener {
  private closing = false;
  private readonly active = new Set<ServerResponse>();

  constructor(private readonly inner: RequestListener) {}

  readonly listener: RequestListener = (req, res) => {
    if (this.closing) res.shouldKeepAlive = false;
    else {
      this.active.add(res);
      res.once('close', () => this.active.delete(res));
    }
    this.inner(req, res);
  };

  /** From now on every response ends its connection. */
  startClosing(): void {
    this.closing = true;
    for (const res of this.active) if (!res.headersSent) res.shouldKeepAlive = false;
    this.active.clear();
  }
}

/**
 * Stops accepting, ends idle connections now and each one as soon as its last response is sent
 * (with ClosingAwareListener, responses say `Connection: close`); resolves when all are gone.
 */
export function closeGracefully(server: Server | HttpsServer): Promise<void> {
  return new Promise<void>((done) => {
    const poll = setInterval(() => server.closeIdleConnections(), CLOSE_POLL_MS);
    server.close(() => {
      clearInterval(poll);
      done();
    });
    server.closeIdleConnections();
  });
}

export interface ListeningServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Starts `server` listening on a bind address; resolves with the bound port. */
export function listenOn(server: Server | HttpsServer, address: string): Promise<number> {
  const { host, port } = parseBindAddress(address);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

export function listen(listener: RequestListener, address: string): Promise<ListeningServer> {
  const closing = new ClosingAwareListener(listener);
  const server: Server = createServer(closing.listener);
  server.requestTimeout = 60_000;
  server.headersTimeout = 20_000;
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  return listenOn(server, address).then((port) => ({
    port,
    close: () => {
      closing.startClosing();
      return closeGracefully(server);
    },
  }));
}
