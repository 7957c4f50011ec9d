import { expect } from 'chai';
import { FencedError } from './fencing.ts';
import { FakeClock } from '../clock/clock.ts';
import { LeaderTerm, TermEndedError, makeIdentity } from './term.ts';

function newTerm(clock: FakeClock, onExpired?: () => void): LeaderTerm {
  return new LeaderTerm({
    number: 1,
    identity: 'replica-a',
    clock,
    leaseDurationMs: 15_000,
    safetyMarginMs: 5_000,
    acquiredAt: clock.now(),
    ...(onExpired ? { onExpired } : {}),
  });
}

describe('LeaderTerm (fencing guard)', () => {
  it('allows writes until lastRenew + leaseDuration - margin, then refuses them', async () => {
    const clock = new FakeClock();
    const term = newTerm(clock);
    expect(() => term.assertCanWrite()).to.not.throw();
    clock.jump(9_999);
    expect(term.isValid()).to.equal(true);
    expect(() => term.assertCanWrite()).to.not.throw();
    clock.jump(1);
    expect(term.isValid()).to.equal(false);
    expect(() => term.assertCanWrite()).to.throw(FencedError, /no longer safely valid/);
  });

  it('a successful renew extends the window from the start of that renew', () => {
    const clock = new FakeClock();
    const term = newTerm(clock);
    clock.jump(8_000);
    term.renewed(clock.now());
    clock.jump(8_000);
    expect(() => term.assertCanWrite()).to.not.throw();
    expect(term.validUntil).to.equal(8_000 + 10_000);
    term.renewed(1_000); // an older renew finishing late does not move the window back
    expect(term.lastRenew).to.equal(8_000);
  });

  it('tells its owner when the guard finds it expired', () => {
    const clock = new FakeClock();
    let expired = 0;
    const term = newTerm(clock, () => (expired += 1));
    clock.jump(20_000);
    expect(() => term.assertCanWrite()).to.throw(FencedError);
    expect(expired).to.equal(1);
  });

  it('once ended, aborts its signal with the reason and refuses writes even if recently renewed', () => {
    const clock = new FakeClock();
    const term = newTerm(clock);
    expect(term.end('leaseTaken')).to.equal(true);
    expect(term.end('shutdown')).to.equal(false);
    expect(term.signal.aborted).to.equal(true);
    expect(term.signal.reason).to.be.instanceOf(TermEndedError);
    expect((term.signal.reason as TermEndedError).reason).to.equal('leaseTaken');
    expect(term.endReason).to.equal('leaseTaken');
    expect(() => term.assertCanWrite()).to.throw(FencedError, /has ended \(leaseTaken\)/);
    term.renewed(clock.now() + 1);
    expect(term.isValid()).to.equal(false);
  });
});

describe('makeIdentity', () => {
  it('is the pod name plus a random suffix, unique per call', () => {
    const a = makeIdentity('breakglass-7d9f-abcde');
    const b = makeIdentity('breakglass-7d9f-abcde');
    expect(a).to.match(/^breakglass-7d9f-abcde_[0-9a-f-]{36}$/);
    expect(a).to.not.equal(b);
  });

  it('falls back to the hostname without a pod name', () => {
    expect(makeIdentity()).to.match(/^.+_[0-9a-f-]{36}$/);
    expect(makeIdentity('  ')).to.not.match(/^\s/);
  });
});
