import { Size, Testing } from 'cdk8s';
import { expect } from 'chai';
import { parseOptions } from '../controller/options.ts';
import { CertManagerCertificate, ControllerRbac, WebhookConfiguration, Workload, type WorkloadProps } from './index.ts';
import { findAll, findOne, type KubeObject } from './test/configurations.ts';
import { TEST_IMAGE } from './test/fixtures.ts';
import { restrictedViolations, type PodSpecForPss } from './test/pod-security.ts';

function synthWorkload(props: WorkloadProps): KubeObject[] {
  const chart = Testing.chart();
  new Workload(chart, 'Workload', props);
  return Testing.synth(chart) as KubeObject[];
}
type WorkloadPodSpec = PodSpecForPss & { containers: Array<{ resources?: unknown; securityContext?: object }> };
function podSpec(objects: KubeObject[]): WorkloadPodSpec {
  return (findOne(objects, 'Deployment').spec as { template: { spec: WorkloadPodSpec } }).template.spec;
}

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

  it('used alone: passes Pod Security "restricted" (drops all capabilities, RuntimeDefault seccomp)', () => {
    const spec = podSpec(synthWorkload({ image: TEST_IMAGE, authorizationWebhookTlsSecretName: 'spokes-tls' }));
    expect(spec.containers[0]?.securityContext).to.deep.include({ capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' } });
    expect(restrictedViolations(spec)).to.deep.equal([]);
  });

  it('used alone: refuses several replicas without leader election', () => {
    expect(() => synthWorkload({ image: TEST_IMAGE, controllerOptions: { enableLeaderElection: false } })).to.throw(
      /^leader election is disabled but there are 3 replicas: .*set replicas to 1 or leave controllerOptions\.enableLeaderElection on$/,
    );
    expect(() => synthWorkload({ image: TEST_IMAGE, replicas: 2, controllerOptions: { enableLeaderElection: false } })).to.throw(/there are 2 replicas/);
    expect((findOne(synthWorkload({ image: TEST_IMAGE, replicas: 1, controllerOptions: { enableLeaderElection: false } }), 'Deployment').spec as { replicas: number }).replicas).to.equal(1);
  });

  it('used alone: refuses env that the controller reads as an option, pointing at controllerOptions', () => {
    expect(() => synthWorkload({ image: TEST_IMAGE, env: { ENABLE_WEBHOOKS: 'false' } })).to.throw(
      /^env\.ENABLE_WEBHOOKS is read by the controller as --enable-webhooks, which the construct controls; use controllerOptions\.enableWebhooks instead$/,
    );
    expect(() => synthWorkload({ image: TEST_IMAGE, env: { SAR_TLS_CERT_FILE: '/x' } })).to.throw(/^env\.SAR_TLS_CERT_FILE .*use authorizationWebhookTlsSecretName$/);
    expect(() => synthWorkload({ image: TEST_IMAGE, env: { POD_NAMESPACE: 'x' } })).to.throw(/^env\.POD_NAMESPACE is set from the downward API/);
    expect(() => synthWorkload({ image: TEST_IMAGE, env: { HTTPS_PROXY: 'http://proxy:3128' } })).to.not.throw();
  });

  it('used alone: merges a partial resources prop over the production profile', () => {
    const spec = podSpec(synthWorkload({ image: TEST_IMAGE, resources: { memory: { request: Size.mebibytes(384) } } }));
    expect(spec.containers[0]?.resources).to.deep.equal({ requests: { cpu: '200m', memory: '384Mi' }, limits: { cpu: '1000m', memory: '512Mi' } });
  });

  it('every construct refuses an instance name that is not a DNS-1035 label of at most 30 characters', () => {
    const serviceAccount = new Workload(Testing.chart(), 'W', { image: TEST_IMAGE }).serviceAccount;
    const constructs: Array<[string, (name: string) => unknown]> = [
      ['Workload', (name) => new Workload(Testing.chart(), 'W', { image: TEST_IMAGE, name })],
      ['ControllerRbac', (name) => new ControllerRbac(Testing.chart(), 'R', { name, serviceAccount })],
      ['WebhookConfiguration', (name) => new WebhookConfiguration(Testing.chart(), 'V', { name })],
      ['CertManagerCertificate', (name) => new CertManagerCertificate(Testing.chart(), 'C', { name, serviceName: 'svc' })],
    ];
    for (const [kind, make] of constructs) {
      expect(() => make('Break_Glass'), kind).to.throw(/^name must be a DNS-1035 label/);
      expect(() => make('b'.repeat(31)), kind).to.throw(/^name must be at most 30 characters/);
      expect(() => make('b'.repeat(30)), kind).to.not.throw();
    }
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
