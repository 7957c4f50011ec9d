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

/** Collects errors and warnings while a validator walks an object. */
export class Findings implements ValidationOutcome {
  readonly errors: FieldError[] = [];
  readonly warnings: string[] = [];

  error(field: string, message: string): void {
    if (!this.errors.some((e) => e.field === field && e.message === message)) this.errors.push({ field, message });
  }

  warn(message: string): void {
    if (!this.warnings.includes(message)) this.warnings.push(message);
  }

  addAll(errors: readonly FieldError[]): void {
    for (const e of errors) this.error(e.field, e.message);
  }
}

/** One message listing every error as "<field>: <message>", in the style of the API server. */
export function formatFieldErrors(kind: string, name: string, errors: readonly FieldError[]): string {
  const parts = errors.map((e) => (e.field === '' ? e.message : `${e.field}: ${e.message}`));
  const subject = name === '' ? kind : `${kind} "${name}"`;
  return `${subject} is invalid: ${parts.join('; ')}`;
}
