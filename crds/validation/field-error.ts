/** A validation failure that names the field (`spec.approvers`) and says what is wrong. */
export interface FieldError {
  field: string;
  message: string;
}

/** What a validator found: errors reject the object, warnings are shown to the user. */
export interface ValidationOutcome {
  errors: FieldError[];
  warnings: string[];
}

/**
 * At most this many errors are kept; the rest are counted. An object within the CRD's size
 * limits can carry tens of thousands of faults (duplicates in long lists), and a denial listing
 * them all would be megabytes, past what the API server relays, and slow to build.
 */
export const MAX_FIELD_ERRORS = 100;

/** Collects errors and warnings while a validator walks an object; each distinct one once. */
export class Findings implements ValidationOutcome {
  readonly errors: FieldError[] = [];
  readonly warnings: string[] = [];
  private readonly seenErrors = new Set<string>();
  private readonly seenWarnings = new Set<string>();
  /** Distinct errors past MAX_FIELD_ERRORS. */
  omitted = 0;

  error(field: string, message: string): void {
    const key = `${field}\u0000${message}`;
    if (this.seenErrors.has(key)) return;
    this.seenErrors.add(key);
    if (this.errors.length < MAX_FIELD_ERRORS) this.errors.push({ field, message });
    else this.omitted++;
  }

  warn(message: string): void {
    if (this.seenWarnings.has(message) || this.seenWarnings.size >= MAX_FIELD_ERRORS) return;
    this.seenWarnings.add(message);
    this.warnings.push(message);
  }

  addAll(errors: readonly FieldError[]): void {
    for (const e of errors) this.error(e.field, e.message);
  }

  /** The errors kept, and one more that counts those left out. */
  outcome(): ValidationOutcome {
    const more = this.omitted > 0 ? [{ field: '', message: `and ${this.omitted} more errors` }] : [];
    return { errors: [...this.errors, ...more], warnings: [...this.warnings] };
  }
}

/** One message listing every error as "<field>: <message>", in the style of the API server. */
export function formatFieldErrors(kind: string, name: string, errors: readonly FieldError[]): string {
  const parts = errors.map((e) => (e.field === '' ? e.message : `${e.field}: ${e.message}`));
  const subject = name === '' ? kind : `${kind} "${name}"`;
  return `${subject} is invalid: ${parts.join('; ')}`;
}
