import { Testing } from 'cdk8s';
import { expect } from 'chai';
import { parseOptions } from '../../controller/options.ts';
import { findOne, type KubeObject } from '../test/configurations.ts';
import { PlatformBreakglassChart } from './platform-app.ts';

describe('README example (infra/examples/platform-app.ts)', function () {
  this.timeout(20_000);

  it('synthesizes a complete install with the platform settings', () => {
    const chart = new PlatformBreakglassChart(Testing.app(), 'platform-breakglass');
    const objects = Testing.synth(chart) as KubeObject[];
    const deployment = findOne(objects, 'Deployment');
    expect(deployment.metadata.namespace).to.equal('platform-breakglass');
    const args = (deployment.spec as { template: { spec: { containers: Array<{ args: string[] }> } } }).template.spec.containers[0]?.args ?? [];
    expect(parseOptions(args, {})).to.include({ leaderElectId: 'breakglass-platform', leaderElectNamespace: 'platform-breakglass', clusterConfigCheckInterval: 300_000 });
    expect(objects.filter((o) => o.kind === 'Role' && o.metadata.name === 'breakglass-secrets').map((o) => o.metadata.namespace)).to.deep.equal([
      'platform-breakglass',
      'spoke-kubeconfigs',
    ]);
    expect(findOne(objects, 'ValidatingWebhookConfiguration').metadata.annotations).to.have.property('cert-manager.io/inject-ca-from');
  });
});
