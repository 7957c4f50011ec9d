/**
 * The ValidatingWebhookConfiguration that sends breakglass objects to the controller's admission
 * server, plus the TLS wiring it needs (cert-manager objects or a user-provided CA bundle).
 */
import { Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { plurals, type KindName } from '../crds/index.ts';
import { BREAKGLASS_API_GROUP, BREAKGLASS_API_VERSION, checkInstanceName, commonLabels, DEFAULT_INSTANCE_NAME, DEFAULT_NAMESPACE, objectNames } from './naming.ts';
import { assertCaBundle, CertManagerCertificate, type WebhookTls } from './webhook-tls.ts';

/** The kinds with a validating webhook, in the order they appear in the configuration. */
export const VALIDATED_KINDS: ReadonlyArray<{ readonly kind: KindName; readonly plural: string }> = (
  ['BreakglassSession', 'BreakglassEscalation', 'ClusterConfig', 'IdentityProvider', 'DenyPolicy'] as const
).map((kind) => ({ kind, plural: plurals[kind] }));

/** controller-runtime's path convention, which the controller's admission server serves. */
export function validationPath(kind: string): string {
  return `/validate-${BREAKGLASS_API_GROUP.replaceAll('.', '-')}-${BREAKGLASS_API_VERSION}-${kind.toLowerCase()}`;
}

export function validationWebhookName(kind: string): string {
  return `${kind.toLowerCase()}.validation.${BREAKGLASS_API_GROUP}`;
}

/** The webhook that sees writes to a kind's status subresource. */
export function statusWebhookName(kind: string): string {
  return `${kind.toLowerCase()}-status.validation.${BREAKGLASS_API_GROUP}`;
}

export interface WebhookConfigurationProps {
  /**
   * Prefix of the object names (a DNS-1035 label of at most 30 characters).
   * @default 'breakglass'
   */
  readonly name?: string;
  /**
   * Namespace of the webhook Service (and of the cert-manager objects).
   * @default 'breakglass-system'
   */
  readonly namespace?: string;
  /**
   * Name of the Service in front of the admission server (port 443).
   * @default '<name>-webhook-service'
   */
  readonly serviceName?: string;
  /**
   * Where the serving certificate comes from.
   * @default { mode: 'cert-manager' } with a self-signed CA chain
   */
  readonly tls?: WebhookTls;
  /**
   * How long the API server waits for an admission answer (1-30 s).
   * @default Duration.seconds(5)
   */
  readonly timeout?: Duration;
  /**
   * What the API server does when the webhook cannot be reached. `Fail` keeps invalid objects
   * out while the controller is down.
   * @default 'Fail'
   */
  readonly failurePolicy?: 'Fail' | 'Ignore';
  /**
   * The controller's user name (`system:serviceaccount:<namespace>:<name>`). Its own status
   * writes then skip the webhook (a `matchConditions` entry), so expiry and approvals never wait
   * for it; every other status write is sent to it, and refused there.
   * @default - every status write is sent to the webhook
   */
  readonly controllerUser?: string;
}

export class WebhookConfiguration extends Construct {
  public readonly validatingWebhookConfiguration: kplus.k8s.KubeValidatingWebhookConfiguration;
  /** Secret with the serving certificate, to mount into the controller pod. */
  public readonly servingCertSecretName: string;
  /** The cert-manager objects, when cert-manager issues the certificate. */
  public readonly certManager?: CertManagerCertificate;

  constructor(scope: Construct, id: string, props: WebhookConfigurationProps = {}) {
    super(scope, id);
    const instance = checkInstanceName(props.name ?? DEFAULT_INSTANCE_NAME);
    const namespace = props.namespace ?? DEFAULT_NAMESPACE;
    const names = objectNames(instance);
    const serviceName = props.serviceName ?? names.webhookService;
    const tls = props.tls ?? { mode: 'cert-manager' };
    const timeoutSeconds = (props.timeout ?? Duration.seconds(5)).toSeconds({ integral: false });
    if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 1 || timeoutSeconds > 30) {
      throw new Error(`webhook timeout must be a whole number of seconds between 1 and 30, got ${timeoutSeconds}`);
    }

    const annotations: Record<string, string> = {};
    let caBundle: string | undefined;
    if (tls.mode === 'cert-manager') {
      this.certManager = new CertManagerCertificate(this, 'CertManager', {
        name: instance,
        namespace,
        serviceName,
        issuerRef: tls.issuerRef,
      });
      this.servingCertSecretName = this.certManager.secretName;
      annotations['cert-manager.io/inject-ca-from'] = this.certManager.injectCaFrom;
    } else {
      assertCaBundle(tls.caBundle);
      this.servingCertSecretName = tls.secretName;
      caBundle = tls.caBundle.replace(/\s/g, '');
    }

    this.validatingWebhookConfiguration = new kplus.k8s.KubeValidatingWebhookConfiguration(this, 'Resource', {
      metadata: {
        name: names.validatingWebhookConfiguration,
        labels: commonLabels(instance),
        annotations: Object.keys(annotations).length > 0 ? annotations : undefined,
      },
      webhooks: VALIDATED_KINDS.flatMap(({ kind, plural }) => {
        const common = {
          admissionReviewVersions: ['v1'],
          sideEffects: 'None',
          failurePolicy: props.failurePolicy ?? 'Fail',
          timeoutSeconds,
          clientConfig: {
            service: { name: serviceName, namespace, path: validationPath(kind), port: 443 },
            caBundle,
          },
        };
        const rule = (operations: string[], resource: string) => ({
          apiGroups: [BREAKGLASS_API_GROUP],
          apiVersions: [BREAKGLASS_API_VERSION],
          operations,
          resources: [resource],
        });
        return [
          { name: validationWebhookName(kind), ...common, rules: [rule(['CREATE', 'UPDATE'], plural)] },
          // Status writes: the controller's only (admission checks who writes, reference §15.7).
          {
            name: statusWebhookName(kind),
            ...common,
            rules: [rule(['UPDATE'], `${plural}/status`)],
            ...(props.controllerUser === undefined
              ? {}
              : { matchConditions: [{ name: 'not-the-controller', expression: `request.userInfo.username != ${JSON.stringify(props.controllerUser)}` }] }),
          },
        ];
      }),
    });
  }
}
