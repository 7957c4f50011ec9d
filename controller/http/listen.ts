/**
 * Binding Koa apps (or any request listener) to "[host]:port" addresses, with the timeouts a
 * production server needs and a close() that does not wait for idle keep-alive connections.
 */
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ListeningServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Splits ":8080" / "0.0.0.0:8080" / "127.0.0.1:0" into host and port. */
export function parseBindAddress(address: string): { host: string | undefined; port: number } {
  const match = /^(.*):(\d{1,5})$/.exec(address);
  if (!match) throw new Error(`invalid bind address "${address}"`);
  const host = match[1] === '' ? undefined : (match[1] as string).replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(match[2]) };
}

export function listen(listener: RequestListener, address: string): Promise<ListeningServer> {
  const server: Server = createServer(listener);
  server.requestTimeout = 60_000;
  server.headersTimeout = 20_000;
  server.keepAliveTimeout = 5_000;
  const { host, port } = parseBindAddress(address);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeIdleConnections();
          }),
      });
    });
  });
}
