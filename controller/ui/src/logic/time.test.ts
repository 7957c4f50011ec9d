import { expect } from 'chai';
import { durationMs, formatCrdDuration, formatSpan, timeLeft } from './time.ts';

describe('ui time formatting', () => {
  const now = new Date('2026-12-01T12:00:00Z');

  it('writes the two largest units of a span', () => {
    expect(formatSpan(0)).to.equal('0s');
    expect(formatSpan(45_000)).to.equal('45s');
    expect(formatSpan(4 * 60_000 + 30_000)).to.equal('4m 30s');
    expect(formatSpan(3_600_000 + 5 * 60_000 + 59_000)).to.equal('1h 5m');
    expect(formatSpan(3_600_000)).to.equal('1h');
    expect(formatSpan(2 * 86_400_000 + 3 * 3_600_000 + 10_000)).to.equal('2d 3h');
    expect(formatSpan(-5000)).to.equal('0s');
  });

  it('says how long is left before a deadline, and when it has passed', () => {
    expect(timeLeft('2026-12-01T12:59:30Z', now)).to.equal('59m 30s left');
    expect(timeLeft('2026-12-01T12:00:00Z', now)).to.equal('expired');
    expect(timeLeft('2026-12-01T11:00:00Z', now)).to.equal('expired');
    expect(timeLeft(undefined, now)).to.equal(undefined);
    expect(timeLeft('not a time', now)).to.equal(undefined);
  });

  it('reads CRD durations including days, and shows unreadable ones as given', () => {
    expect(durationMs('1h30m0s')).to.equal(90 * 60_000);
    expect(durationMs('2d')).to.equal(2 * 86_400_000);
    expect(durationMs('soon')).to.equal(undefined);
    expect(durationMs(undefined)).to.equal(undefined);
    expect(formatCrdDuration('1h30m0s')).to.equal('1h 30m');
    expect(formatCrdDuration('soon')).to.equal('soon');
  });
});
