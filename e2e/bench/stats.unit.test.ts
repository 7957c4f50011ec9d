import { expect } from 'chai';
import { max, median, round } from './stats.ts';

describe('bench stats', () => {
  it('median of an odd and an even number of samples, in any order', () => {
    expect(median([3, 1, 2])).to.equal(2);
    expect(median([4, 1, 3, 2])).to.equal(2.5);
    expect(median([7])).to.equal(7);
  });

  it('max and median of no samples are NaN, which round() turns into null', () => {
    expect(median([])).to.be.NaN;
    expect(max([])).to.be.NaN;
    expect(round(Number.NaN)).to.equal(null);
  });

  it('round keeps the requested decimals', () => {
    expect(round(17.4049, 2)).to.equal(17.4);
    expect(round(0.8361, 3)).to.equal(0.836);
    expect(max([1.5, 17.2, 3])).to.equal(17.2);
  });
});
