/**
 * Test support: small valid objects of every admitted kind, for the admission unit, fuzz and e2e
 * tests. Each builder returns a fresh object, so tests may mutate it.
 */
import type { AdmissionKind } from '../../crds/validation/index.ts';

const API_VERSION = 'breakglass.t-caas.telekom.com/v1alpha1';

export type SampleObject = {
  apiVersion: string;
  kind: AdmissionKind;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec: Record<string, unknown>;
};

export function sampleSession(name: string, namespace: string): SampleObject {
  return {
    apiVersion: API_VERSION,
    kind: 'BreakglassSession',
    metadata: { name, namespace },
    spec: {
      cluster: 'prod-1',
      user: 'alice@example.com',
      grantedGroup: 'cluster-admin',
      maxValidFor: '1h',
      requestReason: 'incident 4711',
    },
  };
}

export function sampleEscalation(name: string, namespace: string): SampleObject {
  return {
    apiVersion: API_VERSION,
    kind: 'BreakglassEscalation',
    metadata: { name, namespace },
    spec: {
      escalatedGroup: 'cluster-admin',
      allowed: { clusters: ['prod-*'], groups: ['developers'] },
      approvers: { groups: ['approvers'] },
      maxValidFor: '2h',
      approvalTimeout: '30m',
    },
  };
}

export function sampleClusterConfig(name: string, namespace: string): SampleObject {
  return {
    apiVersion: API_VERSION,
    kind: 'ClusterConfig',
    metadata: { name, namespace },
    spec: {
      tenant: 'tenant-a',
      kubeconfigSecretRef: { name: `${name}-kubeconfig`, namespace },
      qps: 50,
      burst: 100,
    },
  };
}

export function sampleIdentityProvider(name: string, issuer = `https://idp.example.com/realms/${name}`): SampleObject {
  return {
    apiVersion: API_VERSION,
    kind: 'IdentityProvider',
    metadata: { name },
    spec: {
      oidc: { authority: issuer, clientID: 'breakglass-ui', expectedAudience: 'breakglass' },
      issuer,
      displayName: 'Corporate SSO',
    },
  };
}

export function sampleDenyPolicy(name: string): SampleObject {
  return {
    apiVersion: API_VERSION,
    kind: 'DenyPolicy',
    metadata: { name },
    spec: {
      appliesTo: { clusters: ['prod-*'] },
      rules: [{ verbs: ['delete'], apiGroups: [''], resources: ['namespaces'] }],
      precedence: 10,
    },
  };
}

/** A valid object of the kind; namespaced kinds get `namespace`. */
export function sampleOf(kind: AdmissionKind, name: string, namespace = 'team-a'): SampleObject {
  switch (kind) {
    case 'BreakglassSession':
      return sampleSession(name, namespace);
    case 'BreakglassEscalation':
      return sampleEscalation(name, namespace);
    case 'ClusterConfig':
      return sampleClusterConfig(name, namespace);
    case 'IdentityProvider':
      return sampleIdentityProvider(name);
    case 'DenyPolicy':
      return sampleDenyPolicy(name);
  }
}
