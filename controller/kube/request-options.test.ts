import { expect } from 'chai';
import { VersionApi } from '@kubernetes/client-node';
import { boundedRequest, RequestTimeoutError } from './request-options.ts';
import { eventually, startSilentServer, type SilentServer } from './silent-server.ts';

describe('boundedRequest', () => {
  let silent: SilentServer;
  before(async () => (silent = await startSilentServer()));
  after(() => silent.stop());

  it('ends a request to a server that never answers at its timeout and closes the connection', async () => {
    const api = silent.kubeConfig.makeApiClient(VersionApi);
    const closedBefore = silent.closed();
    let error: unknown;
    await boundedRequest({ what: 'GET /version', timeoutMs: 200 }, (config) => api.getCode({}, config)).catch(
      (err) => (error = err),
    );
    expect(error).to.be.instanceOf(RequestTimeoutError);
    expect((error as Error).message).to.equal('GET /version timed out after 200 ms');
    await eventually(() => silent.closed() > closedBefore, 'the aborted connection to close');
  });

  it("ends a request when the caller's signal aborts, with the signal's reason", async () => {
    const api = silent.kubeConfig.makeApiClient(VersionApi);
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('term ended')), 50);
    let error: unknown;
    await boundedRequest({ what: 'GET /version', timeoutMs: 60_000, signal: controller.signal }, (config) =>
      api.getCode({}, config),
    ).catch((err) => (error = err));
    expect((error as Error).message).to.equal('term ended');
  });

  it('does not start waiting on an already aborted signal', async () => {
    const controller = new AbortController();
    controller.abort(new Error('already over'));
    let error: unknown;
    await boundedRequest({ what: 'x', timeoutMs: 60_000, signal: controller.signal }, () => new Promise(() => {})).catch(
      (err) => (error = err),
    );
    expect((error as Error).message).to.equal('already over');
  });

  it('returns the result of a request that finishes in time', async () => {
    expect(await boundedRequest({ what: 'x', timeoutMs: 1000 }, async () => 42)).to.equal(42);
  });
});
