/**
 * The durations a session carries in its spec, with the reference's runtime fallbacks (§1.2):
 * empty, unparsable, non-positive or out-of-range values fall back to the default instead of
 * failing, because a stored object must never make the cleanup loop throw.
 *
 * Out of range means longer than Go's largest time.Duration (2^63-1 ns, about 292 years): the
 * reference's time.ParseDuration refuses such a value and so uses the default, and so do we
 * (also when crds/durations.ts itself refuses it), rather than inventing a "forever". Any
 * in-range duration added to a time up to year 9999 stays representable; formatTime clamps the
 * rest (timestamps.ts).
 */
import { parseExtendedDuration } from '../../crds/durations.ts';
import type { BreakglassSession } from '../../crds/index.ts';

export const DEFAULT_MAX_VALID_FOR_MS = 60 * 60 * 1000;
export const DEFAULT_RETAIN_FOR_MS = 720 * 60 * 60 * 1000;
export const DEFAULT_APPROVAL_TIMEOUT_MS = 60 * 60 * 1000;
/** Go's math.MaxInt64 nanoseconds, in milliseconds. */
export const MAX_DURATION_MS = 9_223_372_036_854;

/** Parses an extended duration; undefined when absent, invalid, not positive or out of range. */
export function positiveDuration(text: string | undefined): number | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  try {
    const ms = parseExtendedDuration(text);
    return Number.isFinite(ms) && ms > 0 && ms <= MAX_DURATION_MS ? ms : undefined;
  } catch {
    return undefined;
  }
}

export function maxValidForMs(session: BreakglassSession): number {
  return positiveDuration(session.spec.maxValidFor) ?? DEFAULT_MAX_VALID_FOR_MS;
}

export function retainForMs(session: BreakglassSession): number {
  return positiveDuration(session.spec.retainFor) ?? DEFAULT_RETAIN_FOR_MS;
}

/** The idle timeout, or undefined when the session has none (then it never idle-expires). */
export function idleTimeoutMs(session: BreakglassSession): number | undefined {
  return positiveDuration(session.spec.idleTimeout);
}
