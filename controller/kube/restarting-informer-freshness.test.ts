import { expect } from 'chai';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import { ControllerMetrics } from '../observability/metrics.ts';
import { LAST_APPLIED_ANNOTATION } from './cache-transform.ts';
import { capturingLogger } from './capturing-logger.ts';
import { RestartingInformer, type ListPage, type RestartingInformerOptions } from './restarting-informer.ts';
import { eventually, startSilentServer } from './silent-server.ts';

/** A fake API server for watches only (lists come from the test's list function). */
class WatchServer {
  private readonly server: Server;
  /** What the next watch request does: 'hang' sends nothing at all, 'open' sends headers only. */
  mode: 'hang' | 'open' = 'open';
  readonly open = new Set<ServerResponse>();
  watches = 0;

  constructor() {
    this.server = createServer((req: IncomingMessage, res: ServerResponse) => {
      this.watches++;
      req.socket.on('error', () => {});
      if (this.mode === 'hang') return;
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.flushHeaders();
      this.open.add(res);
      res.on('close', () => this.open.delete(res));
    });
  }

  async start(): Promise<KubeConfig> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromOptions({
      clusters: [{ name: 'c', server: `http://127.0.0.1:${(this.server.address() as { port: number }).port}`, skipTLSVerify: true }],
      users: [{ name: 'u', token: 't' }],
      contexts: [{ name: 'c', cluster: 'c', user: 'u' }],
      currentContext: 'c',
    });
    return kubeConfig;
  }

  /** Sends one watch event on every open watch. */
  send(type: string, object: KubernetesObject): void {
    for (const res of this.open) res.write(JSON.stringify({ type, object }) + '\n');
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function pod(name: string, resourceVersion: string): KubernetesObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'ns',
      resourceVersion,
      annotations: { [LAST_APPLIED_ANNOTATION]: '{"big":"copy"}', keep: 'me' },
      managedFields: [{ manager: 'kubectl', operation: 'Update', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': {} } }],
    },
  } as KubernetesObject;
}

const list = (items: KubernetesObject[]) => async (): Promise<KubernetesListObject<KubernetesObject>> => ({
  apiVersion: 'v1',
  kind: 'List',
  metadata: { resourceVersion: '10' },
  items: items.map((item) => structuredClone(item)),
});

describe('RestartingInformer freshness and bounds', () => {
  let stop: AbortController;
  beforeEach(() => (stop = new AbortController()));
  /** Servers of watchingPods, stopped after each test even when its setup failed. */
  const servers: WatchServer[] = [];
  afterEach(async () => {
    stop.abort();
    await new Promise((resolve) => setTimeout(resolve, 50));
    await Promise.all(servers.splice(0).map((server) => server.stop()));
  });

  /** A pods informer (pod a listed) against a WatchServer, synced and with its watch open. */
  async function watchingPods(options: Partial<RestartingInformerOptions<KubernetesObject>> = {}) {
    const server = new WatchServer();
    servers.push(server);
    const kubeConfig = await server.start();
    const { logger, records } = capturingLogger();
    const informer = new RestartingInformer({ kubeConfig, path: '/api/v1/pods', logger, list: list([pod('a', '1')]), ...options });
    informer.start(stop.signal);
    await informer.whenSynced();
    await eventually(() => server.open.size === 1, 'the watch to be open');
    return { server, informer, records };
  }

  it('fails a watch whose response never starts, closes its connection, and never reports synced', async () => {
    const silent = await startSilentServer();
    const { logger, records } = capturingLogger();
    const informer = new RestartingInformer({
      kubeConfig: silent.kubeConfig, path: '/api/v1/pods', list: list([]), logger,
      watchStartTimeoutMs: 200, initialBackoffMs: 20, maxBackoffMs: 40,
    });
    try {
      informer.start(stop.signal);
      await eventually(() => records.filter((r) => r.msg === 'informer list/watch failed; retrying').length >= 2, 'two failed watch starts', 5000);
      const failure = records.find((r) => r.msg === 'informer list/watch failed; retrying');
      expect(failure?.err).to.equal('WATCH /api/v1/pods timed out after 200 ms');
      // The hung request's socket is closed, not leaked.
      await eventually(() => silent.closed() >= 1, 'the hung watch connection to be closed', 5000);
      expect(informer.hasSynced()).to.equal(false);
      expect(informer.notReadyReason()).to.equal('cache not synced');
    } finally {
      stop.abort();
      await silent.stop();
    }
  });

  it('bounds every list page: a list that never returns is a failure that is retried', async () => {
    const server = new WatchServer();
    const kubeConfig = await server.start();
    const { logger, records } = capturingLogger();
    let lists = 0;
    let aborted = 0;
    const hangingList = (page: ListPage): Promise<KubernetesListObject<KubernetesObject>> => {
      lists++;
      // Like client-node with the page's config: the request ends when its signal aborts.
      captureSignal(page)?.addEventListener('abort', () => aborted++);
      return hang(page);
    };
    const informer = new RestartingInformer({
      kubeConfig, path: '/api/v1/pods', list: hangingList, logger, listTimeoutMs: 150, initialBackoffMs: 20, maxBackoffMs: 40,
    });
    try {
      informer.start(stop.signal);
      await eventually(() => lists >= 2, 'the list to be retried', 5000);
      expect(records.find((r) => r.msg === 'informer list/watch failed; retrying')?.err).to.equal('LIST /api/v1/pods page 1 timed out after 150 ms');
      expect(aborted).to.be.at.least(1);
      expect(server.watches).to.equal(0);
      expect(informer.hasSynced()).to.equal(false);
    } finally {
      stop.abort();
      await server.stop();
    }
  });

  it('a synced cache whose watch falls silent turns stale (hasSynced false, readiness reason, metric) and is relisted until it recovers', async () => {
    const server = new WatchServer();
    const kubeConfig = await server.start();
    const { logger, records } = capturingLogger();
    const metrics = new ControllerMetrics({ defaultMetrics: false });
    let items = [pod('a', '1')];
    let lists = 0;
    let listHangs = false;
    const informer = new RestartingInformer({
      kubeConfig, path: '/api/v1/pods', name: 'pods', metrics, logger,
      list: (page) => (lists++, listHangs ? hang(page) : list(items)()),
      maxCacheAgeMs: 600, silenceLimitMs: 300, listTimeoutMs: 150, watchStartTimeoutMs: 150, initialBackoffMs: 20, maxBackoffMs: 40,
    });
    try {
      informer.start(stop.signal);
      await informer.whenSynced();
      expect(informer.list().map((p) => p.metadata?.name)).to.deep.equal(['a']);
      // From now on the open watch stays silent and lists are never answered.
      listHangs = true;
      await eventually(() => records.some((r) => r.msg === 'informer watch failed; restarting'), 'the silent cache to be restarted', 5000);
      expect(records.find((r) => r.msg === 'informer watch failed; restarting')?.err).to.match(/^no event, watch or list for \d+ ms$/);
      await eventually(() => !informer.hasSynced(), 'the cache to turn stale', 5000);
      expect(informer.notReadyReason()).to.match(/^cache is stale: no event, watch or list for \d+s \(limit 1s\)$/);
      const age = (await metrics.registry.getSingleMetric('breakglass_informer_cache_age_seconds')?.get())?.values;
      expect(age?.[0]?.labels).to.deep.equal({ informer: 'pods' });
      expect(age?.[0]?.value).to.be.greaterThan(0.6);
      // Stale reads keep being served meanwhile.
      expect(informer.list().map((p) => p.metadata?.name)).to.deep.equal(['a']);
      // The server answers again: a fresh list brings the new object and the cache is fresh.
      items = [pod('a', '1'), pod('b', '2')];
      const listsBefore = lists;
      let resolved = false;
      void informer.whenSynced().then(() => (resolved = true));
      listHangs = false;
      await eventually(() => informer.hasSynced() && resolved, 'the cache to recover', 5000);
      expect(lists).to.be.greaterThan(listsBefore);
      expect(informer.list().map((p) => p.metadata?.name).sort()).to.deep.equal(['a', 'b']);
    } finally {
      stop.abort();
      await server.stop();
    }
  });

  it('a watch that ends and cannot be re-established fails within the watch start bound', async () => {
    const { server, records } = await watchingPods({ watchStartTimeoutMs: 150, initialBackoffMs: 20, maxBackoffMs: 40 });
    try {
      server.mode = 'hang';
      server.open.forEach((res) => res.end()); // a normal end; client-node re-watches, which hangs
      await eventually(() => records.some((r) => r.msg === 'informer watch failed; restarting'), 'the hung re-watch to be reported', 5000);
      expect(records.find((r) => r.msg === 'informer watch failed; restarting')?.err).to.equal('WATCH /api/v1/pods timed out after 150 ms');
    } finally {
      stop.abort();
      await server.stop();
    }
  });

  it('a quiet but healthy watch stays fresh through its renewals (no relist, hasSynced stays true)', async () => {
    const server = new WatchServer();
    const kubeConfig = await server.start();
    const { logger, records } = capturingLogger();
    let lists = 0;
    const informer = new RestartingInformer({
      kubeConfig, path: '/api/v1/pods', logger, list: async () => (lists++, list([pod('a', '1')])()),
      maxCacheAgeMs: 600, silenceLimitMs: 300,
    });
    try {
      informer.start(stop.signal);
      await informer.whenSynced();
      // The server ends each watch (its timeoutSeconds) every 100 ms; each re-watch is a sign of life.
      const renew = setInterval(() => server.open.forEach((res) => res.end()), 100);
      await new Promise((resolve) => setTimeout(resolve, 900));
      clearInterval(renew);
      expect(informer.hasSynced()).to.equal(true);
      expect(lists).to.equal(1);
      expect(server.watches).to.be.at.least(4);
      expect(records.filter((r) => r.level === 'warn')).to.deep.equal([]);
    } finally {
      stop.abort();
      await server.stop();
    }
  });

  it('a periodic refresh relists, keeps one watch open and serves reads throughout', async () => {
    const server = new WatchServer();
    const kubeConfig = await server.start();
    const { logger, records } = capturingLogger();
    let lists = 0;
    const informer = new RestartingInformer({
      kubeConfig, path: '/api/v1/pods', logger, refreshIntervalMs: 150,
      list: async () => (lists++, list(lists > 2 ? [pod('a', '1'), pod('b', '2')] : [pod('a', '1')])()),
    });
    try {
      informer.start(stop.signal);
      await informer.whenSynced();
      const seen: number[] = [];
      await eventually(() => (seen.push(informer.list().length), lists >= 4), 'three refreshes', 5000);
      expect(Math.min(...seen), 'reads never see an empty cache').to.be.at.least(1);
      expect(informer.get('b', 'ns')).to.not.equal(undefined);
      // The replaced informers' watches are closed: one open watch at a time (plus, briefly, the successor's).
      await eventually(() => server.open.size === 1, 'a single open watch');
      expect(records.filter((r) => r.level === 'warn')).to.deep.equal([]);
    } finally {
      stop.abort();
      await server.stop();
    }
  });

  it('list() shares one frozen array until the cache changes, then lists the change', async () => {
    const { server, informer } = await watchingPods();
    try {
      const first = informer.list();
      expect(informer.list()).to.equal(first);
      expect(Object.isFrozen(first)).to.equal(true);
      server.send('ADDED', pod('b', '11'));
      await eventually(() => informer.list().length === 2, 'the added object to be listed');
      expect(first.map((p) => p.metadata?.name)).to.deep.equal(['a']);
      server.send('MODIFIED', { ...pod('a', '12'), metadata: { ...pod('a', '12').metadata, labels: { changed: 'yes' } } } as KubernetesObject);
      await eventually(() => informer.list().some((p) => p.metadata?.labels?.changed === 'yes'), 'the update to be listed');
      server.send('DELETED', pod('b', '13'));
      await eventually(() => informer.list().length === 1, 'the deleted object to be gone from the list');
      expect(informer.list('ns').map((p) => p.metadata?.name)).to.deep.equal(['a']);
    } finally {
      stop.abort();
      await server.stop();
    }
  });

  it('keeps objects without managedFields and the last-applied annotation, from lists and from watch events', async () => {
    const { server, informer } = await watchingPods();
    try {
      server.send('ADDED', pod('b', '11'));
      await eventually(() => informer.get('b', 'ns') !== undefined, 'the watched object to be cached');
      for (const name of ['a', 'b']) {
        const metadata = informer.get(name, 'ns')?.metadata;
        expect(metadata).to.not.have.property('managedFields');
        expect(metadata?.annotations).to.deep.equal({ keep: 'me' });
        expect(metadata?.resourceVersion).to.be.a('string');
      }
    } finally {
      stop.abort();
      await server.stop();
    }
  });

  it('reads every page of a raw custom object list, whose continue token has the wire name `continue`', async () => {
    const server = new WatchServer();
    const kubeConfig = await server.start();
    const { logger } = capturingLogger();
    const continues: (string | undefined)[] = [];
    // What CustomObjectsApi.list* resolves to: the API server's JSON, untouched.
    const raw = async (page: ListPage): Promise<KubernetesListObject<KubernetesObject>> => {
      continues.push(page.continue);
      const index = page.continue === undefined ? 0 : Number(page.continue);
      const metadata = { resourceVersion: '42', ...(index < 2 ? { continue: String(index + 1) } : {}) };
      return { apiVersion: 'v1', kind: 'List', metadata, items: [pod(`p${index * 2}`, '1'), pod(`p${index * 2 + 1}`, '1')] } as KubernetesListObject<KubernetesObject>;
    };
    const informer = new RestartingInformer({ kubeConfig, path: '/api/v1/pods', logger, list: raw, pageSize: 2 });
    try {
      informer.start(stop.signal);
      await informer.whenSynced();
      expect(continues).to.deep.equal([undefined, '1', '2']);
      expect(informer.list().map((p) => p.metadata?.name).sort()).to.deep.equal(['p0', 'p1', 'p2', 'p3', 'p4', 'p5']);
    } finally {
      stop.abort();
      await server.stop();
    }
  });

  it('reads the list in pages and watches from the first page resourceVersion', async () => {
    const server = new WatchServer();
    const kubeConfig = await server.start();
    const { logger } = capturingLogger();
    const pages: { limit: number; continue: string | undefined }[] = [];
    const paged = async (page: ListPage): Promise<KubernetesListObject<KubernetesObject>> => {
      pages.push({ limit: page.limit, continue: page.continue });
      const index = page.continue === undefined ? 0 : Number(page.continue);
      const items = [pod(`p${index * 2}`, '1'), pod(`p${index * 2 + 1}`, '1')];
      return { apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: index === 0 ? '42' : '99', _continue: index < 2 ? String(index + 1) : undefined }, items };
    };
    const watchQueries: string[] = [];
    const kc = kubeConfig;
    const informer = new RestartingInformer({ kubeConfig: kc, path: '/api/v1/pods', logger, list: paged, pageSize: 2 });
    server['server'].prependListener('request', (req: IncomingMessage) => watchQueries.push(req.url ?? ''));
    try {
      informer.start(stop.signal);
      await informer.whenSynced();
      expect(pages).to.deep.equal([{ limit: 2, continue: undefined }, { limit: 2, continue: '1' }, { limit: 2, continue: '2' }]);
      expect(informer.list().map((p) => p.metadata?.name).sort()).to.deep.equal(['p0', 'p1', 'p2', 'p3', 'p4', 'p5']);
      await eventually(() => watchQueries.length > 0, 'the watch');
      const query = new URL(watchQueries[0] as string, 'http://x').searchParams;
      expect(query.get('resourceVersion')).to.equal('42');
      expect(query.get('allowWatchBookmarks')).to.equal('true');
      expect(query.get('timeoutSeconds')).to.equal('60');
    } finally {
      stop.abort();
      await server.stop();
    }
  });
});

/** A list request that is never answered; it ends (rejects) only when its signal aborts. */
function hang(page: ListPage): Promise<KubernetesListObject<KubernetesObject>> {
  const signal = captureSignal(page);
  return new Promise((_resolve, reject) => signal?.addEventListener('abort', () => reject(signal.reason)));
}

/** The AbortSignal the informer put into the page's client-node configuration. */
function captureSignal(page: ListPage): AbortSignal | undefined {
  let signal: AbortSignal | undefined;
  const context = { setSignal: (s: AbortSignal) => (signal = s) };
  for (const middleware of page.config.middleware ?? []) void middleware.pre(context as never);
  return signal;
}
