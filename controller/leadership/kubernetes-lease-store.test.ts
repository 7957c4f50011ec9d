import { expect } from 'chai';
import { KubeConfig } from '@kubernetes/client-node';
import { freePort } from '../../e2e/controlplane/controlplane.ts';
import { capturingLogger } from '../kube/capturing-logger.ts';
import { KubernetesLeaseStore, WATCH_FAILURES_BEFORE_WARN } from './kubernetes-lease-store.ts';


async function eventually(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('KubernetesLeaseStore watch', () => {
  it('logs a watch that keeps failing at warn, the first failures at debug', async () => {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'down', server: `https://127.0.0.1:${await freePort()}`, skipTLSVerify: true }],
      users: [{ name: 'u', token: 'x' }],
      contexts: [{ name: 'down', cluster: 'down', user: 'u' }],
      currentContext: 'down',
    });
    const { logger, records } = capturingLogger();
    const store = new KubernetesLeaseStore(kc, { namespace: 'ns', name: 'lease', logger });
    const stop = new AbortController();
    store.watch(() => {}, stop.signal);
    try {
      const ended = () => records.filter((r) => r.msg === 'lease watch ended; restarting');
      await eventually(() => ended().length >= WATCH_FAILURES_BEFORE_WARN, 'repeated watch failures');
      expect(ended().map((r) => r.level)).to.deep.equal(['debug', 'debug', 'warn']);
      expect(ended()[2]).to.include({ failuresInARow: 3, lease: 'ns/lease' });
    } finally {
      stop.abort();
    }
  });
});
