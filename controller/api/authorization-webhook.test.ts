import { expect } from 'chai';
import { KubeConfig } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import type { BreakglassEscalation, BreakglassSession, ClusterConfig } from '../../crds/index.ts';
import { createApiApp } from '../http/api-app.ts';
import { listen, type ListeningServer } from '../http/listen.ts';
import type { CacheChange } from '../kube/restarting-informer.ts';
import { silentLogger } from '../observability/logger.ts';
import { capturingLogger } from '../kube/capturing-logger.ts';
import type { ChangeSource } from '../authorization/webhook-caches.ts';
import { createAuthorizationWebhook } from './authorization-webhook.ts';
import { withWebhook } from './authorization-webhook-handler.ts';

class Source<T> implements ChangeSource<T> {
  synced = false;
  items: T[] = [];
  subscribers = 0;
  private readonly listeners: ((change: CacheChange<T>) => void)[] = [];
  hasSynced = () => this.synced;
  list = (): readonly T[] => this.items;
  subscribe(listener: (change: CacheChange<T>) => void): () => void {
    this.subscribers++;
    this.listeners.push(listener);
    return () => {};
  }
  reset(items: T[]): void {
    this.items = items;
    this.synced = true;
    for (const l of this.listeners) l({ type: 'reset' });
  }
}

describe('authorization webhook wiring', () => {
  let server: ListeningServer | undefined;
  after(() => server?.close());

  it('reads the ClusterConfig and escalation caches it is given and watches only DenyPolicies itself', async () => {
    const kc = new KubeConfig();
    // Never contacted: the components are not started in this test.
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: 'https://127.0.0.1:1' }],
      users: [{ name: 'u', token: 't' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    const clusterConfigs = new Source<ClusterConfig>();
    const escalations = new Source<BreakglassEscalation>();
    const sessions = new Source<BreakglassSession>();
    sessions.reset([]);
    const log = capturingLogger('info');
    const webhook = createAuthorizationWebhook({
      kubeConfig: kc,
      logger: log.logger,
      registry: new Registry(),
      sessionCache: sessions,
      sessions: { getLive: async () => undefined, writeStatus: async () => { throw new Error('not in this test'); } },
      clusterConfigs,
      escalations,
    });
    // One cache per kind and replica: the shared kinds are the API's components, not the webhook's.
    expect(webhook.components.map((c) => c.name)).to.deep.equal(['deny-policies', 'webhook-activity']);
    expect(clusterConfigs.subscribers).to.be.greaterThan(0);
    expect(escalations.subscribers).to.be.greaterThan(0);

    server = await listen(withWebhook(webhook.handler, createApiApp({ logger: silentLogger(), version: 't' }).callback()), '127.0.0.1:0');
    const post = (cluster: string) =>
      fetch(`http://127.0.0.1:${server?.port}/api/breakglass/webhook/authorize/${cluster}`, {
        method: 'POST',
        headers: { authorization: 'Bearer x', 'content-type': 'application/json' },
        body: '{}',
      });
    // The given ClusterConfig cache has not synced: fail closed.
    expect((await post('spoke')).status).to.equal(500);
    // Once it has, its contents decide who may ask.
    clusterConfigs.reset([{ metadata: { name: 'spoke', namespace: 'breakglass', uid: 'c1' }, spec: {} }]);
    expect((await post('spoke')).status).to.equal(401);
    expect((await post('elsewhere')).status).to.equal(401);
    const reasons = log.records.filter((r) => r.msg === 'sar_unauthenticated').map((r) => `${r.cluster}: ${r.reason}`);
    expect(reasons).to.deep.equal(['spoke: ClusterConfig spoke configures no webhook caller authentication', 'elsewhere: no ClusterConfig of this name']);
  });
});
