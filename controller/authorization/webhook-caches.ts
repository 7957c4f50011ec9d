/**
 * The read models the decision pipeline looks up on every SubjectAccessReview, derived from
 * RestartingInformer caches so that a decision never calls the hub's API server:
 * - SessionIndex: sessions by (cluster, user), maintained incrementally from cache changes (a
 *   decision must not scan 10,000 sessions);
 * - InformerClusterDirectory: ClusterConfigs by name (ambiguous names fail closed);
 * - DenyPolicyCache: the compiled DenyPolicyIndex, recompiled once after a change;
 * - EscalationCache: escalations by uid (the session's owner, for podSecurityOverrides) and the
 *   escalations a user may request on a cluster (§4.3 matching).
 * Before its cache has synced each throws CacheNotSyncedError, which the pipeline answers
 * fail-closed (HTTP 500 or a policy-error deny).
 */
import type { BreakglassEscalation, BreakglassSession, ClusterConfig, DenyPolicy } from '../../crds/index.ts';
import { compileGlob } from '../../crds/validation/checks.ts';
import { isEscalationReady, matchesCluster, matchesGroups } from '../escalations/matching.ts';
import type { CacheChange } from '../kube/restarting-informer.ts';
import {
  AmbiguousClusterError,
  CacheNotSyncedError,
  type ClusterDirectory,
  type EscalationDirectory,
  type RequestableEscalations,
  type SessionDirectory,
} from './decision.ts';
import { DenyPolicyIndex } from './deny-policy.ts';
import type { RequestableEscalation } from './reasons.ts';

/** What the caches need from an informer (a CustomObjectCache, or the session repository's cache view). */
export interface ChangeSource<T> {
  hasSynced(): boolean;
  list(): readonly T[];
  subscribe(listener: (change: CacheChange<T>) => void): () => void;
}

/** A derived value rebuilt from the whole list on the first read after any change. */
class Derived<T, V> {
  private value: V | undefined;
  constructor(
    private readonly name: string,
    private readonly source: ChangeSource<T>,
    private readonly build: (items: readonly T[]) => V,
  ) {
    source.subscribe(() => {
      this.value = undefined;
    });
  }

  get(): V {
    if (!this.source.hasSynced()) throw new CacheNotSyncedError(this.name);
    this.value ??= this.build(this.source.list());
    return this.value;
  }
}

const EMPTY: readonly BreakglassSession[] = [];
const keyOf = (session: BreakglassSession): string => `${session.metadata?.namespace ?? ''}/${session.metadata?.name ?? ''}`;
const indexKey = (cluster: string, user: string): string => `${cluster}\u0000${user}`;

export class SessionIndex implements SessionDirectory {
  private readonly byClusterUser = new Map<string, Map<string, BreakglassSession>>();
  /** Where each session is filed, so an update or delete finds its old entry. */
  private readonly filedUnder = new Map<string, string>();
  /** Frozen arrays handed out per key, dropped when the key changes. */
  private readonly views = new Map<string, readonly BreakglassSession[]>();
  private dirty = true;

  constructor(private readonly source: ChangeSource<BreakglassSession>) {
    source.subscribe((change) => {
      if (change.type === 'reset') this.dirty = true;
      else if (!this.dirty) this.apply(change.type, change.object);
    });
  }

  forClusterUser(cluster: string, user: string): readonly BreakglassSession[] {
    if (!this.source.hasSynced()) throw new CacheNotSyncedError('sessions');
    if (this.dirty) this.rebuild();
    const key = indexKey(cluster, user);
    let view = this.views.get(key);
    if (view === undefined) {
      const entries = this.byClusterUser.get(key);
      if (entries === undefined) return EMPTY;
      view = [...entries.values()];
      this.views.set(key, view);
    }
    return view;
  }

  /** Sessions indexed (for tests and metrics). */
  size(): number {
    return this.filedUnder.size;
  }

  private rebuild(): void {
    this.byClusterUser.clear();
    this.filedUnder.clear();
    this.views.clear();
    for (const session of this.source.list()) this.file(session);
    this.dirty = false;
  }

  private apply(type: 'add' | 'update' | 'delete', session: BreakglassSession): void {
    this.unfile(keyOf(session));
    if (type !== 'delete') this.file(session);
  }

  private file(session: BreakglassSession): void {
    const key = indexKey(session.spec?.cluster ?? '', session.spec?.user ?? '');
    let entries = this.byClusterUser.get(key);
    if (entries === undefined) {
      entries = new Map();
      this.byClusterUser.set(key, entries);
    }
    const objectKey = keyOf(session);
    entries.set(objectKey, session);
    this.filedUnder.set(objectKey, key);
    this.views.delete(key);
  }

  private unfile(objectKey: string): void {
    const key = this.filedUnder.get(objectKey);
    if (key === undefined) return;
    this.filedUnder.delete(objectKey);
    this.views.delete(key);
    const entries = this.byClusterUser.get(key);
    entries?.delete(objectKey);
    if (entries?.size === 0) this.byClusterUser.delete(key);
  }
}

type ClusterEntry = ClusterConfig | AmbiguousClusterError;

export class InformerClusterDirectory implements ClusterDirectory {
  private readonly byName: Derived<ClusterConfig, Map<string, ClusterEntry>>;

  constructor(source: ChangeSource<ClusterConfig>) {
    this.byName = new Derived('cluster-configs', source, (configs) => {
      const map = new Map<string, ClusterEntry>();
      for (const config of configs) {
        const name = config.metadata?.name ?? '';
        map.set(name, map.has(name) ? new AmbiguousClusterError(name) : config);
      }
      return map;
    });
  }

  get(name: string): ClusterConfig | undefined {
    const entry = this.byName.get().get(name);
    if (entry instanceof AmbiguousClusterError) throw entry;
    return entry;
  }
}

export class DenyPolicyCache {
  private readonly index: Derived<DenyPolicy, DenyPolicyIndex>;

  constructor(source: ChangeSource<DenyPolicy>) {
    this.index = new Derived('deny-policies', source, (policies) => new DenyPolicyIndex(policies));
  }

  /** The compiled policies; throws CacheNotSyncedError before the first list. */
  current(): DenyPolicyIndex {
    return this.index.get();
  }
}

/**
 * Escalation matching of §4.3, the REST API's one definition (escalations/matching.ts): the
 * escalation targets the cluster, one of the user's groups is allowed, and it is ready; so the
 * hint never names an escalation the API would refuse to request.
 */
export function requestableBy(escalation: BreakglassEscalation, cluster: string, groups: readonly string[]): boolean {
  return matchesCluster(escalation, cluster) && matchesGroups(escalation, groups) && isEscalationReady(escalation);
}

/** An escalation with its §4.3 matching precompiled (globs translated once per cache change). */
interface CompiledEscalation {
  readonly clusters: readonly ((cluster: string) => boolean)[];
  readonly groups: ReadonlySet<string>;
  readonly requestable: RequestableEscalation;
}

const MAX_CLUSTER_ENTRIES = 1024;

/** Escalations compiled for the deny hint, with the ready ones that target each cluster memoized. */
class CompiledEscalations {
  private readonly ready: readonly CompiledEscalation[];
  private readonly byCluster = new Map<string, readonly CompiledEscalation[]>();

  constructor(escalations: readonly BreakglassEscalation[]) {
    // The same three tests as requestableBy: cluster patterns, allowed groups, readiness.
    this.ready = escalations.filter(isEscalationReady).map((e) => ({
      clusters: [...(e.spec.allowed.clusters ?? []), ...(e.spec.clusterConfigRefs ?? [])].map(compileGlob),
      groups: new Set(e.spec.allowed.groups ?? []),
      requestable: { name: e.metadata?.name ?? '', escalatedGroup: e.spec.escalatedGroup },
    }));
  }

  forCluster(cluster: string): readonly CompiledEscalation[] {
    let found = this.byCluster.get(cluster);
    if (found === undefined) {
      found = this.ready.filter((e) => e.clusters.some((matches) => matches(cluster)));
      // Only resolved cluster names get here, but a bound costs nothing.
      if (this.byCluster.size >= MAX_CLUSTER_ENTRIES) this.byCluster.clear();
      this.byCluster.set(cluster, found);
    }
    return found;
  }
}

export class EscalationCache implements EscalationDirectory, RequestableEscalations {
  private readonly byUid: Derived<BreakglassEscalation, Map<string, BreakglassEscalation>>;
  private readonly compiled: Derived<BreakglassEscalation, CompiledEscalations>;

  constructor(source: ChangeSource<BreakglassEscalation>) {
    this.byUid = new Derived('escalations', source, (items) => new Map(items.map((e) => [e.metadata?.uid ?? '', e])));
    this.compiled = new Derived('escalations', source, (items) => new CompiledEscalations(items));
  }

  ownerOf(session: BreakglassSession): BreakglassEscalation | undefined {
    const owner = session.metadata?.ownerReferences?.find((ref) => ref.controller === true && ref.kind === 'BreakglassEscalation');
    if (owner === undefined) return undefined;
    try {
      return this.byUid.get().get(owner.uid);
    } catch {
      return undefined; // without the escalation there is no override: the stricter rules apply
    }
  }

  /** requestableBy over the cache, in cache order; one of the user's groups must be allowed. */
  forUser(cluster: string, _user: string, groups: readonly string[]): readonly RequestableEscalation[] {
    const out: RequestableEscalation[] = [];
    for (const escalation of this.compiled.get().forCluster(cluster)) {
      if (groups.some((group) => escalation.groups.has(group))) out.push(escalation.requestable);
    }
    return out;
  }
}
