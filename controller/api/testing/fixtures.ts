/**
 * Test fixtures for the session API: escalations, identities, static caches and an audit that
 * remembers what it recorded. Used by unit tests and the in-process e2e test.
 */
import type { BreakglassEscalation, BreakglassEscalationSpec, ClusterConfig, IdentityProvider } from '../../../crds/index.ts';
import type { VerifiedIdentity } from '../../identity/identity.ts';
import type { ObjectSource } from '../../kube/custom-object-cache.ts';
import type { AuditRecord, SessionAudit } from '../../sessions/session-audit.ts';

export class StaticSource<T> implements ObjectSource<T> {
  constructor(public items: T[] = []) {}
  hasSynced(): boolean {
    return true;
  }
  list(): readonly T[] {
    return this.items;
  }
}

export class RecordingAudit implements SessionAudit {
  readonly records: AuditRecord[] = [];
  async record(entry: AuditRecord): Promise<void> {
    this.records.push(entry);
  }
}

export function escalation(
  name: string,
  spec: Partial<BreakglassEscalationSpec> = {},
  extra: Partial<BreakglassEscalation> = {},
): BreakglassEscalation {
  return {
    apiVersion: 'breakglass.t-caas.telekom.com/v1alpha1',
    kind: 'BreakglassEscalation',
    metadata: { name, namespace: 'breakglass', uid: `uid-${name}` },
    spec: {
      escalatedGroup: 'cluster-admin',
      allowed: { clusters: ['prod-*'], groups: ['developers'] },
      approvers: { groups: ['approvers'] },
      ...spec,
    },
    ...extra,
  };
}

export function clusterConfig(name: string, spec: Partial<ClusterConfig['spec']> = {}, ready?: 'True' | 'False'): ClusterConfig {
  return {
    apiVersion: 'breakglass.t-caas.telekom.com/v1alpha1',
    kind: 'ClusterConfig',
    metadata: { name, namespace: 'breakglass' },
    spec: { kubeconfigSecretRef: { name: `${name}-kubeconfig`, namespace: 'breakglass' }, ...spec },
    ...(ready
      ? {
          status: {
            conditions: [{ type: 'Ready', status: ready, reason: 'Checked', message: 'checked', lastTransitionTime: '2026-01-01T00:00:00Z' }],
          },
        }
      : {}),
  } as ClusterConfig;
}

export function identityProvider(name: string, spec: Partial<IdentityProvider['spec']> = {}): IdentityProvider {
  return {
    apiVersion: 'breakglass.t-caas.telekom.com/v1alpha1',
    kind: 'IdentityProvider',
    metadata: { name },
    spec: {
      oidc: { authority: `https://${name}.example.com/realms/corp`, clientID: 'breakglass-ui', expectedAudience: 'breakglass' },
      issuer: `https://${name}.example.com/realms/corp`,
      ...spec,
    },
  } as IdentityProvider;
}

const PEOPLE = {
  alice: ['developers'],
  bob: ['approvers'],
  carol: ['approvers'],
  dave: [],
} as const;

export type Person = keyof typeof PEOPLE;

/** alice (developers), bob and carol (approvers), dave (no group), all @example.com from IdP "corp". */
export function person(name: Person, overrides: Partial<VerifiedIdentity> = {}): VerifiedIdentity {
  return {
    issuer: 'https://corp.example.com/realms/corp',
    identityProvider: 'corp',
    subject: `sub-${name}`,
    email: `${name}@example.com`,
    username: name,
    groups: [...PEOPLE[name]],
    expiresAt: new Date(Date.now() + 3600_000),
    ...overrides,
  };
}
