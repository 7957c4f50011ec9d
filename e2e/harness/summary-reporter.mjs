// Mocha's spec reporter plus, at the end, the ten files that took longest (where a slow run
// spends its time) and one closing line "N passed, N failed, N skipped" that CI systems read
// whatever the test runner.
import Mocha from 'mocha';

const { EVENT_RUN_END, EVENT_SUITE_BEGIN, EVENT_SUITE_END } = Mocha.Runner.constants;

export default class SpecWithSummary extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    /** Milliseconds per spec file, hooks included, summed over its top-level suites. */
    const byFile = new Map();
    const began = new Map();
    runner.on(EVENT_SUITE_BEGIN, (suite) => {
      if (suite.parent?.root === true && suite.file) began.set(suite, performance.now());
    });
    runner.on(EVENT_SUITE_END, (suite) => {
      const start = began.get(suite);
      if (start === undefined) return;
      began.delete(suite);
      byFile.set(suite.file, (byFile.get(suite.file) ?? 0) + performance.now() - start);
    });
    runner.once(EVENT_RUN_END, () => {
      const slowest = [...byFile].sort((a, b) => b[1] - a[1]).slice(0, 10);
      if (slowest.length > 0) {
        const cwd = `${process.cwd()}/`;
        process.stdout.write(`\nslowest files:\n${slowest.map(([file, ms]) => `  ${(ms / 1000).toFixed(1).padStart(7)} s  ${file.startsWith(cwd) ? file.slice(cwd.length) : file}`).join('\n')}\n`);
      }
      const s = runner.stats ?? {};
      process.stdout.write(`\ntests: ${s.passes ?? 0} passed, ${s.failures ?? 0} failed, ${s.pending ?? 0} skipped\n`);
    });
  }
}
