/**
 * Duration strings as the CRDs and flags use them.
 *
 * Go's time.ParseDuration syntax ("1h30m", "500ms", "1.5h") plus the CRD extension of a
 * leading day count ("2d", "1d12h"), at most 365 days. Both return milliseconds.
 */

const NS_PER_MS = 1_000_000n;
const NS_PER_HOUR = 3_600_000_000_000n;
const NS_PER_DAY = 24n * NS_PER_HOUR;

/** Nanoseconds per unit; BigInt so that the int64 limit can be checked exactly, as Go does. */
const UNIT_NS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  'µs': 1_000n, // U+00B5 micro sign
  'μs': 1_000n, // U+03BC Greek mu
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: NS_PER_HOUR,
};

export const MAX_DURATION_DAYS = 365;

/** time.Duration is an int64 of nanoseconds: 2562047h47m16.854775807s, about 292 years. */
export const MAX_DURATION_NS = (1n << 63n) - 1n;
const MAX_DURATION_TEXT = '2562047h47m16.854775807s';

/** The pattern the CRDs put on every extended duration field (reference §1.2). */
export const EXTENDED_DURATION_PATTERN =
  '^([0-9]+d([0-9]+(\\.[0-9]+)?(ns|us|ms|s|m|h))*|([0-9]+(\\.[0-9]+)?(ns|us|ms|s|m|h))+)$';

export class DurationError extends Error {}

function tooLong(text: string): DurationError {
  return new DurationError(`duration "${text}" exceeds the maximum of ${MAX_DURATION_TEXT}`);
}

/**
 * A Go duration in nanoseconds, with Go's rules: an optional sign, then one or more
 * "<number><unit>" parts ("1.5h", ".5s", "1.h"); fractions below 1ns are truncated; more than
 * int64 nanoseconds is refused (a negative duration may reach -2^63, as in Go).
 */
function parseGoNanoseconds(text: string, input: string): bigint {
  if (input === '0' || input === '+0' || input === '-0') return 0n;
  if (input === '') throw new DurationError('empty duration');
  const part = /([0-9]*)(?:\.([0-9]*))?(ns|us|µs|μs|ms|s|m|h)/y;
  const negative = input.startsWith('-');
  let offset = input[0] === '-' || input[0] === '+' ? 1 : 0;
  if (offset >= input.length) throw new DurationError(`invalid duration "${text}"`);
  const limit = negative ? MAX_DURATION_NS + 1n : MAX_DURATION_NS;
  let total = 0n;
  while (offset < input.length) {
    part.lastIndex = offset;
    const match = part.exec(input);
    const whole = match?.[1] ?? '';
    const fraction = match?.[2] ?? '';
    if (!match || (whole === '' && fraction === '')) {
      throw new DurationError(`invalid duration "${text}": expected a number and a unit (ns, us, ms, s, m, h)`);
    }
    const unit = UNIT_NS[match[3] as string] as bigint;
    // More than 19 significant digits overflow int64 in any unit; refuse before BigInt parses them.
    const digits = whole.replace(/^0+/, '');
    if (digits.length > 19) throw tooLong(text);
    total += BigInt(digits === '' ? '0' : digits) * unit;
    // Digits past the 18th are below a nanosecond even for hours; Go drops them too.
    const kept = fraction.slice(0, 18);
    if (kept !== '') total += (BigInt(kept) * unit) / 10n ** BigInt(kept.length);
    if (total > limit) throw tooLong(text);
    offset = part.lastIndex;
  }
  return negative ? -total : total;
}

const toMs = (ns: bigint): number => Number(ns / NS_PER_MS) + Number(ns % NS_PER_MS) / 1e6;

/** Parses a Go duration ("90s", "1h30m", "0"); throws DurationError with a readable message. */
export function parseGoDuration(text: string): number {
  return toMs(parseGoNanoseconds(text, text.trim()));
}

/**
 * Parses the extended duration of the CRDs: an optional "<days>d" prefix (at most 365), then a
 * Go duration. The sum is held to the same int64 limit as a Go duration.
 */
export function parseExtendedDuration(text: string): number {
  const input = text.trim();
  const days = /^(\d+)d(.*)$/.exec(input);
  if (!days) return parseGoDuration(input);
  const count = Number(days[1]);
  if (count > MAX_DURATION_DAYS) {
    throw new DurationError(`day value ${count} exceeds maximum of ${MAX_DURATION_DAYS}`);
  }
  const rest = days[2] ?? '';
  const ns = BigInt(count) * NS_PER_DAY + (rest === '' ? 0n : parseGoNanoseconds(text, rest));
  if (ns > MAX_DURATION_NS) throw tooLong(text);
  return toMs(ns);
}

/** Formats milliseconds the way Go prints a duration ("1h30m0s", "2s", "500ms"). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  const sign = ms < 0 ? '-' : '';
  let rest = Math.abs(ms);
  if (rest < 1000) return `${sign}${rest}ms`;
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const seconds = rest / 1000;
  if (hours > 0) return `${sign}${hours}h${minutes}m${seconds}s`;
  if (minutes > 0) return `${sign}${minutes}m${seconds}s`;
  return `${sign}${seconds}s`;
}
