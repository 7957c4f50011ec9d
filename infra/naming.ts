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

/** Longest Kubernetes name and label value; also the limit of a DNS label (Services, Namespaces). */
export const MAX_NAME_LENGTH = 63;

/** The longest suffix `objectNames` appends to the instance name (`-validating-webhook-configuration`). */
export const LONGEST_NAME_SUFFIX = Object.values(objectNames('')).reduce((longest, suffix) => (suffix.length > longest.length ? suffix : longest), '');

/**
 * Longest instance name: every derived object name stays a valid DNS label (Services must be
 * one) and the name itself a valid `app.kubernetes.io/instance` label value.
 */
export const MAX_INSTANCE_NAME_LENGTH = MAX_NAME_LENGTH - LONGEST_NAME_SUFFIX.length;

const DNS_1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS_1123_LABEL = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS_1123_SUBDOMAIN = new RegExp(`^${DNS_1123_LABEL}(\\.${DNS_1123_LABEL})*$`);
const MAX_SUBDOMAIN_LENGTH = 253;

/**
 * Checks an instance name at construct time: a DNS-1035 label (lower-case letters, digits and
 * '-', starting with a letter, ending with a letter or digit) of at most
 * MAX_INSTANCE_NAME_LENGTH characters, so that `<name>-webhook-service` and the other derived
 * names are valid too. Throws naming `prop`; returns the name.
 */
export function checkInstanceName(name: string, prop = 'name'): string {
  if (typeof name !== 'string' || !DNS_1035_LABEL.test(name)) {
    throw new Error(
      `${prop} must be a DNS-1035 label (lower-case letters, digits and '-', starting with a letter and ending with a letter or digit), got ${JSON.stringify(name)}`,
    );
  }
  if (name.length > MAX_INSTANCE_NAME_LENGTH) {
    throw new Error(
      `${prop} must be at most ${MAX_INSTANCE_NAME_LENGTH} characters so that derived names such as "${name}${LONGEST_NAME_SUFFIX}" stay within ${MAX_NAME_LENGTH}, got ${name.length} ("${name}")`,
    );
  }
  return name;
}

/** Checks a name that must be a DNS-1123 subdomain (e.g. a Lease); throws naming `prop`. */
export function checkSubdomainName(name: string, prop: string): string {
  if (typeof name !== 'string' || name.length > MAX_SUBDOMAIN_LENGTH || !DNS_1123_SUBDOMAIN.test(name)) {
    throw new Error(
      `${prop} must be a DNS-1123 subdomain (at most ${MAX_SUBDOMAIN_LENGTH} characters: lower-case letters, digits, '-' and '.', each dot-separated part starting and ending with a letter or digit), got ${JSON.stringify(name)}`,
    );
  }
  return name;
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
