/**
 * The controller's command-line surface, defined once.
 *
 * The controller parses its flags and environment from these definitions, and the cdk8s
 * constructs in infra/ render Deployment args from the same definitions, so a renamed or
 * removed flag breaks the build instead of a rollout.
 */
import { DurationError, formatDuration, parseGoDuration } from '../crds/durations.ts';
import { loopStopWaitMs, minimumShutdownTimeoutMs, SERVER_CLOSE_RESERVE_MS } from './shutdown-budget.ts';
import { parseBindAddress } from './bind-address.ts';

type OptionKind = 'boolean' | 'string' | 'duration' | 'address' | 'rate';

interface OptionDefinition<K extends OptionKind> {
  readonly kind: K;
  /** Durations: the accepted range in milliseconds. */
  readonly minMs?: number;
  readonly maxMs?: number;
  /** Addresses: "0" switches the server off. */
  readonly mayDisable?: boolean;
  /** Strings: the accepted values, when the set is closed. */
  readonly values?: readonly string[];
  /** Long flag without the leading dashes, e.g. "enable-leader-election". */
  readonly flag: string;
  /** Environment variable read when the flag is absent. */
  readonly env: string;
  readonly default: ValueOf<K>;
  readonly description: string;
}

type ValueOf<K extends OptionKind> = K extends 'boolean'
  ? boolean
  : K extends 'duration'
    ? number
    : string;

function bool(flag: string, env: string, def: boolean, description: string): OptionDefinition<'boolean'> {
  return { kind: 'boolean', flag, env, default: def, description };
}
function str(flag: string, env: string, def: string, description: string, values?: readonly string[]): OptionDefinition<'string'> {
  return { kind: 'string', flag, env, default: def, description, ...(values ? { values } : {}) };
}
/** Node.js timers overflow above this (they then fire at once), so no interval may exceed it. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Shorter loop intervals would be a busy loop against the API server. */
const MIN_INTERVAL_MS = 100;

function duration(
  flag: string,
  env: string,
  def: string,
  description: string,
  range: { minMs?: number; maxMs?: number } = {},
): OptionDefinition<'duration'> {
  return { kind: 'duration', flag, env, default: parseGoDuration(def), description, minMs: range.minMs ?? MIN_INTERVAL_MS, maxMs: range.maxMs ?? MAX_TIMER_MS };
}
function address(flag: string, env: string, def: string, description: string, mayDisable = false): OptionDefinition<'address'> {
  return { kind: 'address', flag, env, default: def, description, mayDisable };
}
function rate(flag: string, env: string, def: string, description: string): OptionDefinition<'rate'> {
  return { kind: 'rate', flag, env, default: def, description };
}

/** A token bucket: requests per second, and how many may come at once. */
export interface RateLimitOption {
  readonly ratePerSecond: number;
  readonly burst: number;
}

const RATE_LIMIT = /^\s*(\d+(?:\.\d+)?)\/s\s*(?:,\s*(\d+)\s*)?$/;

/** Above this a limit is a typo, not a limit. */
const MAX_RATE_LIMIT = 1_000_000;

/**
 * `<n>/s` or `<n>/s,<burst>`; the burst defaults to twice the rate rounded up, at least 1.
 * Throws OptionError naming `source` (the flag or variable).
 */
export function parseRateLimit(text: string, source = 'rate limit'): RateLimitOption {
  const match = RATE_LIMIT.exec(text);
  const ratePerSecond = Number(match?.[1]);
  if (match === null || !(ratePerSecond > 0) || ratePerSecond > MAX_RATE_LIMIT) {
    throw new OptionError(`${source}: "${text}" is not a rate limit of the form <requests>/s or <requests>/s,<burst> with a rate above 0 and at most ${MAX_RATE_LIMIT}`);
  }
  const burst = match[2] === undefined ? Math.max(1, Math.ceil(2 * ratePerSecond)) : Number(match[2]);
  if (burst < 1 || burst > MAX_RATE_LIMIT) throw new OptionError(`${source}: the burst of "${text}" must be from 1 to ${MAX_RATE_LIMIT}`);
  return { ratePerSecond, burst };
}

export const optionDefinitions = {
  enableLeaderElection: bool('enable-leader-election', 'ENABLE_LEADER_ELECTION', true,
    'Elect one leader through a Lease; only the leader runs the background loops.'),
  leaderElectNamespace: str('leader-elect-namespace', 'LEADER_ELECT_NAMESPACE', '',
    'Namespace of the leader election Lease (default: the pod namespace, else breakglass-system).'),
  leaderElectId: str('leader-elect-id', 'LEADER_ELECT_ID', 'breakglass.telekom.io',
    'Name of the leader election Lease.'),
  leaderElectLeaseDuration: duration('leader-elect-lease-duration', 'LEADER_ELECT_LEASE_DURATION', '15s',
    'How long followers wait after the last observed renewal before taking over.',
    { minMs: 1000 }), // the Lease stores whole seconds
  leaderElectRenewDeadline: duration('leader-elect-renew-deadline', 'LEADER_ELECT_RENEW_DEADLINE', '10s',
    'How long the leader keeps retrying a renewal before it gives up leadership.'),
  leaderElectRetryPeriod: duration('leader-elect-retry-period', 'LEADER_ELECT_RETRY_PERIOD', '2s',
    'Interval between acquire and renew attempts.'),
  leaderElectReleaseTimeout: duration('leader-elect-release-timeout', 'LEADER_ELECT_RELEASE_TIMEOUT', '10s',
    'How long the leader keeps trying to release the Lease at shutdown (part of --shutdown-timeout).'),
  podNamespace: str('pod-namespace', 'POD_NAMESPACE', '',
    'Namespace this pod runs in (downward API); the Lease defaults to it.'),
  podName: str('pod-name', 'POD_NAME', '',
    'Name of this pod (downward API); the leader identity is derived from it.'),
  enableCleanup: bool('enable-cleanup', 'ENABLE_CLEANUP', true,
    'Run the session cleanup loop (leader only).'),
  enableWebhooks: bool('enable-webhooks', 'ENABLE_WEBHOOKS', true,
    'Serve the validating admission webhooks.'),
  enableFrontend: bool('enable-frontend', 'ENABLE_FRONTEND', true,
    'Serve the web UI.'),
  uiDir: str('ui-dir', 'UI_DIR', '',
    'Folder of the built web UI (npm run build:ui). Empty: build/ui next to the program.'),
  enableApi: bool('enable-api', 'ENABLE_API', true,
    'Serve the REST API and the authorization webhook.'),
  apiRateLimitPerAddress: rate('api-rate-limit-per-address', 'API_RATE_LIMIT_PER_ADDRESS', '10/s,20',
    'REST API requests per client address: to the open routes (checked before the route), and with a missing or refused token '
    + '(counted after verification; an exhausted address gets 429 instead of 401). A verified user is never refused for its address.'),
  apiRateLimitPerUser: rate('api-rate-limit-per-user', 'API_RATE_LIMIT_PER_USER', '50/s,100',
    'REST API requests per authenticated user.'),
  disableSessionRateLimit: bool('disable-session-rate-limit', 'DISABLE_SESSION_RATE_LIMIT', false,
    'Turn off the per-user limit on session requests (10 per minute); for tests and benchmarks.'),
  cleanupInterval: duration('cleanup-interval', 'CLEANUP_INTERVAL', '5m',
    'Interval of the session cleanup loop.'),
  escalationStatusUpdateInterval: duration('escalation-status-update-interval', 'ESCALATION_STATUS_UPDATE_INTERVAL', '10m',
    'Interval of the approver-group sync into BreakglassEscalation status.'),
  clusterConfigCheckInterval: duration('cluster-config-check-interval', 'CLUSTER_CONFIG_CHECK_INTERVAL', '10m',
    'Interval of the ClusterConfig checker.'),
  apiBindAddress: address('api-bind-address', 'API_BIND_ADDRESS', ':8080',
    'Address of the API, UI and authorization webhook server.'),
  metricsBindAddress: address('metrics-bind-address', 'METRICS_BIND_ADDRESS', ':8081',
    'Address of the Prometheus metrics server ("0" disables it).', true),
  healthProbeBindAddress: address('health-probe-bind-address', 'PROBE_BIND_ADDRESS', ':8082',
    'Address of the /healthz and /readyz server.'),
  webhookBindAddress: address('webhook-bind-address', 'WEBHOOK_BIND_ADDRESS', ':9443',
    'Address of the HTTPS admission webhook server.'),
  webhookCertPath: str('webhook-cert-path', 'WEBHOOK_CERT_PATH', '/tmp/k8s-webhook-server/serving-certs',
    'Directory holding the webhook serving certificate; reloaded when the files change.'),
  webhookCertName: str('webhook-cert-name', 'WEBHOOK_CERT_NAME', 'tls.crt',
    'File name of the webhook serving certificate.'),
  webhookCertKey: str('webhook-cert-key', 'WEBHOOK_CERT_KEY', 'tls.key',
    'File name of the webhook serving key.'),
  sarTlsBindAddress: address('sar-tls-bind-address', 'SAR_TLS_BIND_ADDRESS', ':8443',
    'Address of the HTTPS listener that serves only the authorization webhook, for spokes that authenticate with a client certificate; '
    + 'listens only when --sar-tls-cert-file is set.'),
  sarTlsCertFile: str('sar-tls-cert-file', 'SAR_TLS_CERT_FILE', '',
    'Serving certificate (PEM) of the authorization webhook\'s HTTPS listener; reloaded when the file changes. It asks every client for a '
    + 'certificate without requiring one; each ClusterConfig\'s webhookAuthentication.clientCertificate says which CA must have issued it. '
    + 'Empty: no such listener.'),
  sarTlsKeyFile: str('sar-tls-key-file', 'SAR_TLS_KEY_FILE', '',
    'Private key (PEM) of --sar-tls-cert-file; required with it.'),
  frontendBaseUrl: str('frontend-base-url', 'FRONTEND_BASE_URL', '',
    'Base URL of the web UI; authorization webhook denials link to <url>?search=<cluster>&group=<group>. Empty: no links.'),
  oidcPrefixes: str('oidc-prefixes', 'OIDC_PREFIXES', '',
    'Comma-separated group prefixes the spokes add to token groups (e.g. "oidc:"); grant checks on a spoke also try each prefixed group.'),
  sarGrantCacheTtl: duration('sar-grant-cache-ttl', 'SAR_GRANT_CACHE_TTL', '10s',
    'How long the authorization webhook reuses a spoke\'s "allowed" answer for (cluster, group, request); "not allowed" is kept half as long. '
    + 'Session state is never cached beyond the informer. Range 1s to 5m.',
    { minMs: 1000, maxMs: 300_000 }),
  sarRateLimitPerCluster: rate('sar-rate-limit-per-cluster', 'SAR_RATE_LIMIT_PER_CLUSTER', '1000/s,2000',
    'Authorization webhook requests per ClusterConfig and replica from its authenticated caller (a refused request never '
    + 'spends a spoke\'s budget; it gets 401). Beyond it 429 with Retry-After: the spoke\'s API server sends the review again after it '
    + '(at least 1 s) while its webhook timeout lasts (required in an AuthorizationConfiguration, at most 30 s), then applies its failurePolicy. Keeps one spoke from taking a replica from the others.'),
  cacheMaxAge: duration('cache-max-age', 'CACHE_MAX_AGE', '3m',
    'Readiness fails while an informer cache has had no event, watch start or list for longer than this; '
    + 'a cache silent for half of it is replaced by a fresh list + watch, and watches are renewed every third of it. '
    + 'Range 5s to 1h.',
    { minMs: 5000, maxMs: 3_600_000 }),
  shutdownTimeout: duration('shutdown-timeout', 'SHUTDOWN_TIMEOUT', '15s',
    'Upper bound for a graceful shutdown before the process exits anyway; with leader election at least the release timeout + 2s.'),
  logLevel: str('log-level', 'LOG_LEVEL', 'info',
    'Minimum level of the JSON log lines.', ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']),
} as const;

export type OptionName = keyof typeof optionDefinitions;

/** Parsed options: booleans, strings, and durations in milliseconds. */
export type ControllerOptions = {
  -readonly [N in OptionName]: (typeof optionDefinitions)[N]['default'] extends boolean
    ? boolean
    : (typeof optionDefinitions)[N]['default'] extends number
      ? number
      : string;
};

export class OptionError extends Error {}

const TRUE_WORDS = new Set(['true', '1', 'yes']);
const FALSE_WORDS = new Set(['false', '0', 'no']);

function convert(name: OptionName, raw: string, source: string): boolean | number | string {
  const def = optionDefinitions[name];
  switch (def.kind) {
    case 'boolean': {
      const word = raw.trim().toLowerCase();
      if (TRUE_WORDS.has(word)) return true;
      if (FALSE_WORDS.has(word)) return false;
      throw new OptionError(`${source}: "${raw}" is not a boolean (use true/false, 1/0 or yes/no)`);
    }
    case 'duration': {
      let ms: number;
      try {
        ms = parseGoDuration(raw);
      } catch (err) {
        const why = err instanceof DurationError ? err.message : String(err);
        throw new OptionError(`${source}: ${why}`);
      }
      if (ms <= 0) throw new OptionError(`${source}: duration must be positive, got "${raw}"`);
      const { minMs = 1, maxMs = MAX_TIMER_MS } = def;
      if (ms < minMs) throw new OptionError(`${source}: "${raw}" is too short, the minimum is ${formatDuration(minMs)}`);
      if (ms > maxMs) throw new OptionError(`${source}: "${raw}" is too long, the maximum is ${formatDuration(maxMs)}`);
      return ms;
    }
    case 'address': {
      if (raw === '0' && def.mayDisable) return raw;
      try {
        parseBindAddress(raw);
      } catch {
        throw new OptionError(`${source}: "${raw}" is not a bind address of the form [host]:port`);
      }
      return raw;
    }
    case 'rate':
      parseRateLimit(raw, source);
      return raw;
    case 'string':
      return raw;
  }
}

/**
 * Parses argv (flags as --name=value, --name value, or --name / --no-name for booleans) with
 * the environment as fallback. Unknown flags and bad values throw OptionError.
 */
export function parseOptions(argv: readonly string[], env: Readonly<Record<string, string | undefined>> = process.env): ControllerOptions {
  const byFlag = new Map<string, OptionName>();
  for (const name of Object.keys(optionDefinitions) as OptionName[]) {
    byFlag.set(optionDefinitions[name].flag, name);
  }
  const fromArgs = new Map<OptionName, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const match = /^--([a-z0-9-]+)(?:=(.*))?$/s.exec(arg);
    if (!match) throw new OptionError(`unexpected argument "${arg}"`);
    const flag = match[1] as string;
    let value = match[2];
    let name = byFlag.get(flag);
    if (!name && flag.startsWith('no-')) {
      const positive = byFlag.get(flag.slice(3));
      if (positive && optionDefinitions[positive].kind === 'boolean' && value === undefined) {
        fromArgs.set(positive, 'false');
        continue;
      }
    }
    if (!name) throw new OptionError(`unknown flag --${flag}`);
    if (value === undefined) {
      if (optionDefinitions[name].kind === 'boolean') {
        const next = argv[i + 1];
        value = next !== undefined && (TRUE_WORDS.has(next) || FALSE_WORDS.has(next)) ? (i++, next) : 'true';
      } else {
        const next = argv[i + 1];
        if (next === undefined) throw new OptionError(`flag --${flag} needs a value`);
        value = next;
        i++;
      }
    }
    fromArgs.set(name, value);
  }

  const result: Record<string, boolean | number | string> = {};
  for (const name of Object.keys(optionDefinitions) as OptionName[]) {
    const def = optionDefinitions[name];
    const arg = fromArgs.get(name);
    const envValue = env[def.env];
    if (arg !== undefined) result[name] = convert(name, arg, `--${def.flag}`);
    else if (envValue !== undefined && envValue !== '') result[name] = convert(name, envValue, def.env);
    else result[name] = def.default;
  }
  const options = result as ControllerOptions;
  validateOptions(options);
  return options;
}

/** Cross-option rules; the client-go rule LeaseDuration > RenewDeadline > 1.2 × RetryPeriod. */
export function validateOptions(options: ControllerOptions): void {
  const { leaderElectLeaseDuration: lease, leaderElectRenewDeadline: renew, leaderElectRetryPeriod: retry } = options;
  if (lease <= renew) {
    throw new OptionError(
      `--leader-elect-lease-duration (${formatDuration(lease)}) must be greater than --leader-elect-renew-deadline (${formatDuration(renew)})`,
    );
  }
  if (renew <= 1.2 * retry) {
    throw new OptionError(
      `--leader-elect-renew-deadline (${formatDuration(renew)}) must be greater than 1.2 × --leader-elect-retry-period (${formatDuration(retry)})`,
    );
  }
  const minimumShutdown = minimumShutdownTimeoutMs({
    releaseTimeoutMs: options.leaderElectReleaseTimeout,
    retryPeriodMs: retry,
    leaderElection: options.enableLeaderElection,
  });
  if (options.shutdownTimeout < minimumShutdown) {
    throw new OptionError(
      `--shutdown-timeout (${formatDuration(options.shutdownTimeout)}) must be at least ${formatDuration(minimumShutdown)}: ` +
        `--leader-elect-release-timeout (${formatDuration(options.leaderElectReleaseTimeout)}) plus up to ${formatDuration(loopStopWaitMs(retry))} ` +
        `for the leader-only loops to stop and ${formatDuration(SERVER_CLOSE_RESERVE_MS)} to close the servers`,
    );
  }
  const logLevels = optionDefinitions.logLevel.values ?? [];
  if (!logLevels.includes(options.logLevel)) {
    throw new OptionError(`--log-level: "${options.logLevel}" is not one of ${logLevels.join(', ')}`);
  }
  if (options.leaderElectId.trim() === '') throw new OptionError('--leader-elect-id must not be empty');
  if ((options.sarTlsCertFile === '') !== (options.sarTlsKeyFile === '')) {
    throw new OptionError('--sar-tls-cert-file and --sar-tls-key-file must be set together');
  }
}

/** The Lease namespace in effect: the flag, else the pod namespace, else breakglass-system. */
export function effectiveLeaseNamespace(options: ControllerOptions): string {
  return options.leaderElectNamespace || options.podNamespace || 'breakglass-system';
}

export function defaultOptions(): ControllerOptions {
  return parseOptions([], {});
}

/**
 * Renders options as command-line arguments, one "--flag=value" per option that differs from
 * its default, in definition order (stable output for GitOps diffs).
 */
export function toArgs(options: Partial<ControllerOptions>): string[] {
  const args: string[] = [];
  for (const name of Object.keys(optionDefinitions) as OptionName[]) {
    const value = options[name];
    if (value === undefined) continue;
    const def = optionDefinitions[name];
    if (value === def.default) continue;
    const text = def.kind === 'duration' ? formatDuration(value as number) : String(value);
    args.push(`--${def.flag}=${text}`);
  }
  return args;
}

/** The --help text: every flag with its environment variable, default and description. */
export function usage(): string {
  const lines = ['Usage: breakglass-controller [flags]', '', 'Every flag can also be set through its environment variable.', ''];
  for (const name of Object.keys(optionDefinitions) as OptionName[]) {
    const def = optionDefinitions[name];
    const shown = def.kind === 'duration' ? formatDuration(def.default as number) : JSON.stringify(def.default);
    lines.push(`  --${def.flag} (${def.env}, default ${shown})`, `      ${def.description}`);
  }
  return lines.join('\n') + '\n';
}
