/**
 * The durations a session carries in its spec, with the reference's runtime fallbacks (§1.2):
 * empty, unparsable or non-positive values fall back to the default instead of failing, because
 * a stored object must never make the cleanup loop throw.
 */
import { parseExtendedDuration } from '../../crds/durations.ts';
import type { BreakglassSession } from '../../crds/index.ts';

export const DEFAULT_MAX_VALID_FOR_MS = 60 * 60 * 1000;
export const DEFAULT_RETAIN_FOR_MS = 720 * 60 * 60 * 1000;
export const DEFAULT_APPROVAL_TIMEOUT_MS = 60 * 60 * 1000;

/** Parses an extended duration; undefined when absent, invalid or not positive. */
export function positiveDuration(text: string | undefined): number | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  try {
    const ms = parseExtendedDuration(text);
    return ms > 0 ? ms : undefined;
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
