/** How the UI writes durations and deadlines: short, whole units, never negative. */
import { DurationError, parseExtendedDuration } from '../../../../crds/durations.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** "2d 3h", "1h 5m", "4m 30s", "45s": the two largest non-zero units. */
export function formatSpan(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const parts: [number, string][] = [
    [Math.floor(total / 86_400), 'd'],
    [Math.floor((total % 86_400) / 3600), 'h'],
    [Math.floor((total % 3600) / 60), 'm'],
    [total % 60, 's'],
  ];
  const first = parts.findIndex(([value]) => value > 0);
  if (first === -1) return '0s';
  return parts
    .slice(first, first + 2)
    .filter(([value]) => value > 0)
    .map(([value, unit]) => `${value}${unit}`)
    .join(' ');
}

/** Time until `deadline` (RFC 3339) as "12m 5s left"; "expired" once passed; undefined without a deadline. */
export function timeLeft(deadline: string | undefined, now: Date): string | undefined {
  if (!deadline) return undefined;
  const at = Date.parse(deadline);
  if (Number.isNaN(at)) return undefined;
  const rest = at - now.getTime();
  return rest > 0 ? `${formatSpan(rest)} left` : 'expired';
}

/** A CRD duration ("1h", "1h30m0s", "2d") in milliseconds; undefined when missing or invalid. */
export function durationMs(text: string | undefined): number | undefined {
  if (!text) return undefined;
  try {
    return parseExtendedDuration(text);
  } catch (err) {
    if (err instanceof DurationError) return undefined;
    throw err;
  }
}

/** A CRD duration for people: "1h 30m"; the raw text when it does not parse. */
export function formatCrdDuration(text: string | undefined): string {
  if (!text) return '';
  const ms = durationMs(text);
  return ms === undefined ? text : formatSpan(ms);
}

export { MINUTE, HOUR, DAY };
