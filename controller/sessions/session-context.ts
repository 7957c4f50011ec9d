/**
 * What the session API's domain functions read besides sessions: the cached escalations,
 * ClusterConfigs and IdentityProviders, and the clock. Plain interfaces, so unit tests pass
 * arrays and the process passes informer caches.
 */
import type { BreakglassEscalation, BreakglassSession, ClusterConfig, IdentityProvider } from '../../crds/index.ts';
import { findClusterConfig } from '../escalations/matching.ts';
import type { ObjectSource } from '../kube/custom-object-cache.ts';
import type { SessionAudit } from './session-audit.ts';
import type { SessionStore } from './session-store.ts';

export interface SessionDomainDeps {
  sessions: SessionStore;
  escalations: ObjectSource<BreakglassEscalation>;
  clusterConfigs: ObjectSource<ClusterConfig>;
  identityProviders: ObjectSource<IdentityProvider>;
  audit: SessionAudit;
  now?: () => Date;
}

/** The ClusterConfig of a cluster for approval decisions: undefined when none, 'ambiguous' when several. */
export function clusterConfigFor(configs: readonly ClusterConfig[], cluster: string): ClusterConfig | 'ambiguous' | undefined {
  const found = findClusterConfig(configs, cluster);
  return found.kind === 'found' ? found.config : found.kind === 'ambiguous' ? 'ambiguous' : undefined;
}

/**
 * A session as the API returns it: without managedFields (noise, and it names every writer).
 */
export function publicSession(session: BreakglassSession): BreakglassSession {
  const { managedFields: _managed, ...metadata } = (session.metadata ?? {}) as NonNullable<BreakglassSession['metadata']> & {
    managedFields?: unknown;
  };
  void _managed;
  return { ...session, metadata };
}
