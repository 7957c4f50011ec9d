/** What the admission validators need to know about other objects in the cluster. */
import type { BreakglassEscalation } from '../breakglass-escalation.ts';
import type { IdentityProvider } from '../identity-provider.ts';
import type { Findings } from './field-error.ts';

export type UniquelyNamedKind = 'BreakglassSession' | 'BreakglassEscalation' | 'ClusterConfig';

export interface ObjectLookup {
  /** Namespaces holding an object of this kind with this name (cluster-wide). */
  namespacesWithName(kind: UniquelyNamedKind, name: string): Promise<string[]>;
  listIdentityProviders(): Promise<IdentityProvider[]>;
  listEscalations(): Promise<BreakglassEscalation[]>;
}

/** Everything a kind validator gets besides the object. */
export interface RuleContext {
  operation: 'CREATE' | 'UPDATE';
  /** Namespace of the request (namespaced kinds). */
  namespace: string | undefined;
  lookup: ObjectLookup;
  now: Date;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * §1.6: sessions, escalations and cluster configs are looked up by name alone, so a name may exist
 * in one namespace only. Names are immutable, so only a CREATE can introduce a duplicate: updates
 * skip the cluster-wide lookup (and are not blocked by duplicates that predate the webhook).
 * A failing lookup rejects (fail closed), with the reason.
 */
export async function checkUniqueName(
  findings: Findings,
  kind: UniquelyNamedKind,
  object: { metadata?: { name?: string; namespace?: string } },
  ctx: RuleContext,
): Promise<void> {
  if (ctx.operation !== 'CREATE') return;
  const name = object.metadata?.name;
  const namespace = ctx.namespace ?? object.metadata?.namespace;
  if (name === undefined || name === '') return;
  let namespaces: string[];
  try {
    namespaces = await ctx.lookup.namespacesWithName(kind, name);
  } catch (err) {
    findings.error('metadata.name', `could not check that the name is unique cluster-wide: ${describe(err)}`);
    return;
  }
  const conflict = namespaces.find((ns) => ns !== namespace);
  if (conflict !== undefined) findings.error('metadata.name', `name must be unique cluster-wide; conflicting namespace=${conflict}`);
}

/** Runs a list call; on failure reports it on `field` and returns undefined (fail closed). */
export async function listOrReport<T>(findings: Findings, field: string, what: string, list: () => Promise<T[]>): Promise<T[] | undefined> {
  try {
    return await list();
  } catch (err) {
    findings.error(field, `could not list ${what}: ${describe(err)}`);
    return undefined;
  }
}
