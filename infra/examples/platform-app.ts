/**
 * How a platform team installs breakglass with cdk8s (the README example).
 * Run it with `npx tsx infra/examples/platform-app.ts`; it writes dist/platform-breakglass.k8s.yaml.
 */
import { pathToFileURL } from 'node:url';
import { App, Chart, Duration, type ChartProps } from 'cdk8s';
import type { Construct } from 'constructs';
import { BreakglassController } from '../index.ts';

export class PlatformBreakglassChart extends Chart {
  public readonly breakglass: BreakglassController;

  constructor(scope: Construct, id: string, props: ChartProps = {}) {
    super(scope, id, { disableResourceNameHashes: true, ...props });
    this.breakglass = new BreakglassController(this, 'Breakglass', {
      image: 'registry.example.com/platform/breakglass:0.1.0',
      namespace: 'platform-breakglass',
      // 3 replicas, PodDisruptionBudget and anti-affinity; use 'single-instance' for labs.
      profile: 'production',
      leaderElection: { leaseId: 'breakglass-platform' },
      // ClusterConfig kubeconfig Secrets live next to the controller and in a dedicated namespace.
      // Only the controller namespace is created here: 'spoke-kubeconfigs' must already exist.
      secretNamespaces: ['platform-breakglass', 'spoke-kubeconfigs'],
      intervals: { clusterConfigCheck: Duration.minutes(5) },
      // cert-manager issues the webhook certificate (the default); or bring your own:
      // webhookTls: { mode: 'secret', secretName: 'breakglass-webhook-tls', caBundle: '<base64 PEM CA>' },
      env: { HTTPS_PROXY: 'http://proxy.platform.internal:3128', NO_PROXY: '.svc,.cluster.local' },
    });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const app = new App();
  new PlatformBreakglassChart(app, 'platform-breakglass');
  app.synth();
}
