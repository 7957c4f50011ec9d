/**
 * Duration strings as the CRDs and flags use them.
 *
 * Go's time.ParseDuration syntax ("1h30m", "500ms", "1.5h") plus the CRD extension of a
 * leading day count ("2d", "1d12h"), at most 365 days. Both return milliseconds.
 */

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

export const MAX_DURATION_DAYS = 365;

/** The pattern the CRDs put on every extended duration field (reference §1.2). */
export const EXTENDED_DURATION_PATTERN =
  '^([0-9]+d([0-9]+(\\.[0-9]+)?(ns|us|ms|s|m|h))*|([0-9]+(\\.[0-9]+)?(ns|us|ms|s|m|h))+)$';

export class DurationError extends Error {}

/** Parses a Go duration ("90s", "1h30m", "0"); throws DurationError with a readable message. */
export function parseGoDuration(text: string): number {
  const input = text.trim();
  if (input === '0') return 0;
  if (input === '') throw new DurationError('empty duration');
  const part = /([0-9]*\.?[0-9]+)(ns|us|µs|ms|s|m|h)/y;
  let total = 0;
  let offset = 0;
  const sign = input.startsWith('-') ? -1 : 1;
  if (input[0] === '-' || input[0] === '+') offset = 1;
  if (offset >= input.length) throw new DurationError(`invalid duration "${text}"`);
  while (offset < input.length) {
    part.lastIndex = offset;
    const match = part.exec(input);
    if (!match) throw new DurationError(`invalid duration "${text}": expected a number and a unit (ns, us, ms, s, m, h)`);
    total += Number(match[1]) * (UNIT_MS[match[2] as string] as number);
    offset = part.lastIndex;
  }
  return sign * total;
}

/** Parses the extended duration of the CRDs: an optional "<days>d" prefix, then a Go duration. */
export function parseExtendedDuration(text: string): number {
  const input = text.trim();
  const days = /^(\d+)d(.*)$/.exec(input);
  if (!days) return parseGoDuration(input);
  const count = Number(days[1]);
  if (count > MAX_DURATION_DAYS) {
    throw new DurationError(`day value ${count} exceeds maximum of ${MAX_DURATION_DAYS}`);
  }
  const rest = days[2] ?? '';
  return count * 24 * 3_600_000 + (rest === '' ? 0 : parseGoDuration(rest));
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
