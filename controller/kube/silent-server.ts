/**
 * For tests: a loopback TCP server that accepts connections and never answers, and a kubeconfig
 * pointing at it. Only a timeout or an abort ends a request to it; `closed` counts the
 * connections the client gave up.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';

export interface SilentServer {
  kubeConfig: KubeConfig;
  url: string;
  /** Connections closed so far. */
  closed(): number;
  stop(): Promise<void>;
}

export async function startSilentServer(): Promise<SilentServer> {
  const sockets = new Set<Socket>();
  let closed = 0;
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.resume(); // read (and ignore) the TLS ClientHello, so the client's close is noticed
    socket.on('error', () => {});
    socket.on('close', () => {
      closed++;
      sockets.delete(socket);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `https://127.0.0.1:${(server.address() as { port: number }).port}`;
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: 'silent', server: url, skipTLSVerify: true }],
    users: [{ name: 'nobody', token: 'x' }],
    contexts: [{ name: 'silent', cluster: 'silent', user: 'nobody' }],
    currentContext: 'silent',
  });
  return {
    kubeConfig,
    url,
    closed: () => closed,
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Polls `check` until it holds; fails after `timeoutMs`. */
export async function eventually(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
