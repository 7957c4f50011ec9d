/**
 * The process frame every benchmark shares: run `main`, clean up what it started on success,
 * failure, Ctrl-C or SIGTERM, and exit 0, 1 or 130.
 */
export async function runBench<R extends { cleanup(): Promise<void> }>(res: R, main: (res: R) => Promise<void>, log: (line: string) => void): Promise<never> {
  let interrupted = false;
  // `on`, not `once`: the control plane's own handler re-raises the signal after stopping it,
  // and that must not kill this process before the replicas are stopped.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (interrupted) return;
      interrupted = true;
      log(`${signal}: cleaning up`);
      void res.cleanup().finally(() => process.exit(130));
    });
  }
  try {
    await main(res);
    await res.cleanup();
    process.exit(0);
  } catch (err) {
    if (!interrupted) {
      log(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      await res.cleanup();
      process.exit(1);
    }
  }
  // Interrupted: the signal handler exits once its cleanup is done.
  return new Promise<never>(() => {});
}
