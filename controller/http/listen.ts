/**
 * Binding Koa apps (or any request listener) to "[host]:port" addresses, with the timeouts a
 * production server needs and a close() that does not wait for idle keep-alive connections.
 */
import { createServer, type RequestListener, type Server } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { parseBindAddress } from '../bind-address.ts';

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
  server.keepAliveTimeout = 5_000;
  return listenOn(server, address).then((port) => ({
    port,
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        server.closeIdleConnections();
      }),
  }));
}
