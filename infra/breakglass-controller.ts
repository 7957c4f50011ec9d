/**
 * The whole breakglass install: Namespace, CRDs, the controller workload, its RBAC and the
 * validating webhooks, configured through typed props.
 */
import type { Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import {
  checkAdditionalControllerOptions,
  checkExtraEnv,
  checkReplicasForLeaderElection,
  controllerOptions,
  isEnabled,
  leaseLocation,
  type AdditionalControllerOptions,
  type ApiRateLimitSettings,
  type WebhookRateLimitSettings,
  type ComponentSwitches,
  type ConfigurableControllerOptions,
  type LeaderElectionProps,
  type LeaseLocation,
  type LoopIntervals,
} from './controller-options.ts';
import { Crds } from './crds.ts';
import { checkInstanceName, commonLabels, DEFAULT_INSTANCE_NAME, DEFAULT_NAMESPACE } from './naming.ts';
import { isControllerProfile, mergeResources, PROFILES, type ControllerProfile } from './profiles.ts';
import { ControllerRbac } from './rbac.ts';
import { WebhookConfiguration } from './webhook-configuration.ts';
import { servingCertSecretName, type WebhookTls } from './webhook-tls.ts';
import { Workload } from './workload.ts';

export interface BreakglassControllerProps {
  /** Controller image, e.g. `registry.example.com/breakglass:0.1.0`. */
  readonly image: string;
  /**
   * Prefix of every object name and the `app.kubernetes.io/instance` label: a DNS-1035 label
   * (lower-case letters, digits and '-', starting with a letter) of at most 30 characters, so
   * that the longest derived name (`<name>-validating-webhook-configuration`) stays within 63.
   * @default 'breakglass'
   */
  readonly name?: string;
  /**
   * Namespace the controller runs in.
   * @default 'breakglass-system'
   */
  readonly namespace?: string;
  /**
   * Create the Namespace object (turn off when the platform manages namespaces).
   * @default true
   */
  readonly createNamespace?: boolean;
  /**
   * Install the CustomResourceDefinitions (turn off when CRDs are managed separately).
   * @default true
   */
  readonly installCrds?: boolean;
  /**
   * Sizing defaults: 'production' (3 replicas, PDB, anti-affinity, 200m/256Mi requests) or
   * 'single-instance' (1 replica, 100m/128Mi requests).
   * @default 'production'
   */
  readonly profile?: ControllerProfile;
  /**
   * More than one needs leader election (`leaderElection.enabled` not false).
   * @default - 3 for the production profile, 1 for single-instance
   */
  readonly replicas?: number;
  /**
   * @default kplus.ImagePullPolicy.IF_NOT_PRESENT
   */
  readonly imagePullPolicy?: kplus.ImagePullPolicy;
  /**
   * Disabling it needs a single replica. The leaseId must be a DNS-1123 subdomain.
   * @default - enabled, Lease 'breakglass.telekom.io' in the controller namespace, 15s / 10s / 2s
   */
  readonly leaderElection?: LeaderElectionProps;
  /**
   * @default - cleanup, webhooks, frontend and API all enabled
   */
  readonly components?: ComponentSwitches;
  /**
   * @default - cleanup 5m, escalation status update 10m, cluster config check 10m
   */
  readonly intervals?: LoopIntervals;
  /**
   * Merged field by field (cpu, memory, ephemeralStorage; each request and limit) over the
   * profile's values: what is left out keeps the profile's value, so
   * `{ memory: { request: Size.mebibytes(512) } }` keeps the CPU request and both limits. A
   * request above its (merged) limit is refused.
   * @default - from the profile (production: requests 200m / 256Mi, limits 1000m / 512Mi;
   * single-instance: requests 100m / 128Mi, limits 500m / 256Mi)
   */
  readonly resources?: kplus.ContainerResources;
  /**
   * Prefer spreading replicas over nodes (pod anti-affinity on `kubernetes.io/hostname`).
   * @default - true when replicas > 1
   */
  readonly podAntiAffinity?: boolean;
  /**
   * Serving certificate of the admission webhooks.
   * @default { mode: 'cert-manager' } with a self-signed CA chain
   */
  readonly webhookTls?: WebhookTls;
  /**
   * Admission webhook timeout (1-30 s).
   * @default Duration.seconds(5)
   */
  readonly webhookTimeout?: Duration;
  /**
   * @default 'Fail'
   */
  readonly webhookFailurePolicy?: 'Fail' | 'Ignore';
  /**
   * Namespaces of the Secrets the controller reads (ClusterConfig kubeconfigs, client secrets).
   * @default - the controller namespace
   */
  readonly secretNamespaces?: readonly string[];
  /**
   * Namespaces the controller records Events in: session audit Events go to each session's
   * namespace (its escalation's), ClusterConfig Events to the ClusterConfig's.
   * @default - the controller namespace
   */
  readonly eventNamespaces?: readonly string[];
  /**
   * Extra environment variables for the controller container (e.g. HTTPS_PROXY). The
   * controller reads a variable for every option (see `npm start -- --help`), which would
   * contradict the rendered args, so those are refused: use the typed prop, or
   * `additionalControllerOptions` for an option without one.
   * @default {}
   */
  readonly env?: Record<string, string>;
  /**
   * Controller options without a typed prop here, rendered as flags and checked at synth time
   * like the rest, e.g. `{ frontendBaseUrl: 'https://breakglass.example.com/', oidcPrefixes:
   * 'oidc:' }` (durations in milliseconds). An option with a typed prop is refused here.
   * @default {}
   */
  readonly additionalControllerOptions?: AdditionalControllerOptions;
  /**
   * Rate limits of the REST API (--api-rate-limit-per-address, --api-rate-limit-per-user).
   * @default - 10/s (burst 20) per client address, 50/s (burst 100) per user
   */
  readonly apiRateLimits?: ApiRateLimitSettings;
  /**
   * Rate limit of the authorization webhook (--sar-rate-limit-per-cluster).
   * @default - 1000/s (burst 2000) per ClusterConfig and replica
   */
  readonly webhookRateLimits?: WebhookRateLimitSettings;
  /**
   * @default 'info'
   */
  readonly logLevel?: 'trace' | 'debug' | 'info' | 'warn' | 'error';
  /**
   * Upper bound for a graceful shutdown; with leader election at least the release timeout + 2 s.
   * The pod's terminationGracePeriodSeconds is set to this plus a 15 s margin.
   * @default Duration.seconds(15)
   */
  readonly shutdownTimeout?: Duration;
  /**
   * Secret (`tls.crt`, `tls.key`) of the authorization webhook's TLS listener for spokes that
   * authenticate with a client certificate; see WorkloadProps.authorizationWebhookTlsSecretName.
   * @default - no such listener
   */
  readonly authorizationWebhookTlsSecretName?: string;
}

export class BreakglassController extends Construct {
  public readonly namespace: string;
  public readonly namespaceObject?: kplus.Namespace;
  public readonly crds?: Crds;
  public readonly workload: Workload;
  public readonly rbac: ControllerRbac;
  public readonly webhooks?: WebhookConfiguration;
  /** The controller options the Deployment args are rendered from. */
  public readonly controllerOptions: ConfigurableControllerOptions;
  /** The Lease the replicas compete for; undefined when leader election is off. */
  public readonly lease?: LeaseLocation;

  constructor(scope: Construct, id: string, props: BreakglassControllerProps) {
    super(scope, id);
    const instance = checkInstanceName(props.name ?? DEFAULT_INSTANCE_NAME);
    const namespace = props.namespace ?? DEFAULT_NAMESPACE;
    const profileName = props.profile ?? 'production';
    if (!isControllerProfile(profileName)) throw new Error(`profile must be 'production' or 'single-instance', got "${String(profileName)}"`);
    const profile = PROFILES[profileName];
    const replicas = props.replicas ?? profile.replicas;
    this.namespace = namespace;
    this.controllerOptions = {
      ...controllerOptions({
        namespace,
        leaderElection: props.leaderElection,
        components: props.components,
        intervals: props.intervals,
        apiRateLimits: props.apiRateLimits,
        webhookRateLimits: props.webhookRateLimits,
        logLevel: props.logLevel,
        shutdownTimeout: props.shutdownTimeout,
      }),
      ...checkAdditionalControllerOptions(props.additionalControllerOptions),
    };
    checkReplicasForLeaderElection(
      this.controllerOptions,
      replicas,
      `set replicas: 1 (profile '${profileName}' has ${profile.replicas}) or leave leaderElection.enabled on`,
    );
    checkExtraEnv(props.env, 'BreakglassController');
    const leaderElection = isEnabled(this.controllerOptions, 'enableLeaderElection');
    const webhooks = isEnabled(this.controllerOptions, 'enableWebhooks');
    this.lease = leaderElection ? leaseLocation(namespace, props.leaderElection) : undefined;
    const webhookTls = props.webhookTls ?? { mode: 'cert-manager' };

    if (props.createNamespace ?? true) {
      this.namespaceObject = new kplus.Namespace(this, 'Namespace', { metadata: { name: namespace, labels: commonLabels(instance) } });
    }
    if (props.installCrds ?? true) this.crds = new Crds(this, 'Crds');

    this.workload = new Workload(this, 'Workload', {
      name: instance,
      namespace,
      image: props.image,
      imagePullPolicy: props.imagePullPolicy,
      replicas,
      controllerOptions: this.controllerOptions,
      env: props.env,
      resources: mergeResources(profile.resources, props.resources),
      podAntiAffinity: props.podAntiAffinity,
      webhookCertSecretName: servingCertSecretName(instance, webhookTls),
      authorizationWebhookTlsSecretName: props.authorizationWebhookTlsSecretName,
    });

    this.rbac = new ControllerRbac(this, 'Rbac', {
      name: instance,
      namespace,
      serviceAccount: this.workload.serviceAccount,
      lease: this.lease ?? false,
      secretNamespaces: props.secretNamespaces,
      eventNamespaces: props.eventNamespaces,
    });

    if (webhooks && this.workload.webhookService) {
      this.webhooks = new WebhookConfiguration(this, 'Webhooks', {
        name: instance,
        namespace,
        serviceName: this.workload.webhookService.name,
        tls: webhookTls,
        timeout: props.webhookTimeout,
        failurePolicy: props.webhookFailurePolicy,
        controllerUser: `system:serviceaccount:${namespace}:${this.workload.serviceAccount.name}`,
      });
    }
  }
}
