import { expect } from 'chai';
import { PollGate } from './poll-gate.ts';

describe('UI polling gate', () => {
  it('skips ticks while an answer is outstanding, but not an explicit refresh', () => {
    const gate = new PollGate();
    const first = gate.begin(false);
    expect(first).to.not.equal(undefined);
    expect(gate.begin(false)).to.equal(undefined);
    expect(gate.begin(true)).to.not.equal(undefined);
  });

  it('applies answers slower than the interval instead of dropping them all', () => {
    const gate = new PollGate();
    const slow = gate.begin(false)!;
    const refresh = gate.begin(true)!;
    expect(gate.settle(slow)).to.equal(true);
    expect(gate.settle(refresh)).to.equal(true);
    const next = gate.begin(false);
    expect(next, 'nothing outstanding: the next tick fetches').to.not.equal(undefined);
  });

  it('never replaces a newer answer by an older one', () => {
    const gate = new PollGate();
    const older = gate.begin(true)!;
    const newer = gate.begin(true)!;
    expect(gate.settle(newer)).to.equal(true);
    expect(gate.settle(older)).to.equal(false);
  });

  it('ignores answers for a previous list after a reset, and they do not block its ticks', () => {
    const gate = new PollGate();
    const stale = gate.begin(false)!;
    gate.reset();
    const fresh = gate.begin(false);
    expect(fresh).to.not.equal(undefined);
    expect(gate.settle(stale)).to.equal(false);
    expect(gate.settle(fresh!)).to.equal(true);
  });
});
