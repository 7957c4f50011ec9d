/**
 * Binding Koa apps (or any request listener) to "[host]:port" addresses, with the timeouts a
 * production server needs and a close() that does not wait for idle keep-alive connections.
 */
import { createServer, type RequestListener, type Server } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { parseBindAddress } from '../bind-address.ts';

/**
 * How long an idle keep-alive connection stays open. Node's 5 s default makes a client that keeps
 * connections longer (a spoke API server's webhook client, a load balancer: typically 60-90 s)
 * open a new connection after every pause and, when its request crosses our close, see a reset:
 * for a SubjectAccessReview that is a failed call, which the spoke's failurePolicy turns into a
 * denial. Longer than the usual 60 s load balancer idle timeout; close() still drops idle ones at once.
 */
export const KEEP_ALIVE_TIMEOUT_MS = 65_000;

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
  const server: Server = createServer(listener);
  server.requestTimeout = 60_000;
  server.headersTimeout = 20_000;
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  return listenOn(server, address).then((port) => ({
    port,
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        server.closeIdleConnections();
      }),
  }));
}
