import { expect } from 'chai';
import { defaultOptions, parseOptions } from '../options.ts';
import { DEFAULT_LIMITS } from './api-router.ts';
import { apiRateLimits } from './rate-limit-options.ts';

describe('REST API rate limits from the flags', () => {
  it('are the documented defaults without flags', () => {
    expect(apiRateLimits(defaultOptions())).to.deep.equal({ perIp: DEFAULT_LIMITS.perIp, perUser: DEFAULT_LIMITS.perUser });
  });

  it('take the per-address flag for the per-IP bucket and the per-user flag for the per-user one', () => {
    const options = parseOptions(['--api-rate-limit-per-address=5/s,7', '--api-rate-limit-per-user=9/s', '--disable-session-rate-limit'], {});
    expect(apiRateLimits(options)).to.deep.equal({ perIp: { ratePerSecond: 5, burst: 7 }, perUser: { ratePerSecond: 9, burst: 18 }, sessionCreate: false });
  });
});
