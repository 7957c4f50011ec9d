/**
 * Validation of the Request page, before anything is sent: the same limits the API applies
 * (reference §8.7: reason length and mandatory reason, 60 s <= duration <= maxValidFor, a start in
 * the future; the admission webhook wants it at least 5 minutes ahead), as messages per field.
 */
import { REASON_CHARACTERS, storedReasonText } from '../../../sessions/reasons.ts';
import type { SessionRequest } from '../api-types.ts';
import type { EscalationOption } from './escalation-options.ts';

export const REASON_MAX_LENGTH = 500;
export const MIN_SCHEDULE_LEAD_MS = 5 * 60_000;

export interface RequestFormInput {
  option: EscalationOption | undefined;
  reason: string;
  /** The Duration (minutes) field as typed. */
  durationMinutes: string;
  /** The datetime-local value ("2026-12-01T14:30") in the browser's time zone, or "". */
  scheduledStart: string;
}

export type RequestFormErrors = Partial<Record<'escalation' | 'reason' | 'duration' | 'scheduledStart', string>>;

export type RequestFormResult = { ok: true; request: SessionRequest } | { ok: false; errors: RequestFormErrors };

/** Longest duration an option allows, in whole minutes (at least 1). */
export function maxMinutes(option: EscalationOption): number {
  return Math.max(1, Math.floor(option.maxValidForMs / 60_000));
}

/** `parseLocal` turns a datetime-local value into a Date; injected so tests fix the time zone. */
export function validateRequest(
  input: RequestFormInput,
  now: Date,
  parseLocal: (value: string) => Date = (value) => new Date(value),
): RequestFormResult {
  const errors: RequestFormErrors = {};
  const option = input.option;
  if (!option) errors.escalation = 'Choose an escalation';
  const reason = input.reason.trim();
  if (option?.reasonMandatory && reason === '') errors.reason = 'Reason is required';
  else if (option?.reasonMandatory && storedReasonText(reason) === '') errors.reason = `Reason is required: only ${REASON_CHARACTERS} are kept`;
  else if (reason.length > REASON_MAX_LENGTH) errors.reason = `Reason must be at most ${REASON_MAX_LENGTH} characters`;

  let minutes: number | undefined;
  const durationText = input.durationMinutes.trim();
  if (durationText !== '') {
    minutes = Number(durationText);
    const max = option ? maxMinutes(option) : Infinity;
    if (!Number.isInteger(minutes) || minutes < 1) errors.duration = 'Duration must be a whole number of minutes, at least 1';
    else if (minutes > max) errors.duration = `Duration must be at most ${max} minutes`;
  }

  let start: Date | undefined;
  if (input.scheduledStart !== '') {
    start = parseLocal(input.scheduledStart);
    if (Number.isNaN(start.getTime())) errors.scheduledStart = 'Scheduled start is not a valid date and time';
    else if (start.getTime() < now.getTime() + MIN_SCHEDULE_LEAD_MS) errors.scheduledStart = 'Scheduled start must be at least 5 minutes from now';
  }

  if (Object.keys(errors).length > 0 || !option) return { ok: false, errors };
  return {
    ok: true,
    request: {
      cluster: option.cluster,
      group: option.group,
      ...(reason === '' ? {} : { reason }),
      ...(minutes === undefined ? {} : { duration: minutes * 60 }),
      ...(start === undefined ? {} : { scheduledStartTime: start.toISOString() }),
    },
  };
}
