/**
 * The ActivityWriter over the session repository: re-reads the session live, skips it when it
 * is gone, was replaced (other uid) or no longer Approved, and writes `lastActivity` (never moved
 * backwards) and `activityCount` with the live resourceVersion as precondition, so a concurrent
 * transition (drop, expiry) is never overwritten: the write fails and the recorder keeps the
 * count for its next attempt, which then sees the ended session and skips. A session whose live
 * lastActivity is already within the interval (another replica wrote it after this one's
 * informer copy) is not written again: the count waits for the next write, so the replicas
 * together write a session at most once per interval.
 *
 * Not a state transition (the state does not change), so it does not go through the state
 * machine; it runs on every replica that serves decisions, not leader-only.
 */
import { ACTIVITY_WRITE_INTERVAL_MS } from '../sessions/activity-timing.ts';
import type { SessionRepository } from '../sessions/session-repository.ts';
import { formatTime, parseTime } from '../sessions/timestamps.ts';
import type { ActivityWrite, ActivityWriter } from './activity.ts';

export type ActivityWriteResult = 'written' | 'gone' | 'ended' | 'deferred';

export class SessionActivityWriter implements ActivityWriter {
  private readonly intervalMs: number;

  constructor(
    private readonly sessions: Pick<SessionRepository, 'getLive' | 'writeStatus'>,
    /** The recorder's interval (default ACTIVITY_WRITE_INTERVAL_MS). */
    options: { intervalMs?: number } = {},
  ) {
    this.intervalMs = options.intervalMs ?? ACTIVITY_WRITE_INTERVAL_MS;
  }

  async write(activity: ActivityWrite, signal?: AbortSignal): Promise<void | 'deferred'> {
    return (await this.writeActivity(activity, signal)) === 'deferred' ? 'deferred' : undefined;
  }

  async writeActivity(activity: ActivityWrite, signal?: AbortSignal): Promise<ActivityWriteResult> {
    const live = await this.sessions.getLive(activity.namespace, activity.name, signal);
    if (live === undefined || live.metadata?.uid !== activity.uid) return 'gone';
    const status = live.status;
    if (status?.state !== 'Approved') return 'ended';
    const previous = parseTime(status.lastActivity);
    // Measured from this attempt, as the recorder measures its own interval: a decision counted
    // just after this replica's last write must still be written once the interval has passed.
    if (previous !== undefined && activity.attemptedAt.getTime() - previous < this.intervalMs) return 'deferred';
    const at = previous === undefined ? activity.lastActivity.getTime() : Math.max(previous, activity.lastActivity.getTime());
    await this.sessions.writeStatus(
      live,
      { ...status, lastActivity: formatTime(at), activityCount: (status.activityCount ?? 0) + activity.increment },
      live.metadata?.resourceVersion ?? '',
      signal,
    );
    return 'written';
  }
}
