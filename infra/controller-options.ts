/**
 * Typed construct props -> controller options -> `--flag=value` args.
 *
 * The args come from `toArgs` of controller/options.ts, the schema the controller itself parses,
 * so a renamed option key breaks this file's build and a renamed flag changes the rendered args
 * (and the golden files) instead of silently drifting from the binary.
 */
import type { Duration } from 'cdk8s';
import { OptionError, optionDefinitions, parseOptions, parseRateLimit, toArgs, type ControllerOptions, type OptionName } from '../controller/options.ts';

/** Options the Workload sets itself: they must match the pod's ports, mounts and downward API. */
export const WORKLOAD_OWNED_OPTIONS = [
  'podNamespace',
  'podName',
  'apiBindAddress',
  'metricsBindAddress',
  'healthProbeBindAddress',
  'webhookBindAddress',
  'webhookCertPath',
  'webhookCertName',
  'webhookCertKey',
  'sarTlsBindAddress',
  'sarTlsCertFile',
  'sarTlsKeyFile',
] as const satisfies readonly OptionName[];

export type WorkloadOwnedOption = (typeof WORKLOAD_OWNED_OPTIONS)[number];

/** Controller options a manifest may set (everything but what the pod layout fixes). */
export type ConfigurableControllerOptions = Partial<Omit<ControllerOptions, WorkloadOwnedOption>>;

export interface LeaderElectionProps {
  /**
   * Elect one leader through a Lease; only the leader runs the background loops. When false,
   * every replica runs them (only sensible with one replica).
   * @default true
   */
  readonly enabled?: boolean;
  /**
   * Name of the Lease.
   * @default 'breakglass.telekom.io'
   */
  readonly leaseId?: string;
  /**
   * Namespace of the Lease (it must exist; only the controller namespace is created).
   * @default - the controller namespace
   */
  readonly leaseNamespace?: string;
  /**
   * How long followers wait after the last observed renewal before taking over.
   * @default Duration.seconds(15)
   */
  readonly leaseDuration?: Duration;
  /**
   * How long the leader keeps retrying a renewal before it gives up leadership.
   * @default Duration.seconds(10)
   */
  readonly renewDeadline?: Duration;
  /**
   * Interval between acquire and renew attempts.
   * @default Duration.seconds(2)
   */
  readonly retryPeriod?: Duration;
  /**
   * How long the leader keeps trying to release the Lease at shutdown; must fit in the shutdown
   * timeout together with 2 s for stopping loops and closing servers.
   * @default Duration.seconds(10)
   */
  readonly releaseTimeout?: Duration;
}

export interface ComponentSwitches {
  /**
   * Run the session cleanup loop (leader only).
   * @default true
   */
  readonly cleanup?: boolean;
  /**
   * Serve the validating admission webhooks (and install their configuration and Service).
   * @default true
   */
  readonly webhooks?: boolean;
  /**
   * Serve the web UI.
   * @default true
   */
  readonly frontend?: boolean;
  /**
   * Serve the REST API and the authorization webhook.
   * @default true
   */
  readonly api?: boolean;
}

export interface LoopIntervals {
  /**
   * Interval of the session cleanup loop.
   * @default Duration.minutes(5)
   */
  readonly cleanup?: Duration;
  /**
   * Interval of the approver-group sync into BreakglassEscalation status.
   * @default Duration.minutes(10)
   */
  readonly escalationStatusUpdate?: Duration;
  /**
   * Interval of the ClusterConfig checker.
   * @default Duration.minutes(10)
   */
  readonly clusterConfigCheck?: Duration;
}

/** Rate limits of the REST API, each `<n>/s` or `<n>/s,<burst>` (burst default 2 × n). */
export interface ApiRateLimitSettings {
  /**
   * Per client address: open routes, and requests with a missing or refused token. Behind an
   * ingress every user shares its address; a verified user is never refused for it.
   * @default '10/s,20'
   */
  readonly perAddress?: string;
  /**
   * Per authenticated user.
   * @default '50/s,100'
   */
  readonly perUser?: string;
}

/** The authorization webhook's rate limit, `<n>/s` or `<n>/s,<burst>` (burst default 2 × n). */
export interface WebhookRateLimitSettings {
  /**
   * Per ClusterConfig and replica, for its authenticated caller; beyond it 429 with Retry-After,
   * which the spoke's API server waits out within its webhook timeout.
   * @default '1000/s,2000'
   */
  readonly perCluster?: string;
}

/** The typed settings BreakglassController turns into controller options. */
export interface ControllerSettings {
  /** Namespace the controller runs in; the Lease namespace defaults to it. */
  readonly namespace: string;
  readonly leaderElection?: LeaderElectionProps;
  readonly components?: ComponentSwitches;
  readonly intervals?: LoopIntervals;
  readonly apiRateLimits?: ApiRateLimitSettings;
  readonly webhookRateLimits?: WebhookRateLimitSettings;
  /** @default 'info' */
  readonly logLevel?: string;
  /** @default Duration.seconds(15) */
  readonly shutdownTimeout?: Duration;
}

/** The Lease the controller competes for, resolved against the controller namespace. */
export interface LeaseLocation {
  readonly id: string;
  readonly namespace: string;
}

export function leaseLocation(namespace: string, leaderElection: LeaderElectionProps = {}): LeaseLocation {
  return {
    id: leaderElection.leaseId ?? optionDefinitions.leaderElectId.default,
    namespace: leaderElection.leaseNamespace ?? namespace,
  };
}

function ms(duration: Duration | undefined): number | undefined {
  return duration?.toMilliseconds();
}

/** A rate-limit setting as given, checked so that a bad one fails the synth (naming the property), not the rollout. */
function checkedRateLimit(value: string | undefined, property: string): string | undefined {
  if (value !== undefined) parseRateLimit(value, property);
  return value;
}

/**
 * Maps typed settings to controller options. Unset settings stay unset, so `toArgs` leaves the
 * controller's own defaults in force; with leader election on, the Lease namespace is always
 * explicit because the RBAC Role must be created in exactly that namespace.
 */
export function controllerOptions(settings: ControllerSettings): ConfigurableControllerOptions {
  const leader = settings.leaderElection ?? {};
  const components = settings.components ?? {};
  const intervals = settings.intervals ?? {};
  const limits = settings.apiRateLimits ?? {};
  const webhookLimits = settings.webhookRateLimits ?? {};
  const lease = leaseLocation(settings.namespace, leader);
  const electing = leader.enabled ?? optionDefinitions.enableLeaderElection.default;
  const options: ConfigurableControllerOptions = {
    enableLeaderElection: leader.enabled,
    leaderElectNamespace: electing ? lease.namespace : undefined,
    leaderElectId: electing ? lease.id : undefined,
    leaderElectLeaseDuration: ms(leader.leaseDuration),
    leaderElectRenewDeadline: ms(leader.renewDeadline),
    leaderElectRetryPeriod: ms(leader.retryPeriod),
    leaderElectReleaseTimeout: ms(leader.releaseTimeout),
    enableCleanup: components.cleanup,
    enableWebhooks: components.webhooks,
    enableFrontend: components.frontend,
    enableApi: components.api,
    cleanupInterval: ms(intervals.cleanup),
    escalationStatusUpdateInterval: ms(intervals.escalationStatusUpdate),
    clusterConfigCheckInterval: ms(intervals.clusterConfigCheck),
    apiRateLimitPerAddress: checkedRateLimit(limits.perAddress, 'apiRateLimits.perAddress'),
    apiRateLimitPerUser: checkedRateLimit(limits.perUser, 'apiRateLimits.perUser'),
    sarRateLimitPerCluster: checkedRateLimit(webhookLimits.perCluster, 'webhookRateLimits.perCluster'),
    shutdownTimeout: ms(settings.shutdownTimeout),
    logLevel: settings.logLevel,
  };
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as ConfigurableControllerOptions;
}

/**
 * Renders options as args and checks them the way the controller will at startup, so a bad
 * combination (e.g. renew deadline >= lease duration) fails the synth, not the rollout.
 */
export function renderControllerArgs(options: ConfigurableControllerOptions): string[] {
  for (const owned of WORKLOAD_OWNED_OPTIONS) {
    if ((options as Partial<ControllerOptions>)[owned] !== undefined) {
      throw new Error(`controllerOptions.${owned} is set by the Workload (it must match the pod layout); remove it`);
    }
  }
  const args = toArgs(options);
  try {
    parseOptions(args, {});
  } catch (err) {
    if (err instanceof OptionError) throw new Error(`invalid controller options: ${err.message}`);
    throw err;
  }
  return args;
}

/** Port number of a bind address default such as ":8080". */
export function portOf(address: string): number {
  const port = Number(address.slice(address.lastIndexOf(':') + 1));
  if (!Number.isInteger(port) || port <= 0) throw new Error(`bind address "${address}" has no port`);
  return port;
}

/** The container ports, taken from the controller's bind-address defaults. */
export const CONTROLLER_PORTS = {
  http: portOf(optionDefinitions.apiBindAddress.default),
  metrics: portOf(optionDefinitions.metricsBindAddress.default),
  probes: portOf(optionDefinitions.healthProbeBindAddress.default),
  webhook: portOf(optionDefinitions.webhookBindAddress.default),
  sarTls: portOf(optionDefinitions.sarTlsBindAddress.default),
} as const;

/**
 * Kubernetes sends SIGKILL this long after SIGTERM. The margin over the shutdown timeout covers
 * what happens outside it: the preStop/SIGTERM delivery, the event loop noticing the timer,
 * flushing logs and the process exit.
 */
export const TERMINATION_GRACE_MARGIN_SECONDS = 15;

/** The pod's terminationGracePeriodSeconds for these options: shutdown timeout plus the margin. */
export function terminationGracePeriodSeconds(options: ConfigurableControllerOptions): number {
  const shutdownMs = options.shutdownTimeout ?? optionDefinitions.shutdownTimeout.default;
  return Math.ceil(shutdownMs / 1000) + TERMINATION_GRACE_MARGIN_SECONDS;
}

/** Whether a component is on, after the controller's defaults. */
export function isEnabled(options: ConfigurableControllerOptions, name: 'enableWebhooks' | 'enableApi' | 'enableFrontend' | 'enableLeaderElection' | 'enableCleanup'): boolean {
  return options[name] ?? optionDefinitions[name].default;
}
