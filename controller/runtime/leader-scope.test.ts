import { expect } from 'chai';
import { FakeClock } from '../clock/clock.ts';
import { LeaderTerm } from '../leadership/term.ts';
import { silentLogger } from '../observability/logger.ts';
import { LeaderScope } from './leader-scope.ts';
import type { LoopDefinition } from './loop.ts';

function term(clock: FakeClock, number: number): LeaderTerm {
  return new LeaderTerm({ number, identity: 'me', clock, leaseDurationMs: 15_000, safetyMarginMs: 5_000, acquiredAt: clock.now(), onExpired: () => undefined });
}

describe('leader scope', () => {
  it('runs leader-only loops per term with that term as guard, and waits for them to stop', async () => {
    const clock = new FakeClock();
    const seen: { term: number; aborted: boolean }[] = [];
    let release: () => void = () => undefined;
    const loop: LoopDefinition = {
      name: 'probe',
      leaderOnly: true,
      intervalMs: 60_000,
      async runPass(ctx) {
        ctx.guard.assertCanWrite();
        seen.push({ term: (ctx.guard as LeaderTerm).number, aborted: ctx.signal.aborted });
        // The pass outlives the term a little, like a write in flight.
        await new Promise<void>((resolve) => {
          release = resolve;
          ctx.signal.addEventListener('abort', () => setTimeout(resolve, 5), { once: true });
        });
      },
    };
    const scope = new LeaderScope([loop], { logger: silentLogger() });
    const callbacks = scope.callbacks();

    const first = term(clock, 1);
    callbacks.onStartedLeading?.(first);
    expect(scope.active).to.equal(true);
    first.end('leaseTaken');
    await callbacks.onStoppedLeading?.({ term: first, reason: 'leaseTaken' });
    expect(scope.active, 'loops of the ended term have stopped').to.equal(false);

    const second = term(clock, 2);
    callbacks.onStartedLeading?.(second);
    release();
    second.end('shutdown');
    await callbacks.onStoppedLeading?.({ term: second, reason: 'shutdown' });

    expect(seen.map((s) => s.term)).to.deep.equal([1, 2]);
    expect(seen.every((s) => !s.aborted)).to.equal(true);
    expect(scope.termCount).to.equal(2);
  });
});
