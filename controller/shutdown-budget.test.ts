import { expect } from 'chai';
import { defaultOptions, OptionError, parseOptions } from './options.ts';
import { minimumShutdownTimeoutMs, shutdownBudget, ShutdownBudgetError } from './shutdown-budget.ts';

const budgetOf = (argv: string[]) => {
  const o = parseOptions(argv, {});
  return shutdownBudget({
    shutdownTimeoutMs: o.shutdownTimeout,
    releaseTimeoutMs: o.leaderElectReleaseTimeout,
    retryPeriodMs: o.leaderElectRetryPeriod,
    leaderElection: o.enableLeaderElection,
  });
};

describe('shutdown budget', () => {
  it('at the defaults the whole release fits: 1 s loop stop + 10 s release + 1 s server close within 15 s', () => {
    const o = defaultOptions();
    expect(o).to.include({ shutdownTimeout: 15_000, leaderElectReleaseTimeout: 10_000, leaderElectRenewDeadline: 10_000 });
    const b = budgetOf([]);
    expect(b).to.deep.equal({ totalMs: 15_000, loopStopMs: 1_000, releaseMs: 10_000, stopPhaseMs: 14_000, closeMs: 1_000, drainMs: 1_000 });
    // The reason for the budget: the release may take as long as a renew deadline after the loops stopped.
    expect(b.loopStopMs + b.releaseMs).to.be.at.most(b.stopPhaseMs);
    expect(b.stopPhaseMs + b.closeMs).to.equal(b.totalMs);
  });

  it('the old 4 s default could not hold a release that takes the renew deadline', () => {
    expect(minimumShutdownTimeoutMs({ releaseTimeoutMs: 10_000, retryPeriodMs: 2_000, leaderElection: true })).to.equal(12_000);
    expect(() => shutdownBudget({ shutdownTimeoutMs: 4_000, releaseTimeoutMs: 10_000, retryPeriodMs: 2_000, leaderElection: true })).to.throw(
      ShutdownBudgetError,
    );
  });

  it('scales the loop stop with a short retry period and keeps the release budget as configured', () => {
    const b = budgetOf(['--leader-elect-lease-duration=3s', '--leader-elect-renew-deadline=2s', '--leader-elect-retry-period=500ms', '--leader-elect-release-timeout=2s', '--shutdown-timeout=4s']);
    expect(b).to.deep.equal({ totalMs: 4_000, loopStopMs: 500, releaseMs: 2_000, stopPhaseMs: 3_000, closeMs: 1_000, drainMs: 1_000 });
  });

  it('without leader election there is no release, and a short timeout keeps most of it for stopping', () => {
    const b = budgetOf(['--enable-leader-election=false', '--shutdown-timeout=2s']);
    expect(b).to.deep.equal({ totalMs: 2_000, loopStopMs: 0, releaseMs: 0, stopPhaseMs: 1_500, closeMs: 500, drainMs: 500 });
  });

  it('refuses, naming both flags, a shutdown timeout the release does not fit in', () => {
    expect(() => parseOptions(['--shutdown-timeout=4s'], {})).to.throw(
      OptionError,
      /^--shutdown-timeout \(4s\) must be at least 12s: --leader-elect-release-timeout \(10s\) plus up to 1s for the leader-only loops to stop and 1s to close the servers$/,
    );
    expect(() => parseOptions([], { LEADER_ELECT_RELEASE_TIMEOUT: '14s' })).to.throw(OptionError, /--shutdown-timeout \(15s\) must be at least 16s/);
    expect(parseOptions(['--shutdown-timeout=4s', '--leader-elect-release-timeout=2s'], {})).to.include({ shutdownTimeout: 4_000, leaderElectReleaseTimeout: 2_000 });
    expect(parseOptions(['--shutdown-timeout=1s', '--enable-leader-election=false'], {})).to.include({ shutdownTimeout: 1_000 });
  });
});
