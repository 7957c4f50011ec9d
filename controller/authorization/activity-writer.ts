/**
 * The ActivityWriter over the session repository: re-reads the session live, skips it when it
 * is gone, was replaced (other uid) or no longer Approved, and writes `lastActivity` (never moved
 * backwards) and `activityCount` with the live resourceVersion as precondition, so a concurrent
 * transition (drop, expiry) is never overwritten: the write fails and the recorder keeps the
 * count for its next attempt, which then sees the ended session and skips.
 *
 * Not a state transition (the state does not change), so it does not go through the state
 * machine; it runs on every replica that serves decisions, not leader-only.
 */
import type { SessionRepository } from '../sessions/session-repository.ts';
import { formatTime, parseTime } from '../sessions/timestamps.ts';
import type { ActivityWrite, ActivityWriter } from './activity.ts';

export type ActivityWriteResult = 'written' | 'gone' | 'ended';

export class SessionActivityWriter implements ActivityWriter {
  constructor(private readonly sessions: Pick<SessionRepository, 'getLive' | 'writeStatus'>) {}

  async write(activity: ActivityWrite, signal?: AbortSignal): Promise<void> {
    await this.writeActivity(activity, signal);
  }

  async writeActivity(activity: ActivityWrite, signal?: AbortSignal): Promise<ActivityWriteResult> {
    const live = await this.sessions.getLive(activity.namespace, activity.name, signal);
    if (live === undefined || live.metadata?.uid !== activity.uid) return 'gone';
    const status = live.status;
    if (status?.state !== 'Approved') return 'ended';
    const previous = parseTime(status.lastActivity);
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
