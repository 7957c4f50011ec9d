/**
 * Session activity (`status.lastActivity`, `activityCount`) for idle timeout (reference §5.5),
 * coalesced so that steady traffic costs at most one write per session per minute across all
 * replicas:
 * - per replica: at most one write per session per interval; decisions in between only count;
 * - across replicas: no write while the informer copy's `status.lastActivity` is younger than the
 *   interval (another replica wrote it), the count waits for a later write.
 * `activityCount` is therefore a lower bound (counts of a replica that stops are lost); the
 * timestamp, which idle expiry reads, is exact to the interval.
 *
 * The write itself is injected; the wiring step makes it a status patch with the session's
 * resourceVersion as precondition, so it never resurrects a session that ended meanwhile.
 */
import type { Clock } from '../clock/clock.ts';
import { parseTime } from '../sessions/timestamps.ts';
import { ACTIVITY_WRITE_INTERVAL_MS } from '../sessions/activity-timing.ts';

/** The session a decision was served by, as the informer copy shows it. */
export interface ActivityTarget {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly resourceVersion: string;
  /** `status.lastActivity` of the informer copy. */
  readonly lastActivity: string | undefined;
}

export interface ActivityWrite {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  /** The informer copy's resourceVersion, for the write's precondition. */
  readonly resourceVersion: string;
  /** The time of the latest decision being written. */
  readonly lastActivity: Date;
  /** Decisions since the previous write of this replica, to add to `activityCount`. */
  readonly increment: number;
  /** When the write is attempted: another replica's write within the interval before it defers this one. */
  readonly attemptedAt: Date;
}

export interface ActivityWriter {
  /**
   * Writes the activity. 'deferred': not written because the session's stored activity is
   * already within the interval (another replica wrote it); the count waits for the next write.
   */
  write(activity: ActivityWrite): Promise<void | 'deferred'>;
}

export interface ActivityRecorderOptions {
  readonly clock: Pick<Clock, 'wallNow'>;
  /** Default ACTIVITY_WRITE_INTERVAL_MS (one minute), which the leader's idle check allows for. */
  readonly intervalMs?: number;
  /** Sessions tracked at most; beyond it the oldest idle entry is forgotten. Default 10,000. */
  readonly maxSessions?: number;
  /** Called when a write fails (the count is kept for the next write). */
  readonly onWriteError?: (error: unknown, activity: ActivityWrite) => void;
}

interface Tracked {
  target: ActivityTarget;
  pending: number;
  lastSeenAt: number;
  /** When this replica last started a write; -Infinity before the first. */
  lastWriteAt: number;
  writing: boolean;
}

export class ActivityRecorder {
  private readonly clock: Pick<Clock, 'wallNow'>;
  private readonly intervalMs: number;
  private readonly maxSessions: number;
  private readonly onWriteError: ((error: unknown, activity: ActivityWrite) => void) | undefined;
  private readonly tracked = new Map<string, Tracked>();
  private readonly writes = new Set<Promise<void>>();

  constructor(
    private readonly writer: ActivityWriter,
    options: ActivityRecorderOptions,
  ) {
    this.clock = options.clock;
    this.intervalMs = options.intervalMs ?? ACTIVITY_WRITE_INTERVAL_MS;
    this.maxSessions = options.maxSessions ?? 10_000;
    this.onWriteError = options.onWriteError;
  }

  /** Counts one decision served by the session and writes if the interval allows. Never throws. */
  record(target: ActivityTarget): void {
    const now = this.clock.wallNow().getTime();
    const key = `${target.namespace}/${target.name}`;
    let entry = this.tracked.get(key);
    if (entry === undefined || entry.target.uid !== target.uid) {
      if (entry === undefined && this.tracked.size >= this.maxSessions) this.evictOne();
      entry = { target, pending: 0, lastSeenAt: now, lastWriteAt: -Infinity, writing: false };
      // A recreated session (same name, new uid) is seen now too: it goes to the end.
      this.tracked.delete(key);
      this.tracked.set(key, entry);
    } else {
      // Most recently seen last (Map order), so that eviction finds the least recently seen first.
      this.tracked.delete(key);
      this.tracked.set(key, entry);
    }
    entry.target = target;
    entry.pending++;
    entry.lastSeenAt = now;
    this.maybeWrite(entry, now);
  }

  /**
   * Writes every count whose interval has passed (call it periodically, every ACTIVITY_FLUSH_MS, so that
   * the last decisions of a burst are written), and forgets sessions with nothing left to write.
   * Resolves when the writes it started have settled.
   */
  async flush(): Promise<void> {
    const now = this.clock.wallNow().getTime();
    for (const [key, entry] of this.tracked) {
      if (entry.pending > 0) this.maybeWrite(entry, now);
      else if (!entry.writing && now - entry.lastWriteAt >= this.intervalMs) this.tracked.delete(key);
    }
    await this.settled();
  }

  /** Resolves when all writes started so far have finished. */
  async settled(): Promise<void> {
    await Promise.all([...this.writes]);
  }

  /** Sessions currently tracked. */
  trackedCount(): number {
    return this.tracked.size;
  }

  /** Decisions counted but not yet written. */
  pendingCount(): number {
    let total = 0;
    for (const entry of this.tracked.values()) total += entry.pending;
    return total;
  }

  private maybeWrite(entry: Tracked, now: number): void {
    if (entry.writing || now - entry.lastWriteAt < this.intervalMs) return;
    const written = parseTime(entry.target.lastActivity);
    if (written !== undefined && now - written < this.intervalMs) return;
    const activity: ActivityWrite = {
      namespace: entry.target.namespace,
      name: entry.target.name,
      uid: entry.target.uid,
      resourceVersion: entry.target.resourceVersion,
      lastActivity: new Date(entry.lastSeenAt),
      increment: entry.pending,
      attemptedAt: new Date(now),
    };
    entry.pending = 0;
    entry.lastWriteAt = now;
    entry.writing = true;
    const write = this.writer.write(activity).then(
      (result) => {
        entry.writing = false;
        if (result === 'deferred') entry.pending += activity.increment;
      },
      (error: unknown) => {
        entry.writing = false;
        entry.pending += activity.increment; // retried at the next interval
        this.onWriteError?.(error, activity);
      },
    );
    this.writes.add(write);
    void write.then(() => this.writes.delete(write));
  }

  /**
   * Forgets the least recently seen session (its unwritten count is lost), preferring one without
   * a write under way: forgotten, its next decision would start a second write. When every one is
   * writing, the bound wins (that second write then meets the resourceVersion precondition).
   */
  private evictOne(): void {
    let oldest: string | undefined;
    for (const [key, entry] of this.tracked) {
      oldest ??= key;
      if (entry.writing) continue;
      this.tracked.delete(key);
      return;
    }
    if (oldest !== undefined) this.tracked.delete(oldest);
  }
}
