/** Valid objects of every kind for the validator tests; each test breaks one thing. */
import type { BreakglassEscalation } from '../breakglass-escalation.ts';
import type { BreakglassSession } from '../breakglass-session.ts';
import type { ClusterConfig } from '../cluster-config.ts';
import type { DenyPolicy } from '../deny-policy.ts';
import type { IdentityProvider } from '../identity-provider.ts';
import { API_VERSION } from '../index.ts';
import { validateAdmission, type AdmissionInput, type AdmissionKind, type ObjectLookup, type ValidationOutcome } from './index.ts';
import { lookupFromObjects, type ObjectSources } from './object-lookup.ts';

export const NOW = new Date('2026-03-01T12:00:00Z');

export function escalation(spec: Partial<BreakglassEscalation['spec']> = {}, name = 'prod-admin'): BreakglassEscalation {
  return {
    apiVersion: API_VERSION,
    kind: 'BreakglassEscalation',
    metadata: { name, namespace: 'team-a' },
    spec: {
      escalatedGroup: 'prod-admin',
      allowed: { clusters: ['prod-*'], groups: ['developers'] },
      approvers: { groups: ['sre'], users: ['lead@example.com'] },
      maxValidFor: '2h',
      approvalTimeout: '30m',
      ...spec,
    },
  };
}

export function session(spec: Partial<BreakglassSession['spec']> = {}, name = 'prod-1-prod-admin-abc'): BreakglassSession {
  return {
    apiVersion: API_VERSION,
    kind: 'BreakglassSession',
    metadata: { name, namespace: 'team-a' },
    spec: { cluster: 'prod-1', user: 'jane@example.com', grantedGroup: 'prod-admin', maxValidFor: '1h', retainFor: '720h', ...spec },
  };
}

export function clusterConfig(spec: Partial<ClusterConfig['spec']> = {}, name = 'prod-1'): ClusterConfig {
  return {
    apiVersion: API_VERSION,
    kind: 'ClusterConfig',
    metadata: { name, namespace: 'team-a' },
    spec: { authType: 'Kubeconfig', kubeconfigSecretRef: { name: 'prod-1-kubeconfig', namespace: 'breakglass-system' }, ...spec },
  };
}

export function identityProvider(spec: Partial<IdentityProvider['spec']> = {}, name = 'corp'): IdentityProvider {
  return {
    apiVersion: API_VERSION,
    kind: 'IdentityProvider',
    metadata: { name },
    spec: {
      issuer: 'https://sso.example.com/realms/corp',
      oidc: { authority: 'https://sso.example.com/realms/corp', clientID: 'breakglass-ui', expectedAudience: 'breakglass' },
      ...spec,
    },
  };
}

export function denyPolicy(spec: Partial<DenyPolicy['spec']> = {}, name = 'no-secrets'): DenyPolicy {
  return {
    apiVersion: API_VERSION,
    kind: 'DenyPolicy',
    metadata: { name },
    spec: { rules: [{ verbs: ['get'], apiGroups: [''], resources: ['secrets'] }], ...spec },
  };
}

export const emptyLookup: ObjectLookup = lookupFromObjects({});

export function lookupWith(sources: ObjectSources): ObjectLookup {
  return lookupFromObjects(sources);
}

/** Validates a CREATE (or UPDATE with `old`) of `object` in its own namespace. */
export function admit(
  kind: AdmissionKind,
  object: unknown,
  options: { lookup?: ObjectLookup; old?: unknown; now?: Date } = {},
): Promise<ValidationOutcome> {
  const meta = (object as { metadata?: { name?: string; namespace?: string } }).metadata;
  const input: AdmissionInput = {
    kind,
    operation: options.old === undefined ? 'CREATE' : 'UPDATE',
    object,
    oldObject: options.old,
    namespace: meta?.namespace,
    name: meta?.name,
  };
  return validateAdmission(input, options.lookup ?? emptyLookup, options.now ?? NOW);
}

/** "field: message" lines, easy to assert on. */
export function errorLines(outcome: ValidationOutcome): string[] {
  return outcome.errors.map((e) => `${e.field}: ${e.message}`);
}
