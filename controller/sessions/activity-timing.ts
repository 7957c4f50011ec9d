/**
 * How often a session's activity reaches its status (issue 9 item 5), shared by the webhook
 * replicas that record it and the leader's idle check that reads it.
 */

/** A session's status.lastActivity is written at most once per this interval, across replicas. */
export const ACTIVITY_WRITE_INTERVAL_MS = 60_000;
/** Decisions counted between two writes are written at the next flush, this often (a scan of the tracked sessions). */
export const ACTIVITY_FLUSH_MS = 5_000;
/**
 * How far status.lastActivity may trail a session's last use: a decision right after a write
 * waits out the interval and then the next flush. The idle check allows for it, so a session in
 * use is never idle-expired; an unused one ends at most this much after its idleTimeout.
 */
export const ACTIVITY_RECORDING_LAG_MS = ACTIVITY_WRITE_INTERVAL_MS + ACTIVITY_FLUSH_MS;
