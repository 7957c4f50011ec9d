/**
 * Step 4 of the cleanup pass looks for several active sessions of one (cluster, user,
 * grantedGroup). Grouping 10,000 sessions through a Map keyed by a string built per session
 * (plus a copied member array per session) made that step most of a pass's garbage, and the
 * Map lived long enough to be promoted to the old generation (npm run bench:scale). This sorts
 * positions instead: no per-session allocation, and only real duplicates become groups.
 */
import type { BreakglassSession } from '../../crds/index.ts';

/** Orders strings, a missing value (undefined or null) first; 0 exactly when both are the same value. */
function compareField(first: string | null | undefined, second: string | null | undefined): number {
  const a = first ?? undefined;
  const b = second ?? undefined;
  if (a === b) return 0;
  if (a === undefined) return -1;
  if (b === undefined) return 1;
  return a < b ? -1 : 1;
}

function compareSlot(a: BreakglassSession, b: BreakglassSession): number {
  return (
    compareField(a.spec?.cluster, b.spec?.cluster) ||
    compareField(a.spec?.user, b.spec?.user) ||
    compareField(a.spec?.grantedGroup, b.spec?.grantedGroup)
  );
}

/**
 * The groups of two or more sessions with equal cluster, user and grantedGroup, in the order of
 * their first member in `sessions`, each group's members in their order in `sessions`.
 */
export function duplicateGroups(sessions: readonly BreakglassSession[]): BreakglassSession[][] {
  const at = (index: number): BreakglassSession => sessions[index] as BreakglassSession;
  const order: number[] = [];
  for (let index = 0; index < sessions.length; index++) order.push(index);
  // Ties broken by position, so every run of equal slots is in `sessions` order.
  order.sort((a, b) => compareSlot(at(a), at(b)) || a - b);
  const runs: number[][] = [];
  for (let start = 0; start < order.length; ) {
    let end = start + 1;
    while (end < order.length && compareSlot(at(order[start] as number), at(order[end] as number)) === 0) end++;
    if (end - start > 1) runs.push(order.slice(start, end));
    start = end;
  }
  runs.sort((a, b) => (a[0] as number) - (b[0] as number));
  return runs.map((run) => run.map(at));
}
