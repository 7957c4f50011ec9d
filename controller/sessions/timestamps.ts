/**
 * metav1.Time on the wire: RFC 3339 with whole seconds ("2026-01-01T00:00:00Z").
 *
 * The API server truncates metav1.Time to seconds; writing the same precision keeps a value we
 * computed equal to the value we read back, so "did this change?" comparisons stay exact.
 */

/** Formats a time as metav1.Time, truncated to whole seconds. */
export function formatTime(time: Date | number): string {
  const ms = typeof time === 'number' ? time : time.getTime();
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Parses a metav1.Time; absent, empty or unparsable values count as "not set". */
export function parseTime(value: string | undefined | null): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}
