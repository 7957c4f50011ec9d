import { expect } from 'chai';
import { FakeClock } from '../clock/clock.ts';
import { CachingGrantChecker, attributesKey } from './grant-cache.ts';
import { GrantCheckError, type GrantChecker } from './grant-checker.ts';
import type { RequestAttributes } from './subject-access-review.ts';

const podsGet: RequestAttributes = {
  resource: { namespace: 'payments', verb: 'get', group: '', version: 'v1', resource: 'pods', subresource: '', name: '' },
};
const secretsGet: RequestAttributes = { resource: { ...podsGet.resource!, resource: 'secrets' } };

interface Call {
  cluster: string;
  groups: readonly string[];
  resolve(allowed: boolean): void;
  reject(error: unknown): void;
  signal: AbortSignal | undefined;
}

/** A spoke whose answers the test gives by hand. */
class ManualSpoke implements GrantChecker {
  readonly calls: Call[] = [];
  allowed(cluster: string, groups: readonly string[], _attributes: RequestAttributes, signal?: AbortSignal): Promise<boolean> {
    return new Promise((resolve, reject) => this.calls.push({ cluster, groups, resolve, reject, signal }));
  }
}

/** A spoke that answers at once from a function. */
function answering(answer: (cluster: string, groups: readonly string[]) => boolean | Error): GrantChecker & { count: number } {
  const spoke = {
    count: 0,
    allowed(cluster: string, groups: readonly string[]): Promise<boolean> {
      spoke.count++;
      const result = answer(cluster, groups);
      return result instanceof Error ? Promise.reject(result) : Promise.resolve(result);
    },
  };
  return spoke;
}

async function failure(promise: Promise<unknown>): Promise<GrantCheckError> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(GrantCheckError);
    return error as GrantCheckError;
  }
  throw new Error('expected a GrantCheckError');
}

const unreachable = (cluster: string) => new GrantCheckError('unreachable', cluster, 'connection refused');

describe('CachingGrantChecker', () => {
  it('answers repeated checks from the cache until the TTL passes', async () => {
    const clock = new FakeClock();
    const spoke = answering(() => true);
    const cache = new CachingGrantChecker(spoke, { clock, allowedTtlMs: 10_000, ttlJitter: 0 });
    expect(await cache.allowed('prod', ['ops'], podsGet)).to.equal(true);
    expect(await cache.allowed('prod', ['ops'], podsGet)).to.equal(true);
    expect(spoke.count).to.equal(1);
    await clock.advance(10_000);
    await cache.allowed('prod', ['ops'], podsGet);
    expect(spoke.count).to.equal(2);
  });

  it('keys by cluster, groups and every attribute', async () => {
    const clock = new FakeClock();
    const spoke = answering((_, groups) => groups.includes('ops'));
    const cache = new CachingGrantChecker(spoke, { clock });
    expect(await cache.allowed('prod', ['ops'], podsGet)).to.equal(true);
    expect(await cache.allowed('prod', ['dev'], podsGet)).to.equal(false);
    await cache.allowed('dev', ['ops'], podsGet);
    await cache.allowed('prod', ['ops'], secretsGet);
    await cache.allowed('prod', ['ops'], { nonResource: { verb: 'get', path: '/metrics' } });
    expect(spoke.count).to.equal(5);
    expect(attributesKey(podsGet)).to.not.equal(attributesKey({ resource: { ...podsGet.resource!, namespace: 'paymentsget' } }));
  });

  it('keeps denials for their own, shorter TTL', async () => {
    const clock = new FakeClock();
    const spoke = answering(() => false);
    const cache = new CachingGrantChecker(spoke, { clock, allowedTtlMs: 10_000, deniedTtlMs: 2_000, ttlJitter: 0, refreshAhead: 0 });
    await cache.allowed('prod', ['ops'], podsGet);
    await clock.advance(1_999);
    await cache.allowed('prod', ['ops'], podsGet);
    expect(spoke.count).to.equal(1);
    await clock.advance(1);
    await cache.allowed('prod', ['ops'], podsGet);
    expect(spoke.count).to.equal(2);
  });

  it('spreads the expiry of answers stored together over the last fifth of the TTL, never beyond it', async () => {
    const clock = new FakeClock();
    const spoke = answering(() => true);
    let r = 0;
    // Random parts 0, 0.1, ..., 0.9: kept 10 s, 9.8 s, ..., 8.2 s.
    const cache = new CachingGrantChecker(spoke, { clock, allowedTtlMs: 10_000, refreshAhead: 0, random: () => (r++ % 10) / 10 });
    const groups = Array.from({ length: 10 }, (_, i) => [`g${i}`]);
    const askAll = async () => {
      const before = spoke.count;
      for (const g of groups) await cache.allowed('prod', g, podsGet);
      return spoke.count - before;
    };
    expect(await askAll()).to.equal(10);
    await clock.advance(8_199);
    expect(await askAll(), 'all cached before 82 % of the TTL').to.equal(0);
    await clock.advance(801); // 9 s: the five kept 9.0 s and less have expired
    expect(await askAll()).to.equal(5);
    await clock.advance(1_000); // 10 s: the other five too, none outlives the TTL; the refreshed ones are fresh
    expect(await askAll()).to.equal(5);
  });

  it('renews an answer used late in its TTL in the background: the hit does not wait, the answer never expires under steady use', async () => {
    const clock = new FakeClock();
    const spoke = new ManualSpoke();
    // Renewal from a random point in the last half of the lifetime: 0.5 of it puts it at 75 %.
    const cache = new CachingGrantChecker(spoke, { clock, allowedTtlMs: 10_000, ttlJitter: 0, random: () => 0.5 });
    const first = cache.allowed('prod', ['ops'], podsGet);
    spoke.calls[0]!.resolve(true);
    expect(await first).to.equal(true);
    await clock.advance(7_499);
    expect(await cache.allowed('prod', ['ops'], podsGet)).to.equal(true);
    expect(spoke.calls, 'no renewal before 75 % of the TTL').to.have.length(1);
    await clock.advance(1);
    // Answered from the cache while the renewal is still out; later hits start no second one.
    expect(await cache.allowed('prod', ['ops'], podsGet)).to.equal(true);
    expect(await cache.allowed('prod', ['ops'], podsGet)).to.equal(true);
    expect(spoke.calls).to.have.length(2);
    spoke.calls[1]!.resolve(false); // RBAC changed on the spoke
    await clock.advance(0);
    expect(await cache.allowed('prod', ['ops'], podsGet), 'the renewed answer is used at once').to.equal(false);
    await clock.advance(2_600); // past the first answer's expiry: the renewed one is still fresh
    expect(await cache.allowed('prod', ['ops'], podsGet)).to.equal(false);
    expect(spoke.calls).to.have.length(2);
  });

  it('tells the cached answer without a spoke call, nothing for a miss or an expired answer, and renews like a check', async () => {
    const clock = new FakeClock();
    const spoke = new ManualSpoke();
    const cache = new CachingGrantChecker(spoke, { clock, allowedTtlMs: 10_000, ttlJitter: 0, random: () => 0.5 });
    expect(cache.cached('prod', ['ops'], podsGet), 'nothing asked yet').to.equal(undefined);
    expect(spoke.calls, 'a miss does not call the spoke').to.have.length(0);
    const first = cache.allowed('prod', ['ops'], podsGet);
    expect(cache.cached('prod', ['ops'], podsGet), 'the call is still out').to.equal(undefined);
    spoke.calls[0]!.resolve(true);
    await first;
    expect(cache.cached('prod', ['ops'], podsGet)).to.equal(true);
    expect(cache.cached('prod', ['ops'], secretsGet), 'other attributes').to.equal(undefined);
    await clock.advance(7_500);
    expect(cache.cached('prod', ['ops'], podsGet), 'answered while its renewal starts').to.equal(true);
    expect(cache.cached('prod', ['ops'], podsGet)).to.equal(true);
    expect(spoke.calls, 'one renewal, however many hits').to.have.length(2);
    await clock.advance(2_500);
    expect(cache.cached('prod', ['ops'], podsGet), 'expired, the renewal unanswered').to.equal(undefined);
    expect(cache.size, 'the expired answer is dropped').to.equal(0);
  });

  it('keeps an answer until its TTL when its renewal fails, and never beyond', async () => {
    const clock = new FakeClock();
    const spoke = new ManualSpoke();
    const cache = new CachingGrantChecker(spoke, { clock, allowedTtlMs: 10_000, ttlJitter: 0, random: () => 0.5 });
    const first = cache.allowed('prod', ['ops'], podsGet);
    spoke.calls[0]!.resolve(true);
    await first;
    await clock.advance(8_000);
    expect(await cache.allowed('prod', ['ops'], podsGet)).to.equal(true);
    spoke.calls[1]!.reject(unreachable('prod'));
    await clock.advance(0);
    for (let i = 0; i < 20; i++) expect(await cache.allowed('prod', ['ops'], podsGet), 'still the cached answer').to.equal(true);
    expect(spoke.calls, 'one renewal per answer: the hits after a failed one do not call again').to.have.length(2);
    await clock.advance(2_000); // the TTL is over: the next check waits for the spoke
    const late = cache.allowed('prod', ['ops'], podsGet);
    expect(spoke.calls).to.have.length(3);
    spoke.calls[2]!.reject(unreachable('prod'));
    expect((await failure(late)).failure).to.equal('unreachable');
  });

  it('spreads the renewals of answers stored together over the last half of their TTL', async () => {
    const clock = new FakeClock();
    const spoke = answering(() => true);
    let r = 0;
    const cache = new CachingGrantChecker(spoke, { clock, allowedTtlMs: 10_000, ttlJitter: 0, random: () => (r++ % 10) / 10 });
    const groups = Array.from({ length: 10 }, (_, i) => [`g${i}`]);
    for (const g of groups) await cache.allowed('prod', g, podsGet);
    const renewedBy = async (ms: number) => {
      await clock.advance(ms - clock.now());
      for (const g of groups) await cache.allowed('prod', g, podsGet);
      return spoke.count - 10;
    };
    // Random parts 0, 0.1, ..., 0.9: renewal from 10 s, 9.5 s, ..., 5.5 s on.
    expect(await renewedBy(5_499), 'none before 55 %').to.equal(0);
    expect(await renewedBy(7_500)).to.equal(5);
    expect(await renewedBy(9_999)).to.equal(9);
  });

  it('evicts the oldest answer beyond maxEntries', async () => {
    const clock = new FakeClock();
    const spoke = answering(() => true);
    const cache = new CachingGrantChecker(spoke, { clock, maxEntries: 2 });
    await cache.allowed('prod', ['a'], podsGet);
    await cache.allowed('prod', ['b'], podsGet);
    await cache.allowed('prod', ['c'], podsGet);
    expect(cache.size).to.equal(2);
    await cache.allowed('prod', ['c'], podsGet);
    await cache.allowed('prod', ['b'], podsGet);
    expect(spoke.count).to.equal(3);
    await cache.allowed('prod', ['a'], podsGet);
    expect(spoke.count).to.equal(4);
  });

  it('shares one spoke call among identical concurrent checks', async () => {
    const clock = new FakeClock();
    const spoke = new ManualSpoke();
    const cache = new CachingGrantChecker(spoke, { clock });
    const checks = Array.from({ length: 50 }, () => cache.allowed('prod', ['ops'], podsGet));
    expect(spoke.calls).to.have.length(1);
    spoke.calls[0]!.resolve(true);
    expect(await Promise.all(checks)).to.deep.equal(Array(50).fill(true));
  });

  it('never caches errors', async () => {
    const clock = new FakeClock();
    let fail = true;
    const spoke = answering((cluster) => (fail ? unreachable(cluster) : true));
    const cache = new CachingGrantChecker(spoke, { clock });
    expect((await failure(cache.allowed('prod', ['ops'], podsGet))).failure).to.equal('unreachable');
    fail = false;
    expect(await cache.allowed('prod', ['ops'], podsGet)).to.equal(true);
  });

  it('times a slow spoke out and aborts its call', async () => {
    const clock = new FakeClock();
    const spoke = new ManualSpoke();
    const cache = new CachingGrantChecker(spoke, { clock, timeoutMs: 2_000 });
    const check = failure(cache.allowed('prod', ['ops'], podsGet));
    await clock.advance(2_000);
    const error = await check;
    expect(error.failure).to.equal('timeout');
    expect(error.spokeUnavailable).to.equal(true);
    expect(spoke.calls[0]!.signal?.aborted).to.equal(true);
  });

  it('wraps unexpected errors as unreachable', async () => {
    const cache = new CachingGrantChecker(answering(() => new Error('ECONNRESET')), { clock: new FakeClock() });
    const error = await failure(cache.allowed('prod', ['ops'], podsGet));
    expect([error.failure, error.cluster]).to.deep.equal(['unreachable', 'prod']);
  });

  it('opens the circuit after N consecutive failures, probes once after the cooldown, closes on success', async () => {
    const clock = new FakeClock();
    let down = true;
    const spoke = answering((cluster) => (down && cluster === 'prod' ? unreachable(cluster) : true));
    const cache = new CachingGrantChecker(spoke, { clock, failureThreshold: 3, cooldownMs: 10_000 });
    for (let i = 0; i < 3; i++) await failure(cache.allowed('prod', [`g${i}`], podsGet));
    expect(cache.circuitState('prod')).to.equal('open');
    expect((await failure(cache.allowed('prod', ['other'], podsGet))).failure).to.equal('circuit-open');
    expect(spoke.count, 'an open circuit does not call the spoke').to.equal(3);
    expect(await cache.allowed('dev', ['ops'], podsGet), 'other clusters are unaffected').to.equal(true);

    await clock.advance(10_000);
    expect(cache.circuitState('prod')).to.equal('half-open');
    // The probe fails: open again for another cooldown.
    await failure(cache.allowed('prod', ['probe'], podsGet));
    expect(cache.circuitState('prod')).to.equal('open');
    await clock.advance(10_000);
    down = false;
    expect(await cache.allowed('prod', ['probe'], podsGet)).to.equal(true);
    expect(cache.circuitState('prod')).to.equal('closed');
  });

  it('lets only one probe through while half-open', async () => {
    const clock = new FakeClock();
    const spoke = new ManualSpoke();
    const cache = new CachingGrantChecker(spoke, { clock, failureThreshold: 1, cooldownMs: 1_000 });
    const first = failure(cache.allowed('prod', ['a'], podsGet));
    spoke.calls[0]!.reject(unreachable('prod'));
    await first;
    await clock.advance(1_000);
    const probe = cache.allowed('prod', ['b'], podsGet);
    expect((await failure(cache.allowed('prod', ['c'], podsGet))).failure).to.equal('circuit-open');
    spoke.calls[1]!.resolve(true);
    expect(await probe).to.equal(true);
    expect(cache.circuitState('prod')).to.equal('closed');
  });

  it('does not count a refusal of the hub identity as the spoke being down', async () => {
    const clock = new FakeClock();
    const spoke = answering((cluster) => new GrantCheckError('forbidden', cluster, 'cannot create subjectaccessreviews'));
    const cache = new CachingGrantChecker(spoke, { clock, failureThreshold: 1 });
    expect((await failure(cache.allowed('prod', ['a'], podsGet))).failure).to.equal('forbidden');
    expect(cache.circuitState('prod')).to.equal('closed');
  });

  it('forgets a cluster on request', async () => {
    const clock = new FakeClock();
    const spoke = answering(() => true);
    const cache = new CachingGrantChecker(spoke, { clock });
    await cache.allowed('prod', ['a'], podsGet);
    await cache.allowed('prod-2', ['a'], podsGet);
    cache.forgetCluster('prod');
    await cache.allowed('prod', ['a'], podsGet);
    await cache.allowed('prod-2', ['a'], podsGet);
    expect(spoke.count).to.equal(3);
  });
});
