/**
 * The running controller: ServiceAccount, Deployment, Services and PodDisruptionBudget.
 */
import { ApiObject, Duration, JsonPatch } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { optionDefinitions } from '../controller/options.ts';
import {
  checkExtraEnv,
  checkReplicasForLeaderElection,
  CONTROLLER_PORTS,
  isEnabled,
  renderControllerArgs,
  terminationGracePeriodSeconds,
  type ConfigurableControllerOptions,
} from './controller-options.ts';
import { checkInstanceName, commonLabels, DEFAULT_INSTANCE_NAME, DEFAULT_NAMESPACE, objectNames, selectorLabels } from './naming.ts';
import { mergeResources, PROFILES } from './profiles.ts';

/** Distroless/`node` images use this non-root uid; the Dockerfile runs as it too. */
export const CONTROLLER_UID = 65532;

export interface WorkloadProps {
  /**
   * Prefix of every object name and the `app.kubernetes.io/instance` label: a DNS-1035 label
   * of at most 30 characters, so that the longest derived name stays within 63.
   * @default 'breakglass'
   */
  readonly name?: string;
  /**
   * Namespace of the namespaced objects (it is not created here).
   * @default 'breakglass-system'
   */
  readonly namespace?: string;
  /** Controller image, e.g. `registry.example.com/breakglass:0.1.0`. */
  readonly image: string;
  /**
   * @default kplus.ImagePullPolicy.IF_NOT_PRESENT
   */
  readonly imagePullPolicy?: kplus.ImagePullPolicy;
  /**
   * More than one needs leader election (`controllerOptions.enableLeaderElection` not false).
   * @default 3
   */
  readonly replicas?: number;
  /**
   * Controller options rendered as `--flag=value` args (unset ones keep the controller's defaults).
   * @default {}
   */
  readonly controllerOptions?: ConfigurableControllerOptions;
  /**
   * Extra environment variables for the controller container. The controller reads a variable
   * for every option (see `npm start -- --help`), so those are refused: set the option with
   * `controllerOptions` instead.
   * @default {}
   */
  readonly env?: Record<string, string>;
  /**
   * Merged field by field (cpu, memory, ephemeralStorage; each request and limit) over the
   * production profile: what is left out keeps the profile's value, so
   * `{ memory: { request: Size.mebibytes(512) } }` keeps the CPU request and both limits. A
   * request above its (merged) limit is refused.
   * @default - the production profile: requests 200m / 256Mi, limits 1000m / 512Mi
   */
  readonly resources?: kplus.ContainerResources;
  /**
   * Prefer to schedule replicas on different nodes (preferred pod anti-affinity on
   * `kubernetes.io/hostname`).
   * @default - true when replicas > 1
   */
  readonly podAntiAffinity?: boolean;
  /**
   * Create a PodDisruptionBudget with maxUnavailable 1.
   * @default - true when replicas > 1
   */
  readonly podDisruptionBudget?: boolean;
  /**
   * Secret holding `tls.crt` and `tls.key` of the admission webhook server; mounted at the
   * controller's `--webhook-cert-path` default. Only used when webhooks are enabled.
   * @default '<name>-webhook-server-cert'
   */
  readonly webhookCertSecretName?: string;
  /**
   * Secret holding `tls.crt` and `tls.key` of the authorization webhook's own TLS listener, for
   * spokes that authenticate with a client certificate (ClusterConfig
   * `webhookAuthentication.clientCertificate`). When set, the pod mounts it at
   * `/etc/breakglass/sar-tls`, the controller listens there with `--sar-tls-*` on port 8443, and
   * the Service `<name>-sar-tls` (port 443) leads to it; expose that Service to the spokes
   * without TLS termination (passthrough), or the client certificate never arrives. Needs the API.
   * @default - no such listener (bearer-token spokes behind a TLS-terminating ingress only)
   */
  readonly authorizationWebhookTlsSecretName?: string;
}

/** Where the authorization webhook's TLS Secret is mounted. */
export const SAR_TLS_MOUNT_PATH = '/etc/breakglass/sar-tls';

export class Workload extends Construct {
  public readonly serviceAccount: kplus.ServiceAccount;
  public readonly deployment: kplus.Deployment;
  /** API, web UI and authorization webhook (port 80); absent when both API and UI are off. */
  public readonly httpService?: kplus.Service;
  public readonly metricsService: kplus.Service;
  /** Admission webhook Service (port 443); absent when webhooks are off. */
  public readonly webhookService?: kplus.Service;
  /** The authorization webhook's TLS listener for client-certificate spokes (port 443); only with authorizationWebhookTlsSecretName. */
  public readonly sarTlsService?: kplus.Service;
  public readonly podDisruptionBudget?: kplus.k8s.KubePodDisruptionBudget;
  /** Labels of the controller pods; the Deployment, PDB and Services select exactly these. */
  public readonly selectorLabels: Record<string, string>;
  /** The rendered controller args. */
  public readonly args: readonly string[];
  public readonly namespace: string;

  constructor(scope: Construct, id: string, props: WorkloadProps) {
    super(scope, id);
    const instance = checkInstanceName(props.name ?? DEFAULT_INSTANCE_NAME);
    const namespace = props.namespace ?? DEFAULT_NAMESPACE;
    const replicas = props.replicas ?? PROFILES.production.replicas;
    const options = props.controllerOptions ?? {};
    const names = objectNames(instance);
    const labels = commonLabels(instance);
    const podLabels = selectorLabels(instance);
    const webhooks = isEnabled(options, 'enableWebhooks');
    const http = isEnabled(options, 'enableApi') || isEnabled(options, 'enableFrontend');
    if (!Number.isInteger(replicas) || replicas < 1) throw new Error(`replicas must be a positive integer, got ${replicas}`);
    checkReplicasForLeaderElection(options, replicas, 'set replicas to 1 or leave controllerOptions.enableLeaderElection on');
    checkExtraEnv(props.env, 'Workload');
    const resources = mergeResources(PROFILES.production.resources, props.resources);
    // Required in the types; checked here too for JavaScript callers. There is no default image:
    // a borrowed name would run someone else's program with our flags.
    if (typeof props.image !== 'string' || props.image.trim() === '') {
      throw new Error('image is required: the controller image built from the Dockerfile, e.g. registry.example.com/breakglass:0.1.0');
    }

    this.namespace = namespace;
    this.selectorLabels = podLabels;
    const sarTlsSecret = props.authorizationWebhookTlsSecretName;
    if (sarTlsSecret !== undefined && !isEnabled(options, 'enableApi')) {
      throw new Error('authorizationWebhookTlsSecretName needs the API (the authorization webhook is part of it); enable it or remove the Secret');
    }
    const sarTlsArgs = sarTlsSecret === undefined ? [] : [`--sar-tls-cert-file=${SAR_TLS_MOUNT_PATH}/tls.crt`, `--sar-tls-key-file=${SAR_TLS_MOUNT_PATH}/tls.key`];
    this.args = [...renderControllerArgs(options), ...sarTlsArgs];

    // The token is mounted by the pod (below), not by every pod that might use this account.
    this.serviceAccount = new kplus.ServiceAccount(this, 'ServiceAccount', {
      metadata: { name: names.serviceAccount, namespace, labels },
      automountToken: false,
    });

    const tmp = kplus.Volume.fromEmptyDir(this, 'TmpVolume', 'tmp');
    const volumeMounts: kplus.VolumeMount[] = [{ path: '/tmp', volume: tmp }];
    if (webhooks) {
      const secretName = props.webhookCertSecretName ?? names.webhookServerCertSecret;
      const cert = kplus.Volume.fromSecret(this, 'WebhookCertVolume', kplus.Secret.fromSecretName(this, 'WebhookCertSecret', secretName), {
        name: 'webhook-cert',
      });
      volumeMounts.push({ path: optionDefinitions.webhookCertPath.default, volume: cert, readOnly: true });
    }
    if (sarTlsSecret !== undefined) {
      const sarCert = kplus.Volume.fromSecret(this, 'SarTlsVolume', kplus.Secret.fromSecretName(this, 'SarTlsSecret', sarTlsSecret), { name: 'sar-tls' });
      volumeMounts.push({ path: SAR_TLS_MOUNT_PATH, volume: sarCert, readOnly: true });
    }

    const env: Record<string, kplus.EnvValue> = {
      [optionDefinitions.podNamespace.env]: kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.POD_NAMESPACE),
      [optionDefinitions.podName.env]: kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.POD_NAME),
    };
    // checkExtraEnv refused every option variable, the downward API ones included.
    for (const [key, value] of Object.entries(props.env ?? {})) env[key] = kplus.EnvValue.fromValue(value);

    this.deployment = new kplus.Deployment(this, 'Deployment', {
      metadata: { name: names.deployment, namespace, labels },
      podMetadata: { labels: podLabels },
      // Select by the stable app.kubernetes.io labels, not cdk8s-plus's construct-path label.
      select: false,
      replicas,
      serviceAccount: this.serviceAccount,
      // cdk8s-plus defaults to false; the controller needs its API credentials.
      automountServiceAccountToken: true,
      // Longer than --shutdown-timeout with a margin, so the lease release is never cut off by SIGKILL.
      terminationGracePeriod: Duration.seconds(terminationGracePeriodSeconds(options)),
      securityContext: { user: CONTROLLER_UID, group: CONTROLLER_UID, ensureNonRoot: true },
      containers: [
        {
          name: 'controller',
          image: props.image,
          imagePullPolicy: props.imagePullPolicy ?? kplus.ImagePullPolicy.IF_NOT_PRESENT,
          args: [...this.args],
          envVariables: env,
          ports: [
            { name: 'http', number: CONTROLLER_PORTS.http },
            { name: 'metrics', number: CONTROLLER_PORTS.metrics },
            { name: 'probes', number: CONTROLLER_PORTS.probes },
            { name: 'webhook', number: CONTROLLER_PORTS.webhook },
            ...(sarTlsSecret === undefined ? [] : [{ name: 'sar-tls', number: CONTROLLER_PORTS.sarTls }]),
          ],
          liveness: kplus.Probe.fromHttpGet('/healthz', { port: CONTROLLER_PORTS.probes }),
          readiness: kplus.Probe.fromHttpGet('/readyz', { port: CONTROLLER_PORTS.probes }),
          resources,
          // Pod Security "restricted": non-root, no privilege escalation, no capabilities, the
          // runtime's default seccomp profile (cdk8s-plus sets none of the last two by default).
          securityContext: {
            user: CONTROLLER_UID,
            group: CONTROLLER_UID,
            ensureNonRoot: true,
            readOnlyRootFilesystem: true,
            allowPrivilegeEscalation: false,
            capabilities: { drop: [kplus.Capability.ALL] },
            seccompProfile: { type: kplus.SeccompProfileType.RUNTIME_DEFAULT },
          },
          volumeMounts,
        },
      ],
    });
    this.deployment.select(kplus.LabelSelector.of({ labels: podLabels }));
    // cdk8s-plus always adds a construct-path label to the pod template; nothing selects it, and
    // a moved construct would roll every pod, so keep the pod labels equal to the selector.
    ApiObject.of(this.deployment).addJsonPatch(JsonPatch.remove('/spec/template/metadata/labels/cdk8s.io~1metadata.addr'));

    const pods = kplus.Pods.select(this, 'ControllerPods', { labels: podLabels });
    if (props.podAntiAffinity ?? replicas > 1) {
      this.deployment.scheduling.separate(pods, { topology: kplus.Topology.HOSTNAME, weight: 100 });
    }

    const service = (cid: string, name: string, port: number, targetPort: number, portName: string) =>
      new kplus.Service(this, cid, {
        metadata: { name, namespace, labels },
        selector: pods,
        ports: [{ name: portName, port, targetPort }],
      });
    if (http) this.httpService = service('HttpService', names.httpService, 80, CONTROLLER_PORTS.http, 'http');
    this.metricsService = service('MetricsService', names.metricsService, CONTROLLER_PORTS.metrics, CONTROLLER_PORTS.metrics, 'metrics');
    if (webhooks) this.webhookService = service('WebhookService', names.webhookService, 443, CONTROLLER_PORTS.webhook, 'webhook');
    if (sarTlsSecret !== undefined) this.sarTlsService = service('SarTlsService', names.sarTlsService, 443, CONTROLLER_PORTS.sarTls, 'sar-tls');

    if (props.podDisruptionBudget ?? replicas > 1) {
      this.podDisruptionBudget = new kplus.k8s.KubePodDisruptionBudget(this, 'PodDisruptionBudget', {
        metadata: { name: names.podDisruptionBudget, namespace, labels },
        spec: {
          maxUnavailable: kplus.k8s.IntOrString.fromNumber(1),
          selector: { matchLabels: podLabels },
        },
      });
    }
  }
}
