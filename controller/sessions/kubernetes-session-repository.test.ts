import { expect } from 'chai';
import type { BreakglassSession } from '../../crds/index.ts';
import { RequestTimeoutError } from '../kube/request-options.ts';
import { eventually, startSilentServer, type SilentServer } from '../kube/silent-server.ts';
import { silentLogger } from '../observability/logger.ts';
import { KubernetesSessionRepository } from './kubernetes-session-repository.ts';

const session: BreakglassSession = {
  metadata: { name: 's', namespace: 'ns', uid: 'u', resourceVersion: '7' },
  spec: { cluster: 'prod', user: 'a@example.com', grantedGroup: 'admins' },
  status: { state: 'Pending' },
};

describe('KubernetesSessionRepository requests', () => {
  let silent: SilentServer;
  before(async () => (silent = await startSilentServer()));
  after(() => silent.stop());

  it('bounds every live read, status write and delete by the request timeout', async () => {
    const repository = new KubernetesSessionRepository(silent.kubeConfig, { logger: silentLogger(), requestTimeoutMs: 200 });
    const closedBefore = silent.closed();
    const requests: [string, () => Promise<unknown>][] = [
      ['GET session ns/s', () => repository.getLive('ns', 's')],
      ['PUT session ns/s status', () => repository.writeStatus(session, { state: 'Withdrawn' }, '7')],
      ['DELETE session ns/s', () => repository.delete('ns', 's', { uid: 'u', resourceVersion: '7' })],
    ];
    for (const [what, request] of requests) {
      let error: unknown;
      await request().catch((err) => (error = err));
      expect(error, what).to.be.instanceOf(RequestTimeoutError);
      expect((error as Error).message).to.equal(`${what} timed out after 200 ms`);
    }
    await eventually(() => silent.closed() >= closedBefore + 3, 'the timed-out connections to close');
  });

  it("a request ends as soon as the caller's signal aborts", async () => {
    const repository = new KubernetesSessionRepository(silent.kubeConfig, { logger: silentLogger() });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('term ended')), 50);
    let error: unknown;
    await repository.getLive('ns', 's', controller.signal).catch((err) => (error = err));
    expect((error as Error).message).to.equal('term ended');
  });
});
