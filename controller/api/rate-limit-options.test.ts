import { expect } from 'chai';
import { defaultOptions, parseOptions } from '../options.ts';
import { DEFAULT_LIMITS } from './api-router.ts';
import { DEFAULT_WEBHOOK_RATE_LIMITS } from './authorization-webhook-handler.ts';
import { apiRateLimits, webhookRateLimits } from './rate-limit-options.ts';

describe('REST API rate limits from the flags', () => {
  it('are the documented defaults without flags', () => {
    expect(apiRateLimits(defaultOptions())).to.deep.equal({ perIp: DEFAULT_LIMITS.perIp, perUser: DEFAULT_LIMITS.perUser });
  });

  it('take the per-address flag for the per-IP bucket and the per-user flag for the per-user one', () => {
    const options = parseOptions(['--api-rate-limit-per-address=5/s,7', '--api-rate-limit-per-user=9/s', '--disable-session-rate-limit'], {});
    expect(apiRateLimits(options)).to.deep.equal({ perIp: { ratePerSecond: 5, burst: 7 }, perUser: { ratePerSecond: 9, burst: 18 }, sessionCreate: false });
  });
});

describe('authorization webhook rate limits from the flags', () => {
  it('are the handler defaults without flags', () => {
    expect(webhookRateLimits(defaultOptions())).to.deep.equal(DEFAULT_WEBHOOK_RATE_LIMITS);
  });

  it('take the per-cluster flag', () => {
    const options = parseOptions(['--sar-rate-limit-per-cluster=300/s'], {});
    expect(webhookRateLimits(options)).to.deep.equal({ perCluster: { ratePerSecond: 300, burst: 600 } });
  });

  it('name the flag of a bad value', () => {
    expect(() => webhookRateLimits({ ...defaultOptions(), sarRateLimitPerCluster: 'fast' })).to.throw(/--sar-rate-limit-per-cluster: "fast" is not a rate limit/);
  });
});
