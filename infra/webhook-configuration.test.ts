import { Duration, Testing } from 'cdk8s';
import { expect } from 'chai';
import { WebhookConfiguration, type WebhookConfigurationProps } from './index.ts';
import { findAll, findOne, type KubeObject } from './test/configurations.ts';
import { EXAMPLE_CA_BUNDLE } from './test/fixtures.ts';

interface Webhook {
  name: string;
  admissionReviewVersions: string[];
  sideEffects: string;
  failurePolicy: string;
  timeoutSeconds: number;
  clientConfig: { caBundle?: string; service: { name: string; namespace: string; path: string; port: number } };
  rules: Array<{ apiGroups: string[]; apiVersions: string[]; operations: string[]; resources: string[] }>;
}

function synth(props: WebhookConfigurationProps = {}): KubeObject[] {
  const chart = Testing.chart();
  new WebhookConfiguration(chart, 'Webhooks', props);
  return Testing.synth(chart) as KubeObject[];
}

function webhooks(objects: KubeObject[]): Webhook[] {
  return findOne(objects, 'ValidatingWebhookConfiguration').webhooks as Webhook[];
}

describe('WebhookConfiguration', function () {
  this.timeout(20_000); // synthesis takes ~0.1 s, but the machine is shared
  it('validates CREATE and UPDATE of each kind, and UPDATE of its status, each with its own named webhook, v1 reviews, no side effects, Fail, 5 s', () => {
    const hooks = webhooks(synth());
    expect(hooks.map((h) => h.name)).to.deep.equal(
      ['breakglasssession', 'breakglassescalation', 'clusterconfig', 'identityprovider', 'denypolicy'].flatMap((kind) => [
        `${kind}.validation.breakglass.t-caas.telekom.com`,
        `${kind}-status.validation.breakglass.t-caas.telekom.com`,
      ]),
    );
    expect(hooks.map((h) => h.rules)).to.deep.equal(
      ['breakglasssessions', 'breakglassescalations', 'clusterconfigs', 'identityproviders', 'denypolicies'].flatMap((resource) => [
        [{ apiGroups: ['breakglass.t-caas.telekom.com'], apiVersions: ['v1alpha1'], operations: ['CREATE', 'UPDATE'], resources: [resource] }],
        [{ apiGroups: ['breakglass.t-caas.telekom.com'], apiVersions: ['v1alpha1'], operations: ['UPDATE'], resources: [`${resource}/status`] }],
      ]),
    );
    // Used alone, without the controller's user: every status write goes to the webhook.
    expect(hooks.every((h) => !('matchConditions' in h))).to.equal(true);
    for (const h of hooks) {
      expect(h).to.include({ sideEffects: 'None', failurePolicy: 'Fail', timeoutSeconds: 5 });
      expect(h.admissionReviewVersions).to.deep.equal(['v1']);
    }
  });

  it('cert-manager mode: a self-signed CA chain issues the serving certificate and cainjector fills the caBundle', () => {
    const objects = synth({ namespace: 'bg-ns' });
    const certManager = objects.filter((o) => o.apiVersion === 'cert-manager.io/v1').map((o) => `${o.kind}/${o.metadata.name}`);
    expect(certManager).to.deep.equal([
      'Issuer/breakglass-selfsigned-issuer',
      'Certificate/breakglass-ca',
      'Issuer/breakglass-ca-issuer',
      'Certificate/breakglass-webhook-serving-cert',
    ]);
    const serving = findOne(objects, 'Certificate', 'breakglass-webhook-serving-cert').spec as Record<string, unknown>;
    expect(serving).to.deep.include({
      secretName: 'breakglass-webhook-server-cert',
      dnsNames: ['breakglass-webhook-service.bg-ns.svc', 'breakglass-webhook-service.bg-ns.svc.cluster.local'],
      issuerRef: { group: 'cert-manager.io', kind: 'Issuer', name: 'breakglass-ca-issuer' },
    });
    expect((findOne(objects, 'Certificate', 'breakglass-ca').spec as { isCA: boolean }).isCA).to.equal(true);
    const vwc = findOne(objects, 'ValidatingWebhookConfiguration');
    expect(vwc.metadata.annotations).to.deep.equal({ 'cert-manager.io/inject-ca-from': 'bg-ns/breakglass-webhook-serving-cert' });
    for (const h of webhooks(objects)) expect(h.clientConfig.caBundle).to.equal(undefined);
  });

  it('cert-manager mode with an existing ClusterIssuer creates only the serving Certificate', () => {
    const objects = synth({ tls: { mode: 'cert-manager', issuerRef: { name: 'corp-ca', kind: 'ClusterIssuer' } } });
    expect(objects.filter((o) => o.apiVersion === 'cert-manager.io/v1').map((o) => o.kind)).to.deep.equal(['Certificate']);
    expect((findOne(objects, 'Certificate').spec as { issuerRef: unknown }).issuerRef).to.deep.equal({ group: 'cert-manager.io', kind: 'ClusterIssuer', name: 'corp-ca' });
  });

  it('secret mode: inlines the caBundle, creates no cert-manager objects and no annotation', () => {
    const chart = Testing.chart();
    const construct = new WebhookConfiguration(chart, 'W', { tls: { mode: 'secret', secretName: 'my-tls', caBundle: EXAMPLE_CA_BUNDLE }, timeout: Duration.seconds(12), failurePolicy: 'Ignore' });
    const objects = Testing.synth(chart) as KubeObject[];
    expect(construct.servingCertSecretName).to.equal('my-tls');
    expect(objects.map((o) => o.kind)).to.deep.equal(['ValidatingWebhookConfiguration']);
    expect(findOne(objects, 'ValidatingWebhookConfiguration').metadata.annotations).to.equal(undefined);
    for (const h of webhooks(objects)) expect(h).to.include({ timeoutSeconds: 12, failurePolicy: 'Ignore' }).and.to.have.nested.property('clientConfig.caBundle', EXAMPLE_CA_BUNDLE);
  });

  it('rejects a caBundle that is not base64 PEM and timeouts outside 1-30 s', () => {
    expect(() => synth({ tls: { mode: 'secret', secretName: 'x', caBundle: '-----BEGIN CERTIFICATE-----' } })).to.throw(/caBundle must be the base64 encoding of a PEM/);
    expect(() => synth({ tls: { mode: 'secret', secretName: 'x', caBundle: Buffer.from('hello').toString('base64') } })).to.throw(/caBundle/);
    expect(() => synth({ timeout: Duration.seconds(0) })).to.throw(/between 1 and 30/);
    expect(() => synth({ timeout: Duration.millis(1500) })).to.throw(/between 1 and 30/);
  });

  it('points every webhook at the named Service in its namespace on port 443', () => {
    const objects = synth({ name: 'x', namespace: 'y', serviceName: 'admission' });
    for (const h of webhooks(objects)) expect(h.clientConfig.service).to.include({ name: 'admission', namespace: 'y', port: 443 });
    expect(findAll(objects, 'ValidatingWebhookConfiguration').map((o) => o.metadata.name)).to.deep.equal(['x-validating-webhook-configuration']);
  });
});
