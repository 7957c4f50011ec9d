/**
 * The EscalationStatusUpdater (reference §5.3), leader only: resolves every escalation's
 * approver groups through the Keycloak admin API of its group-syncing IdentityProviders into
 * `status.approverGroupMembers` / `idpGroupMemberships` and the `ApprovalGroupMembersResolved`
 * condition, and reports each such IdentityProvider's `GroupSyncHealthy` condition.
 *
 * Differences from the reference, on purpose (§15.21):
 * - One Keycloak client per IdentityProvider, kept across passes while its settings and
 *   secret stay the same (the token is reused until it expires), instead of a new resolver per
 *   IdentityProvider per escalation per pass.
 * - Each (IdentityProvider, group) is resolved once per pass, however many escalations name
 *   it, with at most `concurrency` lookups in flight. Within a pass that is the cache; across
 *   passes nothing is cached (so `cacheTTL` does not delay what the next pass sees: the
 *   interval is the refresh period), as in the reference, whose resolver starts empty per pass.
 * - IdentityProviders without group sync are not failures.
 * - Where the reference's IdentityProvider reconciler (every replica) writes GroupSyncHealthy,
 *   here the leader's sync reports it from the lookups it made.
 *
 * Every status write comes after `ctx.guard.assertCanWrite()` and carries the listed
 * resourceVersion; a conflict leaves the object for the next pass. Nothing is written when
 * nothing changed, and nothing when the term ended during the lookups.
 */
import { createHash } from 'node:crypto';
import pLimit from 'p-limit';
import { parseGoDuration } from '../../crds/durations.ts';
import { DEFAULT_SECRET_KEY, KEYCLOAK_DEFAULT_REQUEST_TIMEOUT, type BreakglassEscalation, type IdentityProvider } from '../../crds/index.ts';
import type { Logger } from '../observability/logger.ts';
import type { ControllerMetrics } from '../observability/metrics.ts';
import { FencedError } from '../leadership/fencing.ts';
import type { LoopContext, LoopDefinition } from '../runtime/loop.ts';
import { findCondition, setCondition, type ConditionInput } from '../sessions/conditions.ts';
import { ConflictError } from '../kube/errors.ts';
import { SecretAccessDeniedError, type EscalationStore } from './escalation-store.ts';
import { approverGroups, computeGroupSyncStatus, type GroupResult } from './group-sync-status.ts';
import { KeycloakAdminClient, KeycloakError, type KeycloakConnection } from './keycloak-admin-client.ts';

export const LOOP_NAME = 'escalation-status-updater';
export const GROUP_SYNC_HEALTHY = 'GroupSyncHealthy';
export const DEFAULT_CONCURRENCY = 4;

/** What the updater asks a Keycloak for; KeycloakAdminClient in production. */
export interface GroupResolver {
  resolveGroup(group: string, signal?: AbortSignal): ReturnType<KeycloakAdminClient['resolveGroup']>;
  checkToken(signal?: AbortSignal): Promise<void>;
  close(): void;
}

export interface EscalationStatusUpdaterDeps {
  store: EscalationStore;
  logger: Logger;
  metrics?: ControllerMetrics;
  now?: () => Date;
  /** Keycloak lookups in flight at once, over all IdentityProviders. @default 4 */
  concurrency?: number;
  /** Builds the client of one IdentityProvider (tests may wrap it). */
  createResolver?: (connection: KeycloakConnection) => GroupResolver;
}

export interface UpdaterCounts {
  escalations: number;
  identityProviders: number;
  lookups: number;
  lookupErrors: number;
  updated: number;
  unchanged: number;
  conflicts: number;
  errors: number;
}

/** Why an IdentityProvider cannot be asked at all this pass. */
interface ProviderFailure {
  reason: string;
  message: string;
}

interface PreparedProvider {
  provider: IdentityProvider;
  resolver?: GroupResolver;
  failure?: ProviderFailure;
}

function name(object: { metadata?: { name?: string; namespace?: string } }): string {
  const ns = object.metadata?.namespace;
  return ns ? `${ns}/${object.metadata?.name ?? ''}` : (object.metadata?.name ?? '');
}

/** Enabled, with `groupSyncProvider: Keycloak` and its settings. */
export function syncsGroups(provider: IdentityProvider): boolean {
  return provider.spec?.disabled !== true && provider.spec?.groupSyncProvider === 'Keycloak' && provider.spec.keycloak !== undefined;
}

/**
 * The IdentityProviders whose Keycloak resolves this escalation's approver groups:
 * `allowedIdentityProvidersForApprovers`, else the unified `allowedIdentityProviders`, else all;
 * of those, the ones that sync groups.
 */
export function providersFor(escalation: BreakglassEscalation, syncing: readonly string[]): string[] {
  const spec = escalation.spec;
  const chosen = spec?.allowedIdentityProvidersForApprovers?.length
    ? spec.allowedIdentityProvidersForApprovers
    : spec?.allowedIdentityProviders?.length
      ? spec.allowedIdentityProviders
      : undefined;
  return chosen === undefined ? [...syncing] : syncing.filter((idp) => chosen.includes(idp));
}

function describe(err: unknown): { reason: string; message: string } {
  if (err instanceof KeycloakError) return { reason: err.reason, message: err.message };
  return { reason: 'InternalError', message: err instanceof Error ? err.message : String(err) };
}

export class EscalationStatusUpdater {
  /** Per IdentityProvider: the client and the settings (and secret) it was built from. */
  private readonly clients = new Map<string, { fingerprint: string; resolver: GroupResolver }>();

  constructor(private readonly deps: EscalationStatusUpdaterDeps) {}

  async runPass(ctx: LoopContext): Promise<UpdaterCounts> {
    const { store, logger } = this.deps;
    const [escalations, providers] = await Promise.all([store.listEscalations(ctx.signal), store.listIdentityProviders(ctx.signal)]);
    const syncing = providers.filter(syncsGroups);
    logger.info({ escalations: escalations.length, identityProviders: syncing.length }, 'Checking group membership');
    const counts: UpdaterCounts = {
      escalations: escalations.length,
      identityProviders: syncing.length,
      lookups: 0,
      lookupErrors: 0,
      updated: 0,
      unchanged: 0,
      conflicts: 0,
      errors: 0,
    };

    const prepared = new Map<string, PreparedProvider>();
    for (const provider of syncing) prepared.set(provider.metadata?.name ?? '', await this.prepare(provider, ctx.signal));
    this.closeClientsExcept(new Set(prepared.keys()));
    if (ctx.signal.aborted) return counts;

    const results = await this.resolveAll(escalations, prepared, ctx.signal, counts);
    if (ctx.signal.aborted) return counts;

    const now = this.deps.now?.() ?? new Date();
    const syncingNames = [...prepared.keys()];
    for (const escalation of escalations) {
      if (ctx.signal.aborted) break;
      const outcome = computeGroupSyncStatus({
        escalation,
        identityProviders: providersFor(escalation, syncingNames),
        result: (idp, group) => results.get(lookupKey(idp, group)) ?? { kind: 'error', reason: 'InternalError', message: 'not resolved' },
        now,
      });
      if (!outcome.changed) {
        counts.unchanged++;
        continue;
      }
      try {
        ctx.guard.assertCanWrite();
        await store.writeEscalationStatus(escalation, outcome.status, escalation.metadata?.resourceVersion ?? '', ctx.signal);
        counts.updated++;
        this.deps.metrics?.escalationStatusUpdates.inc();
        logger.info(
          { escalation: name(escalation), reason: outcome.condition.reason, groups: Object.keys(outcome.status.approverGroupMembers ?? {}).length },
          'escalation approver group members updated',
        );
      } catch (err) {
        if (err instanceof FencedError) throw err;
        if (ctx.signal.aborted) break;
        if (err instanceof ConflictError) {
          counts.conflicts++;
          logger.info({ escalation: name(escalation), err: err.message }, 'escalation changed concurrently; synced again next pass');
        } else {
          counts.errors++;
          logger.error({ escalation: name(escalation), err }, 'writing escalation status failed');
        }
      }
    }

    await this.reportProviderHealth(prepared, results, ctx, now, counts);
    logger.info({ ...counts }, 'group membership check finished');
    return counts;
  }

  /** Closes every client (shutdown of the loop's owner; tests). */
  close(): void {
    this.closeClientsExcept(new Set());
  }

  private async prepare(provider: IdentityProvider, signal: AbortSignal): Promise<PreparedProvider> {
    const keycloak = provider.spec!.keycloak!;
    const ref = keycloak.clientSecretRef;
    const key = ref.key || DEFAULT_SECRET_KEY;
    let data: Record<string, string> | undefined;
    try {
      data = await this.deps.store.readSecret(ref.namespace, ref.name, signal);
    } catch (err) {
      if (err instanceof SecretAccessDeniedError) return { provider, failure: { reason: 'SecretAccessDenied', message: err.message } };
      if (signal.aborted) return { provider, failure: { reason: 'Cancelled', message: 'pass cancelled' } };
      return { provider, failure: { reason: 'SecretReadFailed', message: `reading secret ${ref.namespace}/${ref.name} failed: ${describe(err).message}` } };
    }
    if (data === undefined) return { provider, failure: { reason: 'SecretNotFound', message: `secret ${ref.namespace}/${ref.name} not found` } };
    const secret = data[key];
    if (secret === undefined || secret === '') {
      return { provider, failure: { reason: 'SecretKeyNotFound', message: `secret ${ref.namespace}/${ref.name} has no key ${key}` } };
    }
    let requestTimeoutMs: number;
    try {
      requestTimeoutMs = parseGoDuration(keycloak.requestTimeout ?? KEYCLOAK_DEFAULT_REQUEST_TIMEOUT);
    } catch {
      requestTimeoutMs = parseGoDuration(KEYCLOAK_DEFAULT_REQUEST_TIMEOUT);
    }
    const connection: KeycloakConnection = {
      baseURL: keycloak.baseURL,
      realm: keycloak.realm,
      clientID: keycloak.clientID,
      clientSecret: secret,
      certificateAuthority: keycloak.certificateAuthority,
      requestTimeoutMs,
    };
    // The secret goes into the fingerprint only as part of a hash, never into logs.
    const fingerprint = createHash('sha256').update(JSON.stringify(connection)).digest('hex');
    const idp = provider.metadata?.name ?? '';
    const cached = this.clients.get(idp);
    if (cached?.fingerprint === fingerprint) return { provider, resolver: cached.resolver };
    cached?.resolver.close();
    const resolver = this.deps.createResolver?.(connection) ?? new KeycloakAdminClient(connection);
    this.clients.set(idp, { fingerprint, resolver });
    return { provider, resolver };
  }

  private async resolveAll(
    escalations: readonly BreakglassEscalation[],
    prepared: ReadonlyMap<string, PreparedProvider>,
    signal: AbortSignal,
    counts: UpdaterCounts,
  ): Promise<Map<string, GroupResult>> {
    const limit = pLimit(this.deps.concurrency ?? DEFAULT_CONCURRENCY);
    const results = new Map<string, GroupResult>();
    const tasks: Promise<void>[] = [];
    const syncingNames = [...prepared.keys()];
    for (const escalation of escalations) {
      const groups = approverGroups(escalation);
      for (const idp of providersFor(escalation, syncingNames)) {
        const { resolver, failure } = prepared.get(idp)!;
        for (const group of groups) {
          const key = lookupKey(idp, group);
          if (results.has(key)) continue;
          if (failure || !resolver) {
            results.set(key, { kind: 'error', ...(failure ?? { reason: 'InternalError', message: 'no client' }) });
            continue;
          }
          results.set(key, { kind: 'error', reason: 'Cancelled', message: 'not resolved' });
          tasks.push(
            limit(async () => {
              if (signal.aborted) return;
              counts.lookups++;
              try {
                const lookup = await resolver.resolveGroup(group, signal);
                results.set(key, lookup.found ? { kind: 'members', members: lookup.members } : { kind: 'notFound' });
              } catch (err) {
                if (signal.aborted) return;
                const { reason, message } = describe(err);
                counts.lookupErrors++;
                this.deps.metrics?.groupSyncErrors.inc({ identity_provider: idp, reason });
                this.deps.logger.warn({ identityProvider: idp, group, reason, err: message }, 'resolving approver group failed');
                results.set(key, { kind: 'error', reason, message });
              }
            }),
          );
        }
      }
    }
    for (const [idp, { failure }] of prepared) {
      if (failure) {
        this.deps.metrics?.groupSyncErrors.inc({ identity_provider: idp, reason: failure.reason });
        this.deps.logger.warn({ identityProvider: idp, reason: failure.reason, err: failure.message }, 'identity provider group sync not possible');
      }
    }
    await Promise.all(tasks);
    return results;
  }

  /** GroupSyncHealthy per syncing IdentityProvider, from this pass's lookups. */
  private async reportProviderHealth(
    prepared: ReadonlyMap<string, PreparedProvider>,
    results: ReadonlyMap<string, GroupResult>,
    ctx: LoopContext,
    now: Date,
    counts: UpdaterCounts,
  ): Promise<void> {
    for (const [idp, { provider, resolver, failure }] of prepared) {
      if (ctx.signal.aborted) return;
      let condition: ConditionInput;
      const mine = [...results].filter(([key]) => key.startsWith(`${idp}\u0000`)).map(([, r]) => r);
      const firstError = mine.find((r): r is Extract<GroupResult, { kind: 'error' }> => r.kind === 'error');
      if (failure) {
        condition = { type: GROUP_SYNC_HEALTHY, status: 'False', reason: failure.reason, message: failure.message };
      } else if (firstError) {
        condition = { type: GROUP_SYNC_HEALTHY, status: 'False', reason: firstError.reason, message: firstError.message };
      } else {
        if (mine.length === 0 && resolver) {
          // No escalation uses it: prove the credentials still work.
          try {
            await resolver.checkToken(ctx.signal);
          } catch (err) {
            if (ctx.signal.aborted) return;
            const { reason, message } = describe(err);
            this.deps.metrics?.groupSyncErrors.inc({ identity_provider: idp, reason });
            condition = { type: GROUP_SYNC_HEALTHY, status: 'False', reason, message };
          }
        }
        condition ??= {
          type: GROUP_SYNC_HEALTHY,
          status: 'True',
          reason: 'GroupSyncSucceeded',
          message: `Resolved ${mine.length} approver group(s) through Keycloak realm ${provider.spec?.keycloak?.realm ?? ''}.`,
        };
      }
      const existing = findCondition(provider.status?.conditions, GROUP_SYNC_HEALTHY);
      const generation = provider.metadata?.generation;
      if (
        existing?.status === condition.status &&
        existing.reason === condition.reason &&
        existing.message === condition.message &&
        (generation === undefined || existing.observedGeneration === generation)
      ) {
        continue;
      }
      const status = { ...provider.status, conditions: setCondition(provider.status?.conditions, condition, now, generation) };
      try {
        ctx.guard.assertCanWrite();
        await this.deps.store.writeIdentityProviderStatus(provider, status, provider.metadata?.resourceVersion ?? '', ctx.signal);
      } catch (err) {
        if (err instanceof FencedError) throw err;
        if (ctx.signal.aborted) return;
        if (err instanceof ConflictError) counts.conflicts++;
        else {
          counts.errors++;
          this.deps.logger.error({ identityProvider: idp, err }, 'writing identity provider status failed');
        }
      }
    }
  }

  private closeClientsExcept(keep: ReadonlySet<string>): void {
    for (const [idp, { resolver }] of this.clients) {
      if (keep.has(idp)) continue;
      resolver.close();
      this.clients.delete(idp);
    }
  }
}

function lookupKey(idp: string, group: string): string {
  return `${idp}\u0000${group}`;
}

/** The updater loop for the runtime: leader only, one pass per interval. */
export function escalationStatusUpdaterLoop(deps: EscalationStatusUpdaterDeps, intervalMs: number): LoopDefinition {
  const updater = new EscalationStatusUpdater(deps);
  return {
    name: LOOP_NAME,
    leaderOnly: true,
    intervalMs,
    async runPass(ctx: LoopContext): Promise<void> {
      await updater.runPass(ctx);
    },
  };
}
