/**
 * Names and labels shared by the constructs, so that the pieces of one install find each other
 * (the RoleBinding names the ServiceAccount, the webhook names the Service) when used alone.
 */

/** Object name prefix and `app.kubernetes.io/instance` label of a default install. */
export const DEFAULT_INSTANCE_NAME = 'breakglass';

/** Namespace of a default install (the controller's own fallback Lease namespace, too). */
export const DEFAULT_NAMESPACE = 'breakglass-system';

/** The API group and version of every breakglass kind (from the CRD sources). */
export { GROUP as BREAKGLASS_API_GROUP, VERSION as BREAKGLASS_API_VERSION } from '../crds/index.ts';

/** Object names derived from the instance name; one place, so the constructs agree. */
export function objectNames(instance: string) {
  return {
    serviceAccount: instance,
    deployment: instance,
    httpService: instance,
    metricsService: `${instance}-metrics`,
    webhookService: `${instance}-webhook-service`,
    podDisruptionBudget: instance,
    clusterRole: instance,
    leaderElectionRole: `${instance}-leader-election`,
    eventsRole: `${instance}-events`,
    secretsRole: `${instance}-secrets`,
    validatingWebhookConfiguration: `${instance}-validating-webhook-configuration`,
    webhookServerCertSecret: `${instance}-webhook-server-cert`,
    sarTlsService: `${instance}-sar-tls`,
    webhookServingCertificate: `${instance}-webhook-serving-cert`,
    selfSignedIssuer: `${instance}-selfsigned-issuer`,
    caCertificate: `${instance}-ca`,
    caIssuer: `${instance}-ca-issuer`,
  } as const;
}

/**
 * Labels that select the controller pods. They are the Deployment selector, which is immutable,
 * so they never include anything that changes between releases (no version, no construct path).
 */
export function selectorLabels(instance: string): Record<string, string> {
  return {
    'app.kubernetes.io/name': 'breakglass',
    'app.kubernetes.io/instance': instance,
    'app.kubernetes.io/component': 'controller',
  };
}

/** Labels on every object of an install. */
export function commonLabels(instance: string): Record<string, string> {
  return {
    'app.kubernetes.io/name': 'breakglass',
    'app.kubernetes.io/instance': instance,
    'app.kubernetes.io/part-of': 'breakglass',
    'app.kubernetes.io/managed-by': 'cdk8s',
  };
}

/** Sorted, de-duplicated namespaces (stable output whatever order the caller used). */
export function uniqueNamespaces(namespaces: readonly string[]): string[] {
  return [...new Set(namespaces)].sort();
}
