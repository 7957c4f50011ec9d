/**
 * Typed construct props -> controller options -> `--flag=value` args.
 *
 * The args come from `toArgs` of controller/options.ts, the schema the controller itself parses,
 * so a renamed option key breaks this file's build and a renamed flag changes the rendered args
 * (and the golden files) instead of silently drifting from the binary.
 */
import type { Duration } from 'cdk8s';
import { OptionError, optionDefinitions, parseOptions, parseRateLimit, toArgs, type ControllerOptions, type OptionName } from '../controller/options.ts';
import { checkSubdomainName } from './naming.ts';

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

/**
 * The BreakglassController prop that sets each option it has a typed prop for (what
 * `controllerOptions()` maps). Options missing here and not owned by the Workload are set
 * through BreakglassControllerProps.additionalControllerOptions.
 */
export const TYPED_OPTION_PROPS = {
  enableLeaderElection: 'leaderElection.enabled',
  leaderElectNamespace: 'leaderElection.leaseNamespace',
  leaderElectId: 'leaderElection.leaseId',
  leaderElectLeaseDuration: 'leaderElection.leaseDuration',
  leaderElectRenewDeadline: 'leaderElection.renewDeadline',
  leaderElectRetryPeriod: 'leaderElection.retryPeriod',
  leaderElectReleaseTimeout: 'leaderElection.releaseTimeout',
  enableCleanup: 'components.cleanup',
  enableWebhooks: 'components.webhooks',
  enableFrontend: 'components.frontend',
  enableApi: 'components.api',
  cleanupInterval: 'intervals.cleanup',
  escalationStatusUpdateInterval: 'intervals.escalationStatusUpdate',
  clusterConfigCheckInterval: 'intervals.clusterConfigCheck',
  apiRateLimitPerAddress: 'apiRateLimits.perAddress',
  apiRateLimitPerUser: 'apiRateLimits.perUser',
  sarRateLimitPerCluster: 'webhookRateLimits.perCluster',
  shutdownTimeout: 'shutdownTimeout',
  logLevel: 'logLevel',
} as const satisfies Partial<Record<Exclude<OptionName, WorkloadOwnedOption>, string>>;

export type TypedOption = keyof typeof TYPED_OPTION_PROPS;

/** Controller options without a typed BreakglassController prop (e.g. frontendBaseUrl, oidcPrefixes). */
export type AdditionalControllerOptions = Omit<ConfigurableControllerOptions, TypedOption>;

/** What sets a Workload-owned option instead: the pod layout, or the prop that feeds it. */
const WORKLOAD_OWNED_ADVICE: Readonly<Record<WorkloadOwnedOption, string>> = {
  podNamespace: 'it is set from the downward API; remove it',
  podName: 'it is set from the downward API; remove it',
  apiBindAddress: 'the Workload fixes it to match the container ports; remove it',
  metricsBindAddress: 'the Workload fixes it to match the container ports; remove it',
  healthProbeBindAddress: 'the Workload fixes it to match the container ports and probes; remove it',
  webhookBindAddress: 'the Workload fixes it to match the container ports; remove it',
  webhookCertPath: 'the Workload mounts the serving certificate there; choose the Secret with webhookTls (BreakglassController) or webhookCertSecretName (Workload)',
  webhookCertName: 'the Workload mounts the serving certificate there; choose the Secret with webhookTls (BreakglassController) or webhookCertSecretName (Workload)',
  webhookCertKey: 'the Workload mounts the serving certificate there; choose the Secret with webhookTls (BreakglassController) or webhookCertSecretName (Workload)',
  sarTlsBindAddress: 'the Workload fixes it to match the container ports; use authorizationWebhookTlsSecretName',
  sarTlsCertFile: 'the Workload mounts the certificate; use authorizationWebhookTlsSecretName',
  sarTlsKeyFile: 'the Workload mounts the certificate; use authorizationWebhookTlsSecretName',
};

function isWorkloadOwned(name: OptionName): name is WorkloadOwnedOption {
  return (WORKLOAD_OWNED_OPTIONS as readonly OptionName[]).includes(name);
}

function isTyped(name: string): name is TypedOption {
  return Object.hasOwn(TYPED_OPTION_PROPS, name);
}

/** Where the construct layer sets a controller option, for error messages. */
export type OptionSettingLayer = 'BreakglassController' | 'Workload';

/** How to set an option instead of its environment variable, as advice for an error message. */
export function optionAdvice(name: OptionName, layer: OptionSettingLayer): string {
  if (isWorkloadOwned(name)) return WORKLOAD_OWNED_ADVICE[name];
  if (layer === 'BreakglassController') return `use ${isTyped(name) ? TYPED_OPTION_PROPS[name] : `additionalControllerOptions.${name}`} instead`;
  return `use controllerOptions.${name} instead`;
}

/** Option names by their environment variable, from the option definitions. */
const OPTION_BY_ENV: ReadonlyMap<string, OptionName> = new Map(
  (Object.keys(optionDefinitions) as OptionName[]).map((name) => [optionDefinitions[name].env, name]),
);

/**
 * Refuses extra environment variables that the controller reads as an option (it does so for
 * every option whose flag is absent): such a value would silently contradict, or quietly add
 * to, what the construct rendered and checked. Throws naming the variable and what to use.
 */
export function checkExtraEnv(env: Readonly<Record<string, string>> | undefined, layer: OptionSettingLayer): void {
  for (const key of Object.keys(env ?? {})) {
    const name = OPTION_BY_ENV.get(key);
    if (name === undefined) continue;
    if (name === 'podNamespace' || name === 'podName') throw new Error(`env.${key} is set from the downward API; remove it`);
    throw new Error(`env.${key} is read by the controller as --${optionDefinitions[name].flag}, which the construct controls; ${optionAdvice(name, layer)}`);
  }
}

/** Refuses additional options that have a typed prop (one place per setting); returns them. */
export function checkAdditionalControllerOptions(options: AdditionalControllerOptions | undefined): AdditionalControllerOptions {
  for (const key of Object.keys(options ?? {})) {
    if (isTyped(key)) throw new Error(`additionalControllerOptions.${key} has a typed prop; use ${TYPED_OPTION_PROPS[key]} instead`);
  }
  return options ?? {};
}

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

/** The Lease for these settings; a leaseId that is no valid object name throws naming the prop. */
export function leaseLocation(namespace: string, leaderElection: LeaderElectionProps = {}): LeaseLocation {
  return {
    id: leaderElection.leaseId === undefined ? optionDefinitions.leaderElectId.default : checkSubdomainName(leaderElection.leaseId, 'leaderElection.leaseId'),
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

/**
 * Refuses more than one replica without leader election: every replica would then run the
 * leader-only loops (cleanup, status updates, ClusterConfig checks) at the same time.
 */
export function checkReplicasForLeaderElection(options: ConfigurableControllerOptions, replicas: number, how: string): void {
  if (replicas > 1 && !isEnabled(options, 'enableLeaderElection')) {
    throw new Error(
      `leader election is disabled but there are ${replicas} replicas: every replica would run the leader-only loops (session cleanup, status updates, ClusterConfig checks) at once; ${how}`,
    );
  }
}

/** Whether a component is on, after the controller's defaults. */
export function isEnabled(options: ConfigurableControllerOptions, name: 'enableWebhooks' | 'enableApi' | 'enableFrontend' | 'enableLeaderElection' | 'enableCleanup'): boolean {
  return options[name] ?? optionDefinitions[name].default;
}
