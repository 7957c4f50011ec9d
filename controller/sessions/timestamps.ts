/**
 * metav1.Time on the wire: RFC 3339 with whole seconds ("2026-01-01T00:00:00Z").
 *
 * The API server truncates metav1.Time to seconds; writing the same precision keeps a value we
 * computed equal to the value we read back, so "did this change?" comparisons stay exact.
 */

/** The latest time RFC 3339 (four-digit years) and so metav1.Time can express. */
export const MAX_TIME_MS = Date.parse('9999-12-31T23:59:59Z');
/** The earliest one (year 0001). */
export const MIN_TIME_MS = Date.parse('0001-01-01T00:00:00Z');

/**
 * Formats a time as metav1.Time, truncated to whole seconds.
 *
 * Times beyond year 9999 (a far-future time plus a long duration, or Infinity) are written as
 * MAX_TIME_MS, which means the same ("never") and is still a valid timestamp; without the clamp
 * such a time would either throw (RangeError: Invalid time value) or produce an extended-year
 * string the API server rejects. Only NaN, which no valid input produces, throws.
 */
export function formatTime(time: Date | number): string {
  const raw = typeof time === 'number' ? time : time.getTime();
  if (Number.isNaN(raw)) throw new RangeError('formatTime: not a time (NaN)');
  const ms = Math.min(Math.max(raw, MIN_TIME_MS), MAX_TIME_MS);
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Parses a metav1.Time; absent, empty or unparsable values count as "not set". */
export function parseTime(value: string | undefined | null): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}
