/**
 * An ObjectLookup over objects already in memory (an informer cache, a test fixture).
 * Lists are read through functions so that a cache can be swapped without rebuilding this.
 */
import type { BreakglassEscalation } from '../breakglass-escalation.ts';
import type { IdentityProvider } from '../identity-provider.ts';
import type { ObjectLookup, UniquelyNamedKind } from './lookup.ts';

export interface NamedObject {
  metadata?: { name?: string; namespace?: string };
}

export interface ObjectSources {
  sessions?: () => readonly NamedObject[];
  escalations?: () => readonly BreakglassEscalation[];
  clusterConfigs?: () => readonly NamedObject[];
  identityProviders?: () => readonly IdentityProvider[];
}

export function lookupFromObjects(sources: ObjectSources): ObjectLookup {
  const byKind: Record<UniquelyNamedKind, () => readonly NamedObject[]> = {
    BreakglassSession: sources.sessions ?? (() => []),
    BreakglassEscalation: sources.escalations ?? (() => []),
    ClusterConfig: sources.clusterConfigs ?? (() => []),
  };
  return {
    async namespacesWithName(kind, name) {
      return byKind[kind]()
        .filter((o) => o.metadata?.name === name)
        .map((o) => o.metadata?.namespace ?? '');
    },
    async listIdentityProviders() {
      return [...(sources.identityProviders?.() ?? [])];
    },
    async listEscalations() {
      return [...(sources.escalations?.() ?? [])];
    },
  };
}
