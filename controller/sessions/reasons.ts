/**
 * Reason texts (reference §8.6): requester reasons must be at most 500 characters; both
 * requester and approver reasons keep only letters, digits, space and `.,;!?'-` (so they can be
 * shown in mails and UIs without escaping), trimmed and cut to 500 characters.
 */
import { RequestError } from './request-errors.ts';

export const MAX_REASON_LENGTH = 500;

/** What is stored of a reason; the UI shows it before sending, so nothing is dropped unseen. */
export function storedReasonText(text: string): string {
  return text.replace(/[^a-zA-Z0-9 .,;!?'-]/g, '').trim().slice(0, MAX_REASON_LENGTH);
}

/** The characters a stored reason keeps, for messages. */
export const REASON_CHARACTERS = "letters a-z, digits, spaces and . , ; ! ? ' -";

const strip = storedReasonText;

/** A requester's reason; RequestError (422) when it is longer than 500 characters. */
export function sanitizeRequestReason(reason: string | undefined): string {
  const trimmed = (reason ?? '').trim();
  if ([...trimmed].length > MAX_REASON_LENGTH) {
    throw new RequestError('Unprocessable', `invalid reason: reason must be at most ${MAX_REASON_LENGTH} characters`, {
      details: `reason has ${[...trimmed].length} characters`,
    });
  }
  return strip(trimmed);
}

/** An approver's reason; never refused, only stripped and cut. */
export function sanitizeApproverReason(reason: string | undefined): string {
  return strip(reason ?? '');
}
