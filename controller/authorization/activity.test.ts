import { expect } from 'chai';
import { FakeClock } from '../clock/clock.ts';
import { formatTime } from '../sessions/timestamps.ts';
import { ActivityRecorder, type ActivityTarget, type ActivityWrite, type ActivityWriter } from './activity.ts';

const MINUTE = 60_000;

class RecordingWriter implements ActivityWriter {
  readonly writes: ActivityWrite[] = [];
  failNext = 0;
  deferNext = 0;
  async write(activity: ActivityWrite): Promise<void | 'deferred'> {
    this.writes.push(activity);
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('conflict');
    }
    if (this.deferNext > 0) {
      this.deferNext--;
      return 'deferred';
    }
  }
}

function target(overrides: Partial<ActivityTarget> = {}): ActivityTarget {
  return { namespace: 'team', name: 's1', uid: 'uid-1', resourceVersion: '7', lastActivity: undefined, ...overrides };
}

describe('ActivityRecorder', () => {
  it('turns a burst of 1,000 decisions into one write', async () => {
    const clock = new FakeClock();
    const writer = new RecordingWriter();
    const recorder = new ActivityRecorder(writer, { clock });
    for (let i = 0; i < 1000; i++) recorder.record(target());
    await recorder.settled();
    expect(writer.writes).to.have.length(1);
    expect(writer.writes[0]).to.deep.include({ namespace: 'team', name: 's1', uid: 'uid-1', resourceVersion: '7', increment: 1 });
    expect(writer.writes[0]!.lastActivity.getTime()).to.equal(clock.wallNow().getTime());
    expect(recorder.pendingCount()).to.equal(999);
  });

  it('writes the counted decisions once the minute has passed, with the time of the latest', async () => {
    const clock = new FakeClock();
    const writer = new RecordingWriter();
    const recorder = new ActivityRecorder(writer, { clock });
    recorder.record(target());
    await clock.advance(10_000);
    for (let i = 0; i < 5; i++) recorder.record(target());
    const latest = clock.wallNow().getTime();
    await recorder.flush();
    expect(writer.writes, 'still within the minute').to.have.length(1);
    await clock.advance(MINUTE);
    await recorder.flush();
    expect(writer.writes).to.have.length(2);
    expect(writer.writes[1]!.increment).to.equal(5);
    expect(writer.writes[1]!.lastActivity.getTime()).to.equal(latest);
    await clock.advance(MINUTE);
    await recorder.flush();
    expect(writer.writes, 'nothing left to write').to.have.length(2);
  });

  it('keeps the count of a deferred write (another replica had just written) for the next write', async () => {
    const clock = new FakeClock();
    const writer = new RecordingWriter();
    writer.deferNext = 1;
    const recorder = new ActivityRecorder(writer, { clock });
    for (let i = 0; i < 3; i++) recorder.record(target());
    await recorder.settled();
    expect(recorder.pendingCount(), 'the deferred one and the two after it').to.equal(3);
    await clock.advance(MINUTE);
    await recorder.flush();
    expect(writer.writes.map((w) => w.increment)).to.deep.equal([1, 3]);
    expect(recorder.pendingCount()).to.equal(0);
  });

  it('skips the write when another replica wrote lastActivity less than a minute ago', async () => {
    const clock = new FakeClock();
    const writer = new RecordingWriter();
    const recorder = new ActivityRecorder(writer, { clock });
    const recent = formatTime(clock.wallNow().getTime() - 30_000);
    for (let i = 0; i < 10; i++) recorder.record(target({ lastActivity: recent }));
    await recorder.settled();
    expect(writer.writes).to.have.length(0);
    await clock.advance(30_000);
    recorder.record(target({ lastActivity: recent }));
    await recorder.settled();
    expect(writer.writes).to.have.length(1);
    expect(writer.writes[0]!.increment).to.equal(11);
  });

  it('two replicas sharing the informer view write at most twice for 500 decisions in a minute', async () => {
    const clock = new FakeClock();
    const writer = new RecordingWriter();
    const replicas = [new ActivityRecorder(writer, { clock }), new ActivityRecorder(writer, { clock })];
    let informerCopy: string | undefined;
    for (let i = 0; i < 500; i++) {
      replicas[i % 2]!.record(target({ lastActivity: informerCopy }));
      await replicas[i % 2]!.settled();
      // The first write reaches the informers shortly after.
      if (writer.writes.length > 0 && informerCopy === undefined && i > 3) informerCopy = formatTime(writer.writes[0]!.lastActivity);
      await clock.advance(100);
    }
    expect(writer.writes.length).to.be.within(1, 2);
  });

  it('keeps the count of a failed write for the next one and reports the error', async () => {
    const clock = new FakeClock();
    const writer = new RecordingWriter();
    const errors: unknown[] = [];
    const recorder = new ActivityRecorder(writer, { clock, onWriteError: (error) => errors.push(error) });
    writer.failNext = 1;
    recorder.record(target());
    recorder.record(target());
    await recorder.settled();
    expect(errors).to.have.length(1);
    await clock.advance(MINUTE);
    await recorder.flush();
    expect(writer.writes.map((w) => w.increment)).to.deep.equal([1, 2]);
  });

  it('tracks sessions separately and starts over for a new object with the same name', async () => {
    const clock = new FakeClock();
    const writer = new RecordingWriter();
    const recorder = new ActivityRecorder(writer, { clock });
    recorder.record(target());
    recorder.record(target({ name: 's2', uid: 'uid-2' }));
    recorder.record(target({ uid: 'uid-3' }));
    await recorder.settled();
    expect(writer.writes.map((w) => w.uid)).to.deep.equal(['uid-1', 'uid-2', 'uid-3']);
  });

  it('bounds the number of tracked sessions; a forgotten one is still held back by the informer copy', async () => {
    const clock = new FakeClock();
    const writer = new RecordingWriter();
    const recorder = new ActivityRecorder(writer, { clock, maxSessions: 3 });
    for (let i = 0; i < 10; i++) recorder.record(target({ name: `s${i}`, uid: `u${i}` }));
    await recorder.settled();
    expect(recorder.trackedCount()).to.equal(3);
    expect(writer.writes).to.have.length(10);
    // The writes reached the informer: re-recording forgotten sessions writes nothing.
    const written = formatTime(clock.wallNow());
    for (let i = 0; i < 10; i++) recorder.record(target({ name: `s${i}`, uid: `u${i}`, lastActivity: written }));
    await recorder.settled();
    expect(writer.writes).to.have.length(10);
    expect(recorder.trackedCount()).to.equal(3);
  });

  it('forgets the least recently seen session first, and one whose write is under way last', async () => {
    const clock = new FakeClock();
    const written: string[] = [];
    let release: () => void = () => {};
    const slow: ActivityWriter = {
      write: (activity) => {
        written.push(activity.name);
        // The first write (busy's) hangs until released.
        return written.length === 1 ? new Promise<void>((resolve) => (release = resolve)) : Promise.resolve();
      },
    };
    const recorder = new ActivityRecorder(slow, { clock, maxSessions: 2 });
    recorder.record(target({ name: 'busy', uid: 'u-busy' }));
    await clock.advance(MINUTE);
    const recent = formatTime(clock.wallNow());
    recorder.record(target({ name: 'quiet', uid: 'u-quiet', lastActivity: recent }));
    recorder.record(target({ name: 'busy', uid: 'u-busy' })); // counted while its write hangs, seen last
    recorder.record(target({ name: 'new', uid: 'u-new', lastActivity: recent })); // quiet goes
    recorder.record(target({ name: 'newer', uid: 'u-newer', lastActivity: recent })); // busy is writing: new goes
    release();
    await recorder.settled();
    await clock.advance(MINUTE);
    await recorder.flush();
    expect(written, "busy's count survived both evictions and is written; quiet's and new's were forgotten").to.deep.equal(['busy', 'busy', 'newer']);
  });
});
