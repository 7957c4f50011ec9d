/**
 * metav1.Condition list handling with the semantics of apimachinery's meta.SetStatusCondition:
 * one entry per type; lastTransitionTime moves only when the status changes, unless the caller
 * says the condition records a transition that happens now (see `SetConditionOptions`).
 */
import type { Condition } from '../../crds/index.ts';
import { formatTime } from './timestamps.ts';

export interface ConditionInput {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
}

export interface SetConditionOptions {
  /**
   * The condition records an event that happens at `now` (a session state transition), so
   * lastTransitionTime is `now` even when a condition of this type already had this status.
   * Without it, a session's Idle condition (True since the request) would show the creation
   * time when the session idle-expires.
   */
  transition?: boolean;
}

/** Returns a new list with `input` set; the input list is not modified. */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  input: ConditionInput,
  now: Date,
  observedGeneration?: number,
  options: SetConditionOptions = {},
): Condition[] {
  const list = [...(conditions ?? [])];
  const index = list.findIndex((condition) => condition.type === input.type);
  const existing = index >= 0 ? list[index] : undefined;
  const next: Condition = {
    type: input.type,
    status: input.status,
    reason: input.reason,
    message: input.message,
    lastTransitionTime:
      options.transition !== true && existing !== undefined && existing.status === input.status
        ? existing.lastTransitionTime
        : formatTime(now),
    ...(observedGeneration === undefined ? {} : { observedGeneration }),
  };
  if (index >= 0) list[index] = next;
  else list.push(next);
  return list;
}

export function findCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((condition) => condition.type === type);
}
