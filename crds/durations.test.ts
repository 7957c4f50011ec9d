import { expect } from 'chai';
import { DurationError, formatDuration, parseExtendedDuration, parseGoDuration } from './durations.ts';

function parseError(parse: (text: string) => number, text: string): string {
  try {
    parse(text);
  } catch (err) {
    expect(err).to.be.instanceOf(DurationError);
    return (err as Error).message;
  }
  return expect.fail(`"${text}" was accepted`);
}

describe('durations', () => {
  describe('parseGoDuration', () => {
    it('parses the syntax of Go time.ParseDuration into milliseconds', () => {
      expect(parseGoDuration('0')).to.equal(0);
      expect(parseGoDuration('90s')).to.equal(90_000);
      expect(parseGoDuration('1h30m')).to.equal(5_400_000);
      expect(parseGoDuration('1.5h')).to.equal(5_400_000);
      expect(parseGoDuration('1.1s')).to.equal(1100);
      expect(parseGoDuration('.5s')).to.equal(500);
      expect(parseGoDuration('1.s')).to.equal(1000);
      expect(parseGoDuration('500ms')).to.equal(500);
      expect(parseGoDuration('2us')).to.equal(0.002);
      expect(parseGoDuration('2µs')).to.equal(0.002);
      expect(parseGoDuration('1500ns')).to.equal(0.0015);
      expect(parseGoDuration('-5m')).to.equal(-300_000);
      expect(parseGoDuration('+5m')).to.equal(300_000);
    });

    it('refuses text that is not a duration', () => {
      expect(parseError(parseGoDuration, '')).to.equal('empty duration');
      expect(parseError(parseGoDuration, '-')).to.equal('invalid duration "-"');
      for (const text of ['5', 'h', '.h', '1d', '1h 30m', 'one hour']) {
        expect(parseError(parseGoDuration, text)).to.equal(`invalid duration "${text}": expected a number and a unit (ns, us, ms, s, m, h)`);
      }
    });

    it('accepts up to max int64 nanoseconds and refuses more, as Go does', () => {
      expect(parseGoDuration('2562047h47m16.854775807s')).to.be.closeTo(9_223_372_036_854.775, 0.01);
      expect(parseGoDuration('-2562047h47m16.854775808s')).to.be.closeTo(-9_223_372_036_854.775, 0.01);
      for (const text of ['2562047h47m16.854775808s', '2562048h', '99999999999h', '9223372036854775808ns', `${'9'.repeat(40)}s`]) {
        expect(parseError(parseGoDuration, text)).to.equal(`duration "${text}" exceeds the maximum of 2562047h47m16.854775807s`);
      }
    });
  });

  describe('parseExtendedDuration', () => {
    it('adds a leading day count to a Go duration', () => {
      expect(parseExtendedDuration('2d')).to.equal(2 * 86_400_000);
      expect(parseExtendedDuration('1d12h')).to.equal(36 * 3_600_000);
      expect(parseExtendedDuration('365d')).to.equal(365 * 86_400_000);
      expect(parseExtendedDuration('90m')).to.equal(5_400_000);
    });

    it('refuses more than 365 days', () => {
      expect(parseError(parseExtendedDuration, '366d')).to.equal('day value 366 exceeds maximum of 365');
    });

    it('holds days plus the rest to the int64 limit of a Go duration', () => {
      expect(parseError(parseExtendedDuration, '1d99999999999h')).to.equal(
        'duration "1d99999999999h" exceeds the maximum of 2562047h47m16.854775807s',
      );
      expect(parseError(parseExtendedDuration, '365d2562047h')).to.equal(
        'duration "365d2562047h" exceeds the maximum of 2562047h47m16.854775807s',
      );
      expect(parseError(parseExtendedDuration, '99999999999h')).to.equal(
        'duration "99999999999h" exceeds the maximum of 2562047h47m16.854775807s',
      );
      expect(parseExtendedDuration('365d2553287h')).to.equal((365 * 24 + 2_553_287) * 3_600_000);
    });
  });

  describe('formatDuration', () => {
    it('prints milliseconds the way Go prints a duration', () => {
      expect(formatDuration(0)).to.equal('0s');
      expect(formatDuration(500)).to.equal('500ms');
      expect(formatDuration(2000)).to.equal('2s');
      expect(formatDuration(5_400_000)).to.equal('1h30m0s');
      expect(formatDuration(-90_000)).to.equal('-1m30s');
    });
  });
});
