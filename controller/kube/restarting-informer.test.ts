import { expect } from 'chai';
import { createServer, type Server } from 'node:http';
import { KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import { capturingLogger } from './capturing-logger.ts';
import { RestartingInformer } from './restarting-informer.ts';
import { eventually } from './silent-server.ts';

describe('RestartingInformer', () => {
  it('treats credentials that cannot be applied as a failure: logs it and retries, no unhandled rejection', async () => {
    // The list succeeds (it is ours), but client-node's watch must read the client certificate
    // file, which does not exist: informer.start() itself rejects.
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromOptions({
      clusters: [{ name: 'c', server: 'https://127.0.0.1:1', skipTLSVerify: true }],
      users: [{ name: 'u', certFile: '/nonexistent/breakglass/client.crt', keyFile: '/nonexistent/breakglass/client.key' }],
      contexts: [{ name: 'c', cluster: 'c', user: 'u' }],
      currentContext: 'c',
    });
    let lists = 0;
    const list = async (): Promise<KubernetesListObject<KubernetesObject>> => {
      lists++;
      return { apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '1' }, items: [] };
    };
    const { logger, records } = capturingLogger();
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    const stop = new AbortController();
    const informer = new RestartingInformer({ kubeConfig, path: '/api/v1/pods', list, logger, initialBackoffMs: 20, maxBackoffMs: 40 });
    try {
      informer.start(stop.signal);
      await eventually(() => lists >= 3, 'the informer to retry');
      const failures = records.filter((r) => r.msg === 'informer list/watch failed; retrying');
      expect(failures.length).to.be.at.least(2);
      expect(failures[0]).to.include({ level: 'warn', path: '/api/v1/pods' });
      expect(failures[0]?.err).to.contain('ENOENT');
      expect(informer.hasSynced()).to.equal(false);
    } finally {
      stop.abort();
      await new Promise((resolve) => setTimeout(resolve, 50));
      process.off('unhandledRejection', onUnhandled);
    }
    expect(unhandled).to.deep.equal([]);
  });

  it('a watch that cannot be re-established after a normal end is a reported failure, not an unhandled rejection', async () => {
    // Every watch request is answered with an empty 200 that ends at once (a normal end, as
    // after the server's timeout); client-node then re-watches on its own, and this time the
    // credentials fail to apply.
    let watches = 0;
    const server: Server = createServer((_req, res) => {
      watches++;
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    class CredentialsFailLater extends KubeConfig {
      applications = 0;
      override async applyToFetchOptions(...args: Parameters<KubeConfig['applyToFetchOptions']>) {
        if (++this.applications > 1) throw new Error('credential plugin failed');
        return super.applyToFetchOptions(...args);
      }
    }
    const kubeConfig = new CredentialsFailLater();
    kubeConfig.loadFromOptions({
      clusters: [{ name: 'c', server: `http://127.0.0.1:${(server.address() as { port: number }).port}`, skipTLSVerify: true }],
      users: [{ name: 'u', token: 't' }],
      contexts: [{ name: 'c', cluster: 'c', user: 'u' }],
      currentContext: 'c',
    });
    const list = async (): Promise<KubernetesListObject<KubernetesObject>> => ({
      apiVersion: 'v1',
      kind: 'List',
      metadata: { resourceVersion: '1' },
      items: [],
    });
    const { logger, records } = capturingLogger();
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    const stop = new AbortController();
    const informer = new RestartingInformer({ kubeConfig, path: '/api/v1/pods', list, logger, initialBackoffMs: 20, maxBackoffMs: 40 });
    try {
      informer.start(stop.signal);
      await eventually(
        () => records.some((r) => r.msg === 'informer watch failed; restarting'),
        'the failed re-watch to be reported',
      );
      expect(records.find((r) => r.msg === 'informer watch failed; restarting')).to.include({
        level: 'warn',
        err: 'credential plugin failed',
      });
      expect(watches).to.equal(1);
      expect(informer.hasSynced()).to.equal(true);
    } finally {
      stop.abort();
      await new Promise((resolve) => setTimeout(resolve, 50));
      process.off('unhandledRejection', onUnhandled);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    expect(unhandled).to.deep.equal([]);
  });
});
