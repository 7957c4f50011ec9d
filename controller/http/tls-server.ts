/**
 * An HTTPS server whose serving certificate and key are read from files and reloaded when they
 * change: the admission webhooks (port 9443) and the authorization webhook's TLS listener for
 * spokes that authenticate with a client certificate (--sar-tls-*). The serving certificate and key are
 * read from files and reloaded when they change: Kubernetes Secret volumes (cert-manager) swap a
 * `..data` symlink, which fs.watch on the directory notices; a periodic stat catches what the
 * watcher misses (some volume types and editors do not emit events).
 */
import { watch, type FSWatcher } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { constants } from 'node:crypto';
import type { RequestListener } from 'node:http';
import { createServer } from 'node:https';
import { resolve } from 'node:path';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import { ClosingAwareListener, closeGracefully, KEEP_ALIVE_TIMEOUT_MS, listenOn } from './listen.ts';
import type { Logger } from '../observability/logger.ts';

export interface TlsServerOptions {
  /** What the server is for, in errors and as the log field `purpose`. @default 'admission webhook' */
  purpose?: string;
  /**
   * Ask every client for a certificate without requiring one or verifying it here: which CA a
   * client must chain to depends on the request (the ClusterConfig in the URL), so the handler
   * verifies `getPeerCertificate()` itself. @default false
   */
  requestClientCertificate?: boolean;
  /** `host:port`; an empty host (`:9443`) listens on all interfaces; port 0 picks a free port. */
  bindAddress: string;
  certDir: string;
  /** File name inside certDir (or an absolute path), e.g. `tls.crt`. */
  certFile: string;
  /** File name inside certDir (or an absolute path), e.g. `tls.key`. */
  keyFile: string;
  /** The request handler, e.g. a Koa app's `callback()`. */
  listener: RequestListener;
  logger: Logger;
  /** Interval of the stat fallback. @default 10000 */
  certPollIntervalMs?: number;
}

export interface TlsServer {
  port: number;
  close(): Promise<void>;
}

const TLS_MIN_VERSION = 'TLSv1.2';
// The API server gives a webhook at most 30s; a request taking longer is abandoned anyway.
const REQUEST_TIMEOUT_MS = 30_000;
const HEADERS_TIMEOUT_MS = 10_000;
const RELOAD_DEBOUNCE_MS = 100;

export async function startTlsServer(options: TlsServerOptions): Promise<TlsServer> {
  const purpose = options.purpose ?? 'admission webhook';
  const logger = options.logger.child({ purpose });
  const certPath = resolve(options.certDir, options.certFile);
  const keyPath = resolve(options.certDir, options.keyFile);

  let material = await readKeyPair(certPath, keyPath, purpose);
  // No session tickets where client certificates count: a resumed TLS session presents only the
  // leaf, without the intermediates the caller sent, so its chain would no longer verify. Part
  // of every secure context, the reloaded ones too: setSecureContext replaces the options.
  const requestCert = options.requestClientCertificate === true;
  const contextOptions = (pair: KeyPair): SecureContextOptions => ({
    cert: pair.cert,
    key: pair.key,
    minVersion: TLS_MIN_VERSION,
    ...(requestCert ? { secureOptions: constants.SSL_OP_NO_TICKET } : {}),
  });
  const closing = new ClosingAwareListener(options.listener);
  const server = createServer(
    { ...contextOptions(material), ...(requestCert ? { requestCert: true, rejectUnauthorized: false } : {}) },
    closing.listener,
  );
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  // Handshake failures and resets from scanners are normal traffic, not server errors.
  server.on('tlsClientError', (err) => logger.debug({ err }, 'tls handshake failed'));

  const boundPort = await listenOn(server, options.bindAddress);
  logger.info({ address: options.bindAddress, port: boundPort, certPath, keyPath }, 'https server listening');

  let reloading: Promise<void> | undefined;
  let reloadAgain = false;
  const reload = async (): Promise<void> => {
    if (reloading) {
      reloadAgain = true;
      return reloading;
    }
    reloading = (async () => {
      do {
        reloadAgain = false;
        await reloadOnce();
      } while (reloadAgain);
    })().finally(() => {
      reloading = undefined;
    });
    return reloading;
  };
  const reloadOnce = async (): Promise<void> => {
    let next: KeyPair;
    try {
      next = await readKeyPair(certPath, keyPath, purpose);
    } catch (err) {
      // Mid-rotation the files may be briefly absent or mismatched; the old pair stays in use.
      logger.warn({ err, certPath, keyPath }, 'tls certificate reload failed');
      return;
    }
    if (next.cert.equals(material.cert) && next.key.equals(material.key)) return;
    try {
      // Validates that key and certificate belong together before the server uses them.
      createSecureContext(contextOptions(next));
      server.setSecureContext(contextOptions(next));
    } catch (err) {
      logger.warn({ err, certPath, keyPath }, 'tls certificate reload failed');
      return;
    }
    material = next;
    logger.info({ certPath, keyPath }, 'tls certificate reloaded');
  };

  let debounce: NodeJS.Timeout | undefined;
  const scheduleReload = (): void => {
    if (debounce) clearTimeout(debounce);
    debounce = setTimeout(() => {
      debounce = undefined;
      void reload();
    }, RELOAD_DEBOUNCE_MS);
    debounce.unref();
  };

  const watchers: FSWatcher[] = [];
  for (const dir of new Set([resolve(options.certDir), dirOf(certPath), dirOf(keyPath)])) {
    try {
      const watcher = watch(dir, { persistent: false }, scheduleReload);
      watcher.on('error', (err) => logger.warn({ err, dir }, 'tls certificate watch failed'));
      watchers.push(watcher);
    } catch (err) {
      logger.warn({ err, dir }, 'tls certificate watch failed');
    }
  }

  let lastStamp = await statStamp(certPath, keyPath);
  const poll = setInterval(() => {
    void statStamp(certPath, keyPath).then((stamp) => {
      if (stamp !== lastStamp) {
        lastStamp = stamp;
        scheduleReload();
      }
    });
  }, options.certPollIntervalMs ?? 10_000);
  poll.unref();

  let closed: Promise<void> | undefined;
  return {
    port: boundPort,
    close() {
      closing.startClosing();
      closed ??= (async () => {
        clearInterval(poll);
        if (debounce) clearTimeout(debounce);
        for (const watcher of watchers) watcher.close();
        await closeGracefully(server);
        await reloading;
      })();
      return closed;
    },
  };
}

interface KeyPair {
  cert: Buffer;
  key: Buffer;
}

async function readKeyPair(certPath: string, keyPath: string, purpose: string): Promise<KeyPair> {
  const [cert, key] = await Promise.all([
    readFile(certPath).catch((err: NodeJS.ErrnoException) => {
      throw new Error(`${purpose} certificate ${certPath} cannot be read: ${err.code ?? err.message}`);
    }),
    readFile(keyPath).catch((err: NodeJS.ErrnoException) => {
      throw new Error(`${purpose} key ${keyPath} cannot be read: ${err.code ?? err.message}`);
    }),
  ]);
  return { cert, key };
}

/** mtime, size and inode of both files (stat follows the Secret volume's symlinks). */
async function statStamp(certPath: string, keyPath: string): Promise<string> {
  const parts = await Promise.all(
    [certPath, keyPath].map((path) =>
      stat(path).then(
        (s) => `${s.ino}:${s.size}:${s.mtimeMs}`,
        () => 'missing',
      ),
    ),
  );
  return parts.join('|');
}


function dirOf(path: string): string {
  return resolve(path, '..');
}
