import { expect } from 'chai';
import { RateLimiter } from './rate-limiter.ts';

describe('RateLimiter', () => {
  it('allows a burst, then refills at the rate and says when to retry', () => {
    let now = 0;
    const limiter = new RateLimiter({ ratePerSecond: 2, burst: 3 }, 100, () => now);
    expect([1, 2, 3, 4].map(() => limiter.take('u').ok)).to.deep.equal([true, true, true, false]);
    expect(limiter.take('u')).to.deep.equal({ ok: false, retryAfterSeconds: 1 });
    now += 500; // one token back
    expect(limiter.take('u').ok).to.equal(true);
    expect(limiter.take('u').ok).to.equal(false);
    expect(limiter.take('other').ok).to.equal(true);
  });

  it('check does not consume', () => {
    const limiter = new RateLimiter({ ratePerSecond: 1, burst: 1 }, 100, () => 0);
    expect(limiter.check('u').ok).to.equal(true);
    expect(limiter.check('u').ok).to.equal(true);
    expect(limiter.take('u').ok).to.equal(true);
    expect(limiter.check('u')).to.deep.equal({ ok: false, retryAfterSeconds: 1 });
  });

  it('forgets the least recently used keys beyond its bound', () => {
    const limiter = new RateLimiter({ ratePerSecond: 1, burst: 1 }, 2, () => 0);
    limiter.take('a');
    limiter.take('b');
    limiter.take('c'); // evicts a
    expect(limiter.take('a').ok).to.equal(true);
    expect(limiter.take('c').ok).to.equal(false);
  });
});
