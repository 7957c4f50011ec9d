/** Small building blocks shared by the pages. */
import { REASON_CHARACTERS, storedReasonText } from '../../sessions/reasons.ts';
import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import { sessionPath } from './logic/routes.ts';

/** The page's one h1; focused after navigation so screen readers announce the new page. */
export function PageTitle({ children, text }: { children?: ComponentChildren; text: string }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${text} · Breakglass`;
    ref.current?.focus();
  }, [text]);
  return (
    <h1 ref={ref} tabIndex={-1}>
      {children ?? text}
    </h1>
  );
}

export function ErrorAlert({ message }: { message: string | undefined }) {
  if (!message) return null;
  return (
    <div role="alert" class="alert">
      {message}
    </div>
  );
}

export function SessionLink({ name }: { name: string }) {
  return <a href={sessionPath(name)}>{name}</a>;
}

/** A definition list of label/value pairs; empty values are left out. */
export function Facts({ items }: { items: [string, ComponentChildren][] }) {
  return (
    <dl class="facts">
      {items
        .filter(([, value]) => value !== undefined && value !== null && value !== '')
        .map(([label, value]) => (
          <div key={label}>
            <dt>{label}</dt>
            <dd>{value}</dd>
          </div>
        ))}
    </dl>
  );
}

const TIME_FORMAT: Intl.DateTimeFormatOptions = { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', timeZoneName: 'short' };

/** In the viewer's time zone, named: requester and approver may sit in different ones. */
export function formatTime(time: string | undefined): string {
  if (!time) return '';
  const date = new Date(time);
  return Number.isNaN(date.getTime()) ? time : date.toLocaleString(undefined, TIME_FORMAT);
}

/** A field's label with "required" beside it (for sighted users; the input says aria-required). */
export function FieldLabel({ htmlFor, text, required }: { htmlFor: string; text: string; required: boolean }) {
  return (
    <div class="label-row">
      <label for={htmlFor}>{text}</label>
      {required && (
        <span class="muted" aria-hidden="true">
          required
        </span>
      )}
    </div>
  );
}

/**
 * What the API will store of a reason, shown while it differs from what was typed: reasons keep
 * only letters, digits, spaces and a few punctuation marks (reference §8.6).
 */
export function StoredReason({ id, text }: { id: string; text: string }) {
  const stored = storedReasonText(text);
  if (stored === text.trim()) return null;
  return (
    <p id={id} class="hint" aria-live="polite">
      Stored as: {stored === '' ? '(nothing)' : `“${stored}”`}. Only {REASON_CHARACTERS} are kept.
    </p>
  );
}
