import { readFileSync } from 'node:fs';
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

  it('says which namespaces it uses but does not create, identically in the README', () => {
    const example = readFileSync(new URL('./platform-app.ts', import.meta.url), 'utf8');
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const block = /<!-- consumer-app: src\/platform\.ts -->\n```ts\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
    // The same check as e2e/package-consumer.e2e.ts, here so a unit run catches a drift too.
    expect(block.slice(block.indexOf('export class'))).to.not.equal('');
    expect(example).to.include(block.slice(block.indexOf('export class')));

    const objects = Testing.synth(new PlatformBreakglassChart(Testing.app(), 'platform-breakglass')) as KubeObject[];
    const created = new Set(findAllNamespaces(objects));
    const used = new Set(objects.map((o) => o.metadata.namespace).filter((ns): ns is string => ns !== undefined));
    const missing = [...used].filter((ns) => !created.has(ns));
    expect(missing).to.deep.equal(['spoke-kubeconfigs']);
    for (const ns of missing) expect(example).to.match(new RegExp(`'${ns}' must already exist`));
  });
});

function findAllNamespaces(objects: readonly KubeObject[]): string[] {
  return objects.filter((o) => o.kind === 'Namespace').map((o) => o.metadata.name);
}
