import { expect } from 'chai';
import { admit, clusterConfig, errorLines, identityProvider, lookupWith } from './fixtures.test-support.ts';

const secret = (name: string, key?: string) => ({ name, namespace: 'breakglass-system', ...(key === undefined ? {} : { key }) });
const oidcAuth = {
  issuerURL: 'https://sso.example.com/realms/corp',
  clientID: 'breakglass-hub',
  clientSecretRef: secret('hub-oidc'),
  server: 'https://api.prod-1.example.com:6443',
};

describe('ClusterConfig admission', () => {
  it('accepts a kubeconfig cluster and an OIDC cluster', async () => {
    expect((await admit('ClusterConfig', clusterConfig())).errors).to.deep.equal([]);
    const oidc = clusterConfig({ authType: 'OIDC', kubeconfigSecretRef: undefined, oidcAuth });
    expect((await admit('ClusterConfig', oidc)).errors).to.deep.equal([]);
  });

  it('rejects two auth methods', async () => {
    const outcome = await admit('ClusterConfig', clusterConfig({ oidcAuth }));
    expect(errorLines(outcome)).to.deep.equal([
      'spec.kubeconfigSecretRef: kubeconfigSecretRef is mutually exclusive with oidcAuth and oidcFromIdentityProvider',
      'spec.authType: authType must be OIDC when oidcAuth or oidcFromIdentityProvider is specified',
    ]);
    const bothOidc = clusterConfig({
      authType: 'OIDC',
      kubeconfigSecretRef: undefined,
      oidcAuth,
      oidcFromIdentityProvider: { name: 'corp', server: 'https://api.prod-1.example.com' },
    });
    expect(errorLines(await admit('ClusterConfig', bothOidc))).to.deep.equal([
      'spec.oidcAuth: oidcAuth and oidcFromIdentityProvider are mutually exclusive',
    ]);
  });

  it('rejects a cluster without any auth method', async () => {
    const outcome = await admit('ClusterConfig', clusterConfig({ kubeconfigSecretRef: undefined }));
    expect(errorLines(outcome)).to.deep.equal(['spec: either kubeconfigSecretRef, oidcAuth, or oidcFromIdentityProvider must be specified']);
  });

  it('rejects an authType that contradicts the auth block', async () => {
    const outcome = await admit('ClusterConfig', clusterConfig({ authType: 'OIDC' }));
    expect(errorLines(outcome)).to.deep.equal(['spec.authType: authType must be Kubeconfig when kubeconfigSecretRef is specified']);
  });

  it('requires a client secret unless a refresh token or token exchange is used', async () => {
    const noSecret = clusterConfig({ authType: 'OIDC', kubeconfigSecretRef: undefined, oidcAuth: { ...oidcAuth, clientSecretRef: undefined } });
    expect(errorLines(await admit('ClusterConfig', noSecret))).to.deep.equal([
      'spec.oidcAuth.clientSecretRef: clientSecretRef is required unless refreshTokenSecretRef or tokenExchange is used',
    ]);
    const refresh = clusterConfig({
      authType: 'OIDC',
      kubeconfigSecretRef: undefined,
      oidcAuth: { ...oidcAuth, clientSecretRef: undefined, refreshTokenSecretRef: secret('hub-refresh'), fallbackPolicy: 'Warn' },
    });
    const outcome = await admit('ClusterConfig', refresh);
    expect(outcome.errors).to.deep.equal([]);
    expect(outcome.warnings).to.deep.equal([
      'spec.oidcAuth.refreshTokenSecretRef: offline refresh tokens never expire unless revoked; protect the secret',
    ]);
  });

  it('checks refresh token rotation and fallback policy', async () => {
    const sameKey = clusterConfig({
      authType: 'OIDC',
      kubeconfigSecretRef: undefined,
      oidcAuth: { ...oidcAuth, refreshTokenSecretRef: secret('hub-refresh'), rotatedRefreshTokenKey: 'value' },
    });
    expect(errorLines(await admit('ClusterConfig', sameKey))).to.deep.equal([
      'spec.oidcAuth.rotatedRefreshTokenKey: rotatedRefreshTokenKey must differ from the key of refreshTokenSecretRef',
    ]);
    const fallback = clusterConfig({ authType: 'OIDC', kubeconfigSecretRef: undefined, oidcAuth: { ...oidcAuth, fallbackPolicy: 'Auto' } });
    expect(errorLines(await admit('ClusterConfig', fallback))).to.deep.equal([
      'spec.oidcAuth.fallbackPolicy: fallbackPolicy Auto is only valid with refreshTokenSecretRef',
    ]);
  });

  it('rejects an http server URL and warns about skipped TLS verification', async () => {
    const http = clusterConfig({
      authType: 'OIDC',
      kubeconfigSecretRef: undefined,
      oidcFromIdentityProvider: { name: 'corp', server: 'https://api.example.com', insecureSkipTLSVerify: true },
    });
    const outcome = await admit('ClusterConfig', http);
    expect(outcome.errors).to.deep.equal([]);
    expect(outcome.warnings).to.deep.equal([
      'spec.oidcFromIdentityProvider.insecureSkipTLSVerify is enabled: the connection to the cluster is not verified',
    ]);
    const plain = clusterConfig({ authType: 'OIDC', kubeconfigSecretRef: undefined, oidcAuth: { ...oidcAuth, server: 'http://api.example.com' } });
    expect(errorLines(await admit('ClusterConfig', plain))).to.deep.equal(['spec.oidcAuth.server: must be an https:// URL']);
  });

  it('requires referenced identity providers to exist and be enabled', async () => {
    const lookup = lookupWith({ identityProviders: () => [identityProvider(), identityProvider({ disabled: true }, 'old')] });
    const outcome = await admit('ClusterConfig', clusterConfig({ identityProviderRefs: ['corp', 'old', 'ghost'] }), { lookup });
    expect(errorLines(outcome)).to.deep.equal([
      'spec.identityProviderRefs[1]: IdentityProvider "old" is disabled',
      'spec.identityProviderRefs[2]: IdentityProvider "ghost" not found',
    ]);
  });

  it('rejects qps below 1 and a duplicate name in another namespace', async () => {
    expect(errorLines(await admit('ClusterConfig', clusterConfig({ qps: 0 })))).to.deep.equal(['spec.qps: must be >= 1']);
    const lookup = lookupWith({ clusterConfigs: () => [{ metadata: { name: 'prod-1', namespace: 'team-z' } }] });
    expect(errorLines(await admit('ClusterConfig', clusterConfig(), { lookup }))).to.deep.equal([
      'metadata.name: name must be unique cluster-wide; conflicting namespace=team-z',
    ]);
  });

  it('accepts a webhook token, a client certificate or both, and names the field when neither is set', async () => {
    const clientCertificate = { caSecretRef: secret('spoke-webhook-ca', 'ca.crt'), commonName: 'spoke-apiserver' };
    for (const webhookAuthentication of [{ tokenSecretRef: secret('spoke-webhook') }, { clientCertificate }, { tokenSecretRef: secret('spoke-webhook'), clientCertificate }]) {
      expect((await admit('ClusterConfig', clusterConfig({ webhookAuthentication }))).errors, JSON.stringify(webhookAuthentication)).to.deep.equal([]);
    }
    expect(errorLines(await admit('ClusterConfig', clusterConfig({ webhookAuthentication: {} })))).to.deep.equal([
      'spec.webhookAuthentication: at least one of tokenSecretRef or clientCertificate must be specified',
    ]);
    const blankCn = clusterConfig({ webhookAuthentication: { clientCertificate: { ...clientCertificate, commonName: ' ' } } });
    expect(errorLines(await admit('ClusterConfig', blankCn))).to.deep.equal([
      'spec.webhookAuthentication.clientCertificate.commonName: commonName must not be empty; leave it out to accept any certificate of the CA',
    ]);
    const noCa = clusterConfig({ webhookAuthentication: { clientCertificate: { commonName: 'spoke-apiserver' } } } as never);
    expect(errorLines(await admit('ClusterConfig', noCa)).join('\n')).to.contain('spec.webhookAuthentication.clientCertificate');
    expect(errorLines(await admit('ClusterConfig', noCa)).join('\n')).to.contain('caSecretRef');
  });
});
