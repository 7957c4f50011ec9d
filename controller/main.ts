/**
 * breakglass controller entry point: parse options, build the replica, run until SIGTERM.
 */
import { composeController, VERSION } from './compose.ts';
import { createLogger } from './observability/logger.ts';
import { effectiveLeaseNamespace, OptionError, parseOptions, usage, type ControllerOptions } from './options.ts';

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  process.stdout.write(usage());
  process.exit(0);
}

let options: ControllerOptions;
try {
  options = parseOptions(process.argv.slice(2));
} catch (err) {
  if (!(err instanceof OptionError)) throw err;
  process.stderr.write(`breakglass-controller: ${err.message}\n`);
  process.exit(2);
}

const logger = createLogger(options.logLevel, { app: 'breakglass-controller' });
logger.info({ version: VERSION, options }, 'Starting breakglass controller');

let composed: ReturnType<typeof composeController>;
try {
  composed = composeController(options, logger);
} catch (err) {
  // Configuration the option schema cannot see on its own (elector rules, kubeconfig).
  process.stderr.write(`breakglass-controller: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
}
const { process: controller, identity } = composed;

// A rejection nobody handles means a component stopped working unseen; restart cleanly instead.
process.on('unhandledRejection', (reason) => {
  logger.fatal({ err: reason }, 'unhandled promise rejection');
  void controller.shutdown().then(() => process.exit(1));
});

let signals = 0;
const onSignal = (signal: NodeJS.Signals) => {
  signals++;
  if (signals > 1) {
    logger.warn({ signal }, 'second signal, exiting immediately');
    process.exit(1);
  }
  logger.info({ signal }, 'received signal');
  void controller.shutdown().then(() => process.exit(0));
};
process.on('SIGTERM', onSignal);
process.on('SIGINT', onSignal);

try {
  await controller.start();
} catch (err) {
  logger.fatal({ err }, 'controller failed to start');
  await controller.shutdown();
  process.exit(1);
}
logger.info(
  {
    identity,
    leaderElection: options.enableLeaderElection,
    lease: `${effectiveLeaseNamespace(options)}/${options.leaderElectId}`,
    ports: controller.ports(),
  },
  'controller started',
);
