import { Testing } from 'cdk8s';
import { expect } from 'chai';
import { parseOptions } from '../controller/options.ts';
import { Workload } from './index.ts';
import { findAll, findOne, type KubeObject } from './test/configurations.ts';
import { TEST_IMAGE } from './test/fixtures.ts';

describe('Workload', function () {
  this.timeout(20_000); // synthesis takes ~0.1 s, but the machine is shared
  it('used alone: renders controller options as args and defaults to the production shape', () => {
    const chart = Testing.chart();
    const workload = new Workload(chart, 'Workload', { image: TEST_IMAGE, controllerOptions: { cleanupInterval: 90_000, enableApi: false, enableFrontend: false } });
    const objects = Testing.synth(chart) as KubeObject[];
    expect(workload.args).to.deep.equal(['--enable-frontend=false', '--enable-api=false', '--cleanup-interval=1m30s']);
    expect(parseOptions([...workload.args], {})).to.include({ cleanupInterval: 90_000, enableApi: false, enableFrontend: false });
    expect((findOne(objects, 'Deployment').spec as { replicas: number }).replicas).to.equal(3);
    expect(findAll(objects, 'PodDisruptionBudget')).to.have.length(1);
    // No API and no UI: no HTTP Service.
    expect(findAll(objects, 'Service').map((s) => s.metadata.name)).to.deep.equal(['breakglass-metrics', 'breakglass-webhook-service']);
  });

  it('refuses options that must match the pod layout (ports, mounts, downward API)', () => {
    const chart = Testing.chart();
    // A cast stands in for a caller without types; the type already excludes these keys.
    const options = { webhookBindAddress: ':9999' } as unknown as Record<string, never>;
    expect(() => new Workload(chart, 'Workload', { image: TEST_IMAGE, controllerOptions: options })).to.throw(/controllerOptions\.webhookBindAddress is set by the Workload/);
  });

  it('has no default image: a missing or blank image stops the synth naming the prop', () => {
    // A cast stands in for a JavaScript caller; the type already requires the prop.
    const withoutImage = {} as unknown as { image: string };
    expect(() => new Workload(Testing.chart(), 'Workload', withoutImage)).to.throw(/^image is required/);
    expect(() => new Workload(Testing.chart(), 'Workload', { image: ' ' })).to.throw(/^image is required/);
  });

  it('lets a replicated workload opt out of the PDB and anti-affinity', () => {
    const chart = Testing.chart();
    new Workload(chart, 'Workload', { image: TEST_IMAGE, replicas: 2, podDisruptionBudget: false, podAntiAffinity: false });
    const objects = Testing.synth(chart) as KubeObject[];
    expect(findAll(objects, 'PodDisruptionBudget')).to.deep.equal([]);
    const spec = findOne(objects, 'Deployment').spec as { template: { spec: { affinity?: unknown } } };
    expect(spec.template.spec.affinity).to.equal(undefined);
  });

  it('mounts the authorization webhook TLS Secret, points the --sar-tls flags at it and exposes port 8443 as <name>-sar-tls:443, only when asked', () => {
    const chart = Testing.chart();
    const workload = new Workload(chart, 'Workload', { image: TEST_IMAGE, authorizationWebhookTlsSecretName: 'spokes-tls' });
    const objects = Testing.synth(chart) as KubeObject[];
    expect(parseOptions([...workload.args], {})).to.include({
      sarTlsCertFile: '/etc/breakglass/sar-tls/tls.crt',
      sarTlsKeyFile: '/etc/breakglass/sar-tls/tls.key',
      sarTlsBindAddress: ':8443',
    });
    const pod = (findOne(objects, 'Deployment').spec as { template: { spec: PodSpec } }).template.spec;
    const container = pod.containers[0]!;
    expect(container.ports).to.deep.include({ name: 'sar-tls', containerPort: 8443 });
    const mount = container.volumeMounts.find((m) => m.mountPath === '/etc/breakglass/sar-tls');
    expect(mount?.readOnly).to.equal(true);
    expect(pod.volumes.find((v) => v.name === mount?.name)?.secret?.secretName).to.equal('spokes-tls');
    const service = findAll(objects, 'Service').find((s) => s.metadata.name === 'breakglass-sar-tls');
    expect((service?.spec as { ports: unknown[] }).ports).to.deep.equal([{ name: 'sar-tls', port: 443, targetPort: 8443 }]);

    const plain = Testing.chart();
    const without = new Workload(plain, 'Workload', { image: TEST_IMAGE });
    expect(without.args.join(' ')).to.not.contain('sar-tls');
    expect(findAll(Testing.synth(plain) as KubeObject[], 'Service').map((s) => s.metadata.name)).to.not.include('breakglass-sar-tls');
    expect(() => new Workload(Testing.chart(), 'Workload', { image: TEST_IMAGE, authorizationWebhookTlsSecretName: 'x', controllerOptions: { enableApi: false } })).to.throw(
      /authorizationWebhookTlsSecretName needs the API/,
    );
  });
});

interface PodSpec {
  containers: { ports: { name: string; containerPort: number }[]; volumeMounts: { mountPath: string; name: string; readOnly?: boolean }[] }[];
  volumes: { name: string; secret?: { secretName: string } }[];
}
