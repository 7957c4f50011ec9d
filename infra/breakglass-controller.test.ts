import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Duration, Size } from 'cdk8s';
import { Cpu } from 'cdk8s-plus-28';
import { expect } from 'chai';
import { defaultOptions, optionDefinitions, parseOptions, type OptionName } from '../controller/options.ts';
import { allCrdManifests } from '../crds/index.ts';
import { controllerOptions, TYPED_OPTION_PROPS, validationPath, WORKLOAD_OWNED_OPTIONS, type BreakglassControllerProps, type ControllerProfile } from './index.ts';
import { CONFIGURATION_NAMES, CONFIGURATIONS, findAll, findOne, synthesize, type KubeObject } from './test/configurations.ts';
import { TEST_IMAGE } from './test/fixtures.ts';
import { expectGolden } from './test/golden.ts';
import { restrictedViolations, type PodSpecForPss } from './test/pod-security.ts';

interface Container {
  name: string;
  args?: string[];
  env?: Array<{ name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }>;
  ports?: Array<{ name: string; containerPort: number }>;
  image: string;
  imagePullPolicy: string;
  livenessProbe?: { httpGet: { path: string; port: number } };
  readinessProbe?: { httpGet: { path: string; port: number } };
  resources: { requests: Record<string, string>; limits: Record<string, string> };
  securityContext: Record<string, unknown>;
  volumeMounts: Array<{ mountPath: string; name: string; readOnly?: boolean }>;
}
interface PodTemplate {
  metadata: { labels: Record<string, string> };
  spec: {
    automountServiceAccountToken?: boolean;
    serviceAccountName: string;
    containers: Container[];
    volumes: Array<{ name: string; emptyDir?: object; secret?: { secretName: string } }>;
    securityContext: Record<string, unknown>;
    affinity?: { podAntiAffinity?: { preferredDuringSchedulingIgnoredDuringExecution: Array<{ weight: number; podAffinityTerm: { topologyKey: string; labelSelector: { matchLabels: Record<string, string> } } }> } };
  };
}
interface DeploymentSpec {
  replicas: number;
  selector: { matchLabels: Record<string, string> };
  template: PodTemplate;
}

function deployment(objects: KubeObject[]): DeploymentSpec {
  return findOne(objects, 'Deployment').spec as DeploymentSpec;
}
function container(objects: KubeObject[]): Container {
  const c = deployment(objects).template.spec.containers[0];
  if (!c) throw new Error('no container');
  return c;
}

describe('BreakglassController', function () {
  this.timeout(20_000); // synthesis takes ~0.1 s, but the machine is shared
  describe('golden manifests', () => {
    for (const name of CONFIGURATION_NAMES) {
      it(`${name} matches infra/test/golden/${name}.k8s.yaml`, () => {
        expectGolden(`${name}.k8s.yaml`, synthesize(CONFIGURATIONS[name]()).yamlWithoutCrds);
      });
    }

    it('include the CRDs exactly as crds/ renders them (their golden files are crds/generated/)', () => {
      const crds = findAll(synthesize(CONFIGURATIONS['ha-production']()).objects, 'CustomResourceDefinition');
      expect(crds).to.deep.equal(allCrdManifests());
    });
  });

  it('synthesizes byte-identical output twice (no timestamps, random names or hashes)', () => {
    for (const name of CONFIGURATION_NAMES) {
      expect(synthesize(CONFIGURATIONS[name]()).yaml).to.equal(synthesize(CONFIGURATIONS[name]()).yaml);
    }
  });

  it('renders Deployment args that the controller parses back to the configured values', () => {
    const custom = parseOptions(container(synthesize(CONFIGURATIONS['custom-namespace']()).objects).args ?? [], {});
    expect(custom).to.include({
      enableLeaderElection: true,
      leaderElectId: 'breakglass-platform-leader',
      leaderElectNamespace: 'platform-leases',
      leaderElectLeaseDuration: 30_000,
      leaderElectRenewDeadline: 20_000,
      leaderElectRetryPeriod: 4_000,
      enableFrontend: false,
      enableApi: true,
      enableWebhooks: true,
      cleanupInterval: 60_000,
      clusterConfigCheckInterval: 120_000,
      escalationStatusUpdateInterval: optionDefinitions.escalationStatusUpdateInterval.default,
      logLevel: 'debug',
    });

    // The default install only pins the Lease namespace; everything else is the controller default.
    const ha = parseOptions(container(synthesize(CONFIGURATIONS['ha-production']()).objects).args ?? [], {});
    expect(ha).to.deep.equal({ ...defaultOptions(), leaderElectNamespace: 'breakglass-system' });
  });

  it('renders the REST API rate limits as flags the controller parses back, and refuses a bad one at synth time', () => {
    const { objects } = synthesize({ image: TEST_IMAGE, apiRateLimits: { perAddress: '100/s,200', perUser: '20/s' } });
    const args = container(objects).args ?? [];
    expect(args).to.include.members(['--api-rate-limit-per-address=100/s,200', '--api-rate-limit-per-user=20/s']);
    expect(parseOptions(args, {})).to.include({ apiRateLimitPerAddress: '100/s,200', apiRateLimitPerUser: '20/s' });
    expect(() => synthesize({ image: TEST_IMAGE, apiRateLimits: { perUser: '20 per second' } })).to.throw(/apiRateLimits\.perUser: "20 per second" is not a rate limit/);
  });

  it('renders the authorization webhook rate limit as a flag the controller parses back, and refuses a bad one at synth time', () => {
    const { objects } = synthesize({ image: TEST_IMAGE, webhookRateLimits: { perCluster: '3000/s,6000' } });
    const args = container(objects).args ?? [];
    expect(args).to.include.members(['--sar-rate-limit-per-cluster=3000/s,6000']);
    expect(parseOptions(args, {})).to.include({ sarRateLimitPerCluster: '3000/s,6000' });
    expect(() => synthesize({ image: TEST_IMAGE, webhookRateLimits: { perCluster: 'unlimited' } })).to.throw(/webhookRateLimits\.perCluster: "unlimited" is not a rate limit/);
  });

  it('renders every flag from the option schema, so a flag the controller does not know cannot appear', () => {
    const { objects } = synthesize({
      image: TEST_IMAGE,
      profile: 'single-instance',
      leaderElection: { enabled: false },
      components: { cleanup: false, webhooks: false, frontend: false, api: false },
      intervals: { escalationStatusUpdate: Duration.minutes(30) },
      shutdownTimeout: Duration.seconds(10),
    });
    const args = container(objects).args ?? [];
    const known = new Set(Object.values(optionDefinitions).map((d) => d.flag));
    for (const arg of args) expect(known.has(arg.replace(/^--/, '').split('=')[0] ?? '')).to.equal(true, arg);
    expect(args).to.include.members(['--enable-leader-election=false', '--enable-webhooks=false', '--escalation-status-update-interval=30m0s', '--shutdown-timeout=10s']);
    expect(args.some((a) => a.startsWith('--leader-elect-'))).to.equal(false);
  });

  it('gives the pod its API credentials and its identity from the downward API', () => {
    const { objects } = synthesize(CONFIGURATIONS['ha-production']());
    const spec = deployment(objects).template.spec;
    expect(spec.automountServiceAccountToken).to.equal(true);
    expect(spec.serviceAccountName).to.equal(findOne(objects, 'ServiceAccount').metadata.name);
    const env = container(objects).env ?? [];
    expect(env).to.deep.include({ name: optionDefinitions.podNamespace.env, valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } });
    expect(env).to.deep.include({ name: optionDefinitions.podName.env, valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } });
  });

  it('runs as non-root with a read-only root filesystem, a writable /tmp and the webhook certificate mounted', () => {
    const { objects } = synthesize(CONFIGURATIONS['custom-namespace']());
    const c = container(objects);
    expect(c.securityContext).to.include({ runAsUser: 65532, runAsGroup: 65532, runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    expect(c.securityContext).to.deep.include({ capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' } });
    expect(c.imagePullPolicy).to.equal('IfNotPresent');
    expect(c.volumeMounts).to.deep.include({ mountPath: '/tmp', name: 'tmp' });
    expect(c.volumeMounts).to.deep.include({ mountPath: optionDefinitions.webhookCertPath.default, name: 'webhook-cert', readOnly: true });
    expect(deployment(objects).template.spec.volumes).to.deep.include({ name: 'webhook-cert', secret: { secretName: 'platform-webhook-tls' } });
  });

  it('passes Pod Security "restricted" in every configuration (capabilities dropped, RuntimeDefault seccomp)', () => {
    const variants: BreakglassControllerProps[] = [
      ...CONFIGURATION_NAMES.map((name) => CONFIGURATIONS[name]()),
      { image: TEST_IMAGE, authorizationWebhookTlsSecretName: 'spokes-tls', components: { webhooks: false } },
    ];
    for (const props of variants) {
      const spec = deployment(synthesize(props).objects).template.spec as unknown as PodSpecForPss;
      expect(restrictedViolations(spec), JSON.stringify(props)).to.deep.equal([]);
    }
  });

  it('exposes the four servers on their ports, with probes on 8082', () => {
    const { objects } = synthesize(CONFIGURATIONS['ha-production']());
    const c = container(objects);
    expect(c.ports).to.deep.equal([
      { name: 'http', containerPort: 8080 },
      { name: 'metrics', containerPort: 8081 },
      { name: 'probes', containerPort: 8082 },
      { name: 'webhook', containerPort: 9443 },
    ]);
    expect(c.livenessProbe?.httpGet).to.include({ path: '/healthz', port: 8082 });
    expect(c.readinessProbe?.httpGet).to.include({ path: '/readyz', port: 8082 });
    const ports = (name: string) => (findOne(objects, 'Service', name).spec as { ports: unknown[] }).ports;
    expect(ports('breakglass')).to.deep.equal([{ name: 'http', port: 80, targetPort: 8080 }]);
    expect(ports('breakglass-webhook-service')).to.deep.equal([{ name: 'webhook', port: 443, targetPort: 9443 }]);
    expect(ports('breakglass-metrics')).to.deep.equal([{ name: 'metrics', port: 8081, targetPort: 8081 }]);
  });

  it('HA production: 3 replicas, a PDB and Services selecting exactly the pod labels, anti-affinity per node', () => {
    const { objects } = synthesize(CONFIGURATIONS['ha-production']());
    const d = deployment(objects);
    const podLabels = d.template.metadata.labels;
    expect(d.replicas).to.equal(3);
    expect(d.selector.matchLabels).to.deep.equal(podLabels);
    const pdb = findOne(objects, 'PodDisruptionBudget').spec as { maxUnavailable: number; selector: { matchLabels: Record<string, string> } };
    expect(pdb.maxUnavailable).to.equal(1);
    expect(pdb.selector.matchLabels).to.deep.equal(podLabels);
    for (const service of findAll(objects, 'Service')) {
      expect((service.spec as { selector: Record<string, string> }).selector).to.deep.equal(podLabels);
    }
    const terms = d.template.spec.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
    expect(terms).to.have.length(1);
    expect(terms[0]?.podAffinityTerm.topologyKey).to.equal('kubernetes.io/hostname');
    expect(terms[0]?.podAffinityTerm.labelSelector.matchLabels).to.deep.equal(podLabels);
    expect(container(objects).resources).to.deep.equal({ requests: { cpu: '200m', memory: '256Mi' }, limits: { cpu: '1000m', memory: '512Mi' } });
  });

  it('single instance: 1 small replica, no PDB and no anti-affinity, leader election still on', () => {
    const { objects } = synthesize(CONFIGURATIONS['single-instance']());
    const d = deployment(objects);
    expect(d.replicas).to.equal(1);
    expect(findAll(objects, 'PodDisruptionBudget')).to.deep.equal([]);
    expect(d.template.spec.affinity).to.equal(undefined);
    expect(container(objects).resources).to.deep.equal({ requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m', memory: '256Mi' } });
    expect(parseOptions(container(objects).args ?? [], {}).enableLeaderElection).to.equal(true);
    expect(findAll(objects, 'Role').map((r) => r.metadata.name)).to.include('breakglass-leader-election');
  });

  it('registers exactly the five validation paths on the webhook Service, each for the kind and its status', () => {
    const { objects } = synthesize(CONFIGURATIONS['ha-production']());
    const webhooks = findOne(objects, 'ValidatingWebhookConfiguration').webhooks as Array<{
      clientConfig: { service: { name: string; path: string; port: number } };
      matchConditions?: Array<{ name: string; expression: string }>;
    }>;
    expect(webhooks.map((w) => w.clientConfig.service.path)).to.deep.equal(
      ['breakglasssession', 'breakglassescalation', 'clusterconfig', 'identityprovider', 'denypolicy'].flatMap((kind) => [
        `/validate-breakglass-t-caas-telekom-com-v1alpha1-${kind}`,
        `/validate-breakglass-t-caas-telekom-com-v1alpha1-${kind}`,
      ]),
    );
    // The controller's own status writes never wait for the webhook; everyone else's go to it.
    const serviceAccount = findOne(objects, 'ServiceAccount').metadata;
    const user = `system:serviceaccount:${serviceAccount.namespace}:${serviceAccount.name}`;
    expect(webhooks.map((w) => w.matchConditions)).to.deep.equal(
      Array.from({ length: 5 }, () => [undefined, [{ name: 'not-the-controller', expression: `request.userInfo.username != "${user}"` }]]).flat(),
    );
    expect(validationPath('DenyPolicy')).to.equal('/validate-breakglass-t-caas-telekom-com-v1alpha1-denypolicy');
    for (const w of webhooks) expect(w.clientConfig.service).to.include({ name: 'breakglass-webhook-service', port: 443 });
  });

  it('puts every namespaced object in the configured namespace and creates that Namespace', () => {
    const { objects } = synthesize(CONFIGURATIONS['custom-namespace']());
    expect(findOne(objects, 'Namespace').metadata.name).to.equal('platform-breakglass');
    const namespaced = objects.filter((o) => !['Namespace', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding', 'ValidatingWebhookConfiguration'].includes(o.kind));
    const outside = namespaced.filter((o) => o.metadata.namespace !== 'platform-breakglass').map((o) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`);
    // Only the RBAC for the Lease and the secrets lives elsewhere, by configuration.
    expect(outside.sort()).to.deep.equal([
      'Role/platform-leases/bg-leader-election',
      'Role/spoke-kubeconfigs/bg-secrets',
      'RoleBinding/platform-leases/bg-leader-election',
      'RoleBinding/spoke-kubeconfigs/bg-secrets',
    ]);
    const clusterScoped = objects.filter((o) => ['ClusterRole', 'ClusterRoleBinding', 'ValidatingWebhookConfiguration', 'CustomResourceDefinition'].includes(o.kind));
    for (const o of clusterScoped) expect(o.metadata.namespace, `${o.kind} ${o.metadata.name}`).to.equal(undefined);
  });

  it('installs the CRDs of all five kinds unless told not to, and the Namespace unless told not to', () => {
    const all = synthesize(CONFIGURATIONS['ha-production']()).objects;
    expect(findAll(all, 'CustomResourceDefinition').map((c) => c.metadata.name)).to.have.members([
      'breakglasssessions.breakglass.t-caas.telekom.com',
      'breakglassescalations.breakglass.t-caas.telekom.com',
      'clusterconfigs.breakglass.t-caas.telekom.com',
      'identityproviders.breakglass.t-caas.telekom.com',
      'denypolicies.breakglass.t-caas.telekom.com',
    ]);
    const bare = synthesize({ image: TEST_IMAGE, installCrds: false, createNamespace: false }).objects;
    expect(findAll(bare, 'CustomResourceDefinition')).to.deep.equal([]);
    expect(findAll(bare, 'Namespace')).to.deep.equal([]);
  });

  it('leaves out the webhook configuration, Service and certificate mount when webhooks are off', () => {
    const { objects } = synthesize({ image: TEST_IMAGE, components: { webhooks: false } });
    expect(findAll(objects, 'ValidatingWebhookConfiguration')).to.deep.equal([]);
    expect(objects.filter((o) => o.apiVersion.startsWith('cert-manager.io/'))).to.deep.equal([]);
    expect(findAll(objects, 'Service').map((s) => s.metadata.name)).to.deep.equal(['breakglass', 'breakglass-metrics']);
    expect(container(objects).volumeMounts.map((m) => m.mountPath)).to.deep.equal(['/tmp']);
  });

  it('drops the Lease Role and pins the flag when leader election is off', () => {
    const { objects } = synthesize({ image: TEST_IMAGE, profile: 'single-instance', leaderElection: { enabled: false } });
    expect(findAll(objects, 'Role').map((r) => r.metadata.name)).to.not.include('breakglass-leader-election');
    expect(container(objects).args).to.include('--enable-leader-election=false');
  });

  it('adds extra env after the downward API variables and refuses to override them', () => {
    const env = container(synthesize(CONFIGURATIONS['custom-namespace']()).objects).env ?? [];
    expect(env.map((e) => e.name)).to.deep.equal(['POD_NAMESPACE', 'POD_NAME', 'HTTPS_PROXY', 'NO_PROXY']);
    expect(() => synthesize({ image: TEST_IMAGE, env: { POD_NAME: 'x' } })).to.throw(/env\.POD_NAME is set from the downward API/);
  });

  it('refuses env that the controller reads as an option, naming the variable and the prop to use instead', () => {
    const refusal = (env: Record<string, string>) => {
      try {
        synthesize({ image: TEST_IMAGE, env });
      } catch (err) {
        return (err as Error).message;
      }
      throw new Error(`env ${JSON.stringify(env)} was accepted`);
    };
    expect(refusal({ ENABLE_WEBHOOKS: 'false' })).to.equal('env.ENABLE_WEBHOOKS is read by the controller as --enable-webhooks, which the construct controls; use components.webhooks instead');
    expect(refusal({ SHUTDOWN_TIMEOUT: '60s' })).to.match(/^env\.SHUTDOWN_TIMEOUT .*; use shutdownTimeout instead$/);
    expect(refusal({ ENABLE_LEADER_ELECTION: 'false' })).to.match(/^env\.ENABLE_LEADER_ELECTION .*; use leaderElection\.enabled instead$/);
    expect(refusal({ WEBHOOK_BIND_ADDRESS: ':9999' })).to.match(/^env\.WEBHOOK_BIND_ADDRESS .*the Workload fixes it to match the container ports; remove it$/);
    expect(refusal({ FRONTEND_BASE_URL: 'https://bg.example/' })).to.match(/^env\.FRONTEND_BASE_URL .*; use additionalControllerOptions\.frontendBaseUrl instead$/);
    // Every option's variable, straight from the definitions the controller parses with.
    for (const [name, def] of Object.entries(optionDefinitions) as Array<[OptionName, (typeof optionDefinitions)[OptionName]]>) {
      const message = refusal({ HTTPS_PROXY: 'http://proxy:3128', [def.env]: 'x' });
      expect(message, name).to.match(new RegExp(`^env\\.${def.env} `));
      if (Object.hasOwn(TYPED_OPTION_PROPS, name)) expect(message, name).to.contain(`use ${TYPED_OPTION_PROPS[name as keyof typeof TYPED_OPTION_PROPS]} instead`);
      else if (!(WORKLOAD_OWNED_OPTIONS as readonly string[]).includes(name)) expect(message, name).to.contain(`use additionalControllerOptions.${name} instead`);
    }
  });

  it('renders additionalControllerOptions as flags checked at synth time, and refuses one that has a typed prop', () => {
    const args = container(
      synthesize({ image: TEST_IMAGE, additionalControllerOptions: { frontendBaseUrl: 'https://bg.example/', oidcPrefixes: 'oidc:', sarGrantCacheTtl: 30_000 } }).objects,
    ).args ?? [];
    expect(parseOptions(args, {})).to.include({ frontendBaseUrl: 'https://bg.example/', oidcPrefixes: 'oidc:', sarGrantCacheTtl: 30_000 });
    expect(() => synthesize({ image: TEST_IMAGE, additionalControllerOptions: { cacheMaxAge: 1000 } })).to.throw(/--cache-max-age: "1s" is too short/);
    // A cast stands in for a JavaScript caller; the type already excludes typed options.
    const typed = { enableWebhooks: false } as unknown as BreakglassControllerProps['additionalControllerOptions'];
    expect(() => synthesize({ image: TEST_IMAGE, additionalControllerOptions: typed })).to.throw(
      /^additionalControllerOptions\.enableWebhooks has a typed prop; use components\.webhooks instead$/,
    );
  });

  it('TYPED_OPTION_PROPS names exactly the options the typed props map to', () => {
    const all = controllerOptions({
      namespace: 'ns',
      leaderElection: {
        enabled: true,
        leaseId: 'lease',
        leaseNamespace: 'leases',
        leaseDuration: Duration.seconds(30),
        renewDeadline: Duration.seconds(20),
        retryPeriod: Duration.seconds(4),
        releaseTimeout: Duration.seconds(5),
      },
      components: { cleanup: true, webhooks: true, frontend: true, api: true },
      intervals: { cleanup: Duration.minutes(1), escalationStatusUpdate: Duration.minutes(1), clusterConfigCheck: Duration.minutes(1) },
      apiRateLimits: { perAddress: '1/s', perUser: '1/s' },
      webhookRateLimits: { perCluster: '1/s' },
      logLevel: 'info',
      shutdownTimeout: Duration.seconds(20),
    });
    expect(Object.keys(all).sort()).to.deep.equal(Object.keys(TYPED_OPTION_PROPS).sort());
  });

  it('refuses several replicas without leader election: every replica would run the leader-only loops', () => {
    expect(() => synthesize({ image: TEST_IMAGE, leaderElection: { enabled: false } })).to.throw(
      /^leader election is disabled but there are 3 replicas: .*set replicas: 1 \(profile 'production' has 3\) or leave leaderElection\.enabled on$/,
    );
    expect(() => synthesize({ image: TEST_IMAGE, profile: 'single-instance', replicas: 2, leaderElection: { enabled: false } })).to.throw(
      /^leader election is disabled but there are 2 replicas/,
    );
    const single = synthesize({ image: TEST_IMAGE, replicas: 1, leaderElection: { enabled: false } });
    expect(deployment(single.objects).replicas).to.equal(1);
    expect(deployment(synthesize({ image: TEST_IMAGE, profile: 'single-instance', replicas: 2 }).objects).replicas).to.equal(2);
  });

  it('merges a partial resources prop field by field with the profile', () => {
    const resources = (props: Partial<BreakglassControllerProps>) => container(synthesize({ image: TEST_IMAGE, ...props }).objects).resources;
    expect(resources({ resources: { memory: { request: Size.mebibytes(512) } } })).to.deep.equal({
      requests: { cpu: '200m', memory: '512Mi' },
      limits: { cpu: '1000m', memory: '512Mi' },
    });
    expect(resources({ profile: 'single-instance', resources: { cpu: { limit: Cpu.units(2) } } })).to.deep.equal({
      requests: { cpu: '100m', memory: '128Mi' },
      limits: { cpu: '2', memory: '256Mi' },
    });
    expect(resources({ resources: { ephemeralStorage: { limit: Size.gibibytes(1) } } })).to.deep.equal({
      requests: { cpu: '200m', memory: '256Mi' },
      limits: { cpu: '1000m', memory: '512Mi', 'ephemeral-storage': '1Gi' },
    });
    expect(() => resources({ resources: { memory: { request: Size.gibibytes(1) } } })).to.throw(/^resources\.memory: the request is above the limit/);
    expect(() => resources({ profile: 'single-instance', resources: { cpu: { request: Cpu.units(1) } } })).to.throw(/^resources\.cpu: the request is above the limit/);
  });

  it('refuses a name that is not a DNS-1035 label or too long for the derived names, and an invalid leaseId', () => {
    expect(() => synthesize({ image: TEST_IMAGE, name: 'a'.repeat(60) })).to.throw(
      /^name must be at most 30 characters so that derived names such as "a{60}-validating-webhook-configuration" stay within 63/,
    );
    for (const name of ['Break_Glass', 'breakglass-', '1breakglass', 'break.glass', '']) {
      expect(() => synthesize({ image: TEST_IMAGE, name }), name).to.throw(/^name must be a DNS-1035 label/);
    }
    // The longest accepted name: every object name and label value stays within 63 characters.
    const { objects } = synthesize({ image: TEST_IMAGE, name: 'a'.repeat(30), authorizationWebhookTlsSecretName: 'spokes-tls' });
    for (const o of objects.filter((o) => o.kind !== 'CustomResourceDefinition')) {
      expect(o.metadata.name.length, `${o.kind} ${o.metadata.name}`).to.be.at.most(63);
      for (const value of Object.values(o.metadata.labels ?? {})) expect(value.length).to.be.at.most(63);
    }
    for (const leaseId of ['Breakglass', 'lease_id', 'lease.', `${'a'.repeat(251)}.io`]) {
      expect(() => synthesize({ image: TEST_IMAGE, leaderElection: { leaseId } }), leaseId).to.throw(/^leaderElection\.leaseId must be a DNS-1123 subdomain/);
    }
    expect(parseOptions(container(synthesize({ image: TEST_IMAGE, leaderElection: { leaseId: 'bg.example.com' } }).objects).args ?? [], {}).leaderElectId).to.equal('bg.example.com');
  });

  it('refuses a profile that is only an inherited property name', () => {
    for (const profile of ['toString', 'constructor', '__proto__', 'hasOwnProperty']) {
      expect(() => synthesize({ image: TEST_IMAGE, profile: profile as ControllerProfile }), profile).to.throw(/^profile must be 'production' or 'single-instance'/);
    }
  });

  it('gives the pod more termination grace than the shutdown timeout, so SIGKILL never cuts off the lease release', () => {
    const grace = (props: Partial<BreakglassControllerProps>) =>
      (findOne(synthesize({ image: TEST_IMAGE, ...props }).objects, 'Deployment').spec as { template: { spec: { terminationGracePeriodSeconds?: number } } })
        .template.spec.terminationGracePeriodSeconds;
    // Defaults: 15 s shutdown timeout (1 s loop stop + 10 s release + 1 s server close, with room to spare).
    expect(defaultOptions().shutdownTimeout).to.equal(15_000);
    expect(grace({})).to.equal(30);
    expect(grace({ shutdownTimeout: Duration.seconds(60) })).to.equal(75);
    expect(grace({ shutdownTimeout: Duration.millis(12_500), leaderElection: { releaseTimeout: Duration.seconds(10) } })).to.equal(28);
    expect(() => synthesize({ image: TEST_IMAGE, leaderElection: { releaseTimeout: Duration.seconds(20) } })).to.throw(/--shutdown-timeout \(15s\) must be at least 22s/);
  });

  it('fails the synth, naming the flag, for settings the controller would reject at startup', () => {
    expect(() =>
      synthesize({ image: TEST_IMAGE, leaderElection: { leaseDuration: Duration.seconds(10), renewDeadline: Duration.seconds(10) } }),
    ).to.throw(/--leader-elect-lease-duration \(10s\) must be greater than --leader-elect-renew-deadline/);
    expect(() => synthesize({ image: TEST_IMAGE, leaderElection: { leaseId: ' ' } })).to.throw(/^leaderElection\.leaseId must be a DNS-1123 subdomain/);
    expect(() => synthesize({ image: TEST_IMAGE, shutdownTimeout: Duration.seconds(4) })).to.throw(
      /--shutdown-timeout \(4s\) must be at least 12s: --leader-elect-release-timeout \(10s\)/,
    );
    expect(() => synthesize({ image: TEST_IMAGE, replicas: 0 })).to.throw(/replicas must be a positive integer/);
    expect(() => synthesize({ image: TEST_IMAGE, webhookTimeout: Duration.seconds(31) })).to.throw(/between 1 and 30/);
  });

  describe('cdk8s app (infra/app.ts)', function () {
    this.timeout(60_000);
    const root = join(dirname(fileURLToPath(import.meta.url)), '..');
    const run = promisify(execFile);

    it('writes dist/breakglass.k8s.yaml, byte-identical across runs and equal to the HA configuration', async () => {
      const dirs = await Promise.all([mkdtemp(join(tmpdir(), 'bg-synth-')), mkdtemp(join(tmpdir(), 'bg-synth-'))]);
      try {
        const outputs = await Promise.all(
          dirs.map(async (dir) => {
            await run(process.execPath, ['--import', 'tsx', join(root, 'infra', 'app.ts')], {
              cwd: root,
              env: { ...process.env, CDK8S_OUTDIR: dir, BREAKGLASS_IMAGE: TEST_IMAGE },
            });
            return readFile(join(dir, 'breakglass.k8s.yaml'), 'utf8');
          }),
        );
        expect(outputs[0]).to.equal(outputs[1]);
        expect(outputs[0]).to.equal(synthesize(CONFIGURATIONS['ha-production']()).yaml);
      } finally {
        await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
      }
    });

    it('stops without BREAKGLASS_IMAGE, naming it, and writes nothing', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'bg-synth-'));
      try {
        const env: NodeJS.ProcessEnv = { ...process.env, CDK8S_OUTDIR: dir };
        delete env.BREAKGLASS_IMAGE;
        const failure = await run(process.execPath, ['--import', 'tsx', join(root, 'infra', 'app.ts')], { cwd: root, env }).then(
          () => undefined,
          (error: unknown) => error as { code?: number; stderr?: string },
        );
        expect(failure, 'synth without BREAKGLASS_IMAGE must fail').to.not.equal(undefined);
        expect(failure?.code).to.equal(2);
        expect(failure?.stderr).to.match(/^BREAKGLASS_IMAGE is not set/);
        expect(await readdir(dir)).to.deep.equal([]);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
});
