import { expect } from 'chai';
import { defaultOptions, OptionError, parseOptions } from './options.ts';

describe('--cache-max-age', () => {
  it('defaults to 3 minutes and is read from the flag or CACHE_MAX_AGE', () => {
    expect(defaultOptions().cacheMaxAge).to.equal(180_000);
    expect(parseOptions([], { CACHE_MAX_AGE: '90s' }).cacheMaxAge).to.equal(90_000);
    expect(parseOptions(['--cache-max-age=10m'], { CACHE_MAX_AGE: '90s' }).cacheMaxAge).to.equal(600_000);
  });

  it('accepts 5s to 1h and names the flag otherwise', () => {
    expect(parseOptions(['--cache-max-age=5s'], {}).cacheMaxAge).to.equal(5000);
    expect(parseOptions(['--cache-max-age=1h'], {}).cacheMaxAge).to.equal(3_600_000);
    expect(() => parseOptions(['--cache-max-age=4s'], {})).to.throw(OptionError, /--cache-max-age: "4s" is too short, the minimum is 5s/);
    expect(() => parseOptions([], { CACHE_MAX_AGE: '2h' })).to.throw(OptionError, /CACHE_MAX_AGE: "2h" is too long, the maximum is 1h/);
  });
});
