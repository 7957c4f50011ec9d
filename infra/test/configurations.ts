/**
 * The three install configurations the golden files and the e2e dry-run cover. Namespaces can
 * be overridden so the e2e suite can use fresh ones; the goldens use the defaults below.
 */
import { Testing, Chart, Duration, Yaml, type App } from 'cdk8s';
import { BreakglassController, type BreakglassControllerProps } from '../index.ts';
import { EXAMPLE_CA_BUNDLE, TEST_IMAGE } from './fixtures.ts';

export type ConfigurationName = 'single-instance' | 'ha-production' | 'custom-namespace';

export interface ConfigurationOverrides {
  readonly name?: string;
  readonly namespace?: string;
  readonly leaseNamespace?: string;
  readonly secretNamespaces?: readonly string[];
}

export const CONFIGURATIONS: Readonly<Record<ConfigurationName, (o?: ConfigurationOverrides) => BreakglassControllerProps>> = {
  /** One small replica; leader election stays on so a rolling update hands over cleanly. */
  'single-instance': (o = {}) => ({
    image: TEST_IMAGE,
    profile: 'single-instance',
    name: o.name,
    namespace: o.namespace,
    secretNamespaces: o.secretNamespaces,
  }),
  /** The default production install: 3 replicas, PDB, anti-affinity, cert-manager TLS. */
  'ha-production': (o = {}) => ({
    image: TEST_IMAGE,
    name: o.name,
    namespace: o.namespace,
    secretNamespaces: o.secretNamespaces,
  }),
  /** A platform team's install: own namespace and Lease, user-provided TLS, tuned loops. */
  'custom-namespace': (o = {}) => {
    const namespace = o.namespace ?? 'platform-breakglass';
    return {
      image: TEST_IMAGE,
      name: o.name ?? 'bg',
      namespace,
      leaderElection: {
        leaseId: 'breakglass-platform-leader',
        leaseNamespace: o.leaseNamespace ?? 'platform-leases',
        leaseDuration: Duration.seconds(30),
        renewDeadline: Duration.seconds(20),
        retryPeriod: Duration.seconds(4),
      },
      components: { frontend: false },
      intervals: { cleanup: Duration.minutes(1), clusterConfigCheck: Duration.minutes(2) },
      secretNamespaces: o.secretNamespaces ?? [namespace, 'spoke-kubeconfigs'],
      webhookTls: { mode: 'secret', secretName: 'platform-webhook-tls', caBundle: EXAMPLE_CA_BUNDLE },
      webhookTimeout: Duration.seconds(10),
      env: { HTTPS_PROXY: 'http://proxy.platform.internal:3128', NO_PROXY: '.svc,.cluster.local' },
      logLevel: 'debug',
    };
  },
};

export const CONFIGURATION_NAMES = Object.keys(CONFIGURATIONS) as ConfigurationName[];

export interface Synthesized {
  app: App;
  chart: Chart;
  controller: BreakglassController;
  /** The manifest exactly as `cdk8s synth` writes it. */
  yaml: string;
  /**
   * The manifest without the CustomResourceDefinitions, for golden files: the CRDs have their
   * own golden files in crds/generated/, and a test checks they are included unchanged.
   */
  yamlWithoutCrds: string;
  objects: KubeObject[];
}

/** The parts of a synthesized object the tests read. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

/** Synthesizes props into a fresh app, the way infra/app.ts does. */
export function synthesize(props: BreakglassControllerProps): Synthesized {
  const app = Testing.app();
  const chart = new Chart(app, 'breakglass', { disableResourceNameHashes: true });
  const controller = new BreakglassController(chart, 'Controller', props);
  const objects = Testing.synth(chart) as KubeObject[];
  const withoutCrds = objects.filter((o) => o.kind !== 'CustomResourceDefinition');
  return { app, chart, controller, yaml: app.synthYaml(), yamlWithoutCrds: Yaml.stringify(...withoutCrds), objects };
}

export function findAll(objects: readonly KubeObject[], kind: string): KubeObject[] {
  return objects.filter((o) => o.kind === kind);
}

export function findOne(objects: readonly KubeObject[], kind: string, name?: string): KubeObject {
  const matches = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (matches.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${matches.length}`);
  return matches[0] as KubeObject;
}
