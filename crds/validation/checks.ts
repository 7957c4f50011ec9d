/**
 * Field checks shared by the kind validators: identifiers (§1.5), globs, durations (§1.2), lists,
 * URLs, e-mail domains and namespace filters (§1.4). Each reports into a Findings collector.
 */
import { DurationError, parseExtendedDuration, parseGoDuration } from '../durations.ts';
import type { NamespaceFilter } from '../common.ts';
import type { Findings } from './field-error.ts';

export const MAX_IDENTIFIER_LENGTH = 253;
const IDENTIFIER_CHARS = /^[A-Za-z0-9._\-@:/*?[\]()+|^$\\]*$/;

/** §1.5: empty passes (required-ness is checked separately). */
export function checkIdentifier(findings: Findings, field: string, value: string | undefined): void {
  if (value === undefined || value === '') return;
  if (value.length > MAX_IDENTIFIER_LENGTH) {
    findings.error(field, `must be at most ${MAX_IDENTIFIER_LENGTH} characters long`);
  } else if (!IDENTIFIER_CHARS.test(value)) {
    findings.error(field, `"${value}" contains invalid characters`);
  }
}

/** Why a glob is malformed under Go's path.Match rules, or undefined when it is fine. */
export function globError(pattern: string): string | undefined {
  let i = 0;
  // One character of a class, possibly escaped; '-' and ']' may not start an element.
  const classChar = (): string | undefined => {
    const c = pattern[i];
    if (c === undefined || c === '-' || c === ']') return undefined;
    if (c === '\\') {
      i++;
      const escaped = pattern[i];
      if (escaped === undefined) return undefined;
      i++;
      return escaped;
    }
    i++;
    return c;
  };
  while (i < pattern.length) {
    const c = pattern[i];
    if (c === '\\') {
      if (i + 1 >= pattern.length) return 'ends with an unescaped backslash';
      i += 2;
    } else if (c === '[') {
      i++;
      if (pattern[i] === '^') i++;
      let ranges = 0;
      for (;;) {
        if (pattern[i] === ']' && ranges > 0) {
          i++;
          break;
        }
        const lo = classChar();
        if (lo === undefined) return 'has an unterminated or malformed character class';
        if (pattern[i] === '-') {
          i++;
          const hi = classChar();
          if (hi === undefined) return 'has an unterminated or malformed character class';
          if (hi < lo) return `has an invalid character range ${lo}-${hi}`;
        }
        ranges++;
      }
    } else {
      i++;
    }
  }
  return undefined;
}

/**
 * Whether `value` matches the glob `pattern` with Go's path.Match semantics: `*` and `?` do not
 * cross "/", `[...]` / `[^...]` classes, `\` escapes. As in the reference, a value equal to the
 * pattern matches too ("exact or filepath.Match"), and a malformed pattern matches only itself.
 * `?` and classes take one UTF-16 unit where Go takes one rune (Kubernetes names are ASCII).
 */
export function globMatches(pattern: string, value: string): boolean {
  return compileGlob(pattern)(value);
}

/** One element of a glob chunk: a character, `?`, or a `[...]` class. */
type GlobToken =
  | { readonly kind: 'char'; readonly c: string }
  | { readonly kind: 'any' }
  | { readonly kind: 'class'; readonly negate: boolean; readonly ranges: readonly (readonly [string, string])[] };

/** What follows an optional run of stars up to the next star (Go's scanChunk). */
interface GlobChunk {
  readonly star: boolean;
  readonly tokens: readonly GlobToken[];
  /** The chunk's text when it has only plain characters (matched with startsWith/indexOf). */
  readonly literal: string | undefined;
}

/** The chunks of a well-formed pattern (globError returned undefined for it). */
function globChunks(pattern: string): GlobChunk[] {
  const chunks: GlobChunk[] = [];
  let i = 0;
  const classChar = (): string => {
    if (pattern[i] === '\\') i++;
    return pattern[i++] ?? '';
  };
  while (i < pattern.length) {
    let star = false;
    while (pattern[i] === '*') {
      star = true;
      i++;
    }
    const tokens: GlobToken[] = [];
    while (i < pattern.length && pattern[i] !== '*') {
      const c = pattern[i] as string;
      if (c === '?') {
        tokens.push({ kind: 'any' });
        i++;
      } else if (c === '\\') {
        tokens.push({ kind: 'char', c: pattern[i + 1] ?? '' });
        i += 2;
      } else if (c === '[') {
        i++;
        const negate = pattern[i] === '^';
        if (negate) i++;
        const ranges: [string, string][] = [];
        while (!(pattern[i] === ']' && ranges.length > 0)) {
          const lo = classChar();
          let hi = lo;
          if (pattern[i] === '-') {
            i++;
            hi = classChar();
          }
          ranges.push([lo, hi]);
        }
        i++;
        tokens.push({ kind: 'class', negate, ranges });
      } else {
        tokens.push({ kind: 'char', c });
        i++;
      }
    }
    const literal = tokens.every((t) => t.kind === 'char') ? tokens.map((t) => (t.kind === 'char' ? t.c : '')).join('') : undefined;
    chunks.push({ star, tokens, literal });
  }
  return chunks;
}

function tokenMatches(token: GlobToken, c: string): boolean {
  if (token.kind === 'char') return c === token.c;
  if (token.kind === 'any') return c !== '/';
  const inClass = token.ranges.some(([lo, hi]) => lo <= c && c <= hi);
  // As in Go, a class (negated too) may match "/"; only `*` and `?` never do.
  return token.negate ? !inClass : inClass;
}

/** Where the chunk ends when it starts at `at` in `value`, or -1. */
function chunkEnd(chunk: GlobChunk, value: string, at: number): number {
  if (chunk.literal !== undefined) return value.startsWith(chunk.literal, at) ? at + chunk.literal.length : -1;
  let pos = at;
  for (const token of chunk.tokens) {
    if (pos >= value.length || !tokenMatches(token, value[pos] as string)) return -1;
    pos++;
  }
  return pos;
}

/**
 * globMatches with the pattern parsed once, for hot paths that match the same pattern many times
 * (the authorization webhook precompiles DenyPolicy globs with it). Go's path.Match algorithm:
 * each chunk after a star is matched at the leftmost place the star can reach (a star never
 * skips "/"), so a match costs at most the value's length times the pattern's, whatever the
 * input. A regular expression of `[^/]*` groups backtracks: a long value from a request (a
 * resource name in a review, a cluster in a session request) could hold the event loop for
 * minutes.
 */
export function compileGlob(pattern: string): (value: string) => boolean {
  // A malformed pattern, like one without wildcards, matches only itself (as globMatches does).
  if (globError(pattern) !== undefined || !/[*?[\\]/.test(pattern)) return (value) => value === pattern;
  const chunks = globChunks(pattern);
  return (value) => {
    if (value === pattern) return true;
    let pos = 0;
    for (let k = 0; k < chunks.length; k++) {
      const chunk = chunks[k] as GlobChunk;
      const last = k === chunks.length - 1;
      // A trailing star takes the rest unless it holds a "/".
      if (chunk.star && chunk.tokens.length === 0) return value.indexOf('/', pos) === -1;
      // The latest start a star allows: it skips characters up to the next "/", not past it.
      const slash = value.indexOf('/', pos);
      const latest = !chunk.star ? pos : slash === -1 ? value.length : slash;
      let end = -1;
      if (last) {
        // The last chunk must end the value: it can start at one place only, when it has a fixed length.
        const start = value.length - chunk.tokens.length;
        if (start >= pos && start <= latest) end = chunkEnd(chunk, value, start);
      } else if (chunk.literal !== undefined) {
        const start = value.indexOf(chunk.literal, pos);
        if (start !== -1 && start <= latest) end = start + chunk.literal.length;
      } else {
        for (let start = pos; start <= latest && end === -1; start++) end = chunkEnd(chunk, value, start);
      }
      if (end === -1) return false;
      pos = end;
    }
    return pos === value.length;
  };
}

export function checkGlob(findings: Findings, field: string, pattern: string): void {
  const problem = globError(pattern);
  if (problem !== undefined) findings.error(field, `"${pattern}" is not a valid glob pattern: it ${problem}`);
}

export interface ListCheck {
  /** Apply the identifier format of §1.5 to each entry. */
  identifier?: boolean;
  /** Each entry is a glob (path.Match syntax). */
  glob?: boolean;
  /** Each entry names a pod security factor (reference §6.6 step 4). */
  podSecurityFactor?: boolean;
}

/** The factors pod security scoring reports (controller/authorization/pod-security.ts). */
export const POD_SECURITY_FACTORS = ['hostNetwork', 'hostPID', 'hostIPC', 'privilegedContainer', 'runAsRoot', 'capability', 'hostPathWritable', 'hostPathReadOnly'] as const;
const HOST_FACTORS: ReadonlySet<string> = new Set(['hostNetwork', 'hostPID', 'hostIPC']);

/**
 * A blockFactors / exemptFactors entry: a factor, or a factor narrowed with ':' to a container,
 * a volume or a capability (`privilegedContainer:app`, `capability:SYS_ADMIN`). A misspelt one
 * matches nothing, so the control it was meant to be would silently be off.
 */
function checkPodSecurityFactor(findings: Findings, field: string, value: string): void {
  const [kind = '', ...rest] = value.split(':');
  const known = (POD_SECURITY_FACTORS as readonly string[]).includes(kind);
  // capability:<CAP>[:<container>]; the others <kind>[:<container or volume>]; host* bare.
  const maxParts = HOST_FACTORS.has(kind) ? 0 : kind === 'capability' ? 2 : 1;
  if (!known || rest.length > maxParts || rest.some((part) => part === '')) {
    findings.error(
      field,
      `unknown pod security factor "${value}": one of ${POD_SECURITY_FACTORS.join(', ')}, the last five optionally narrowed with ':<container, volume or capability>'`,
    );
  }
}

/** Entries must be non-blank and unique; optionally identifiers and/or globs. */
export function checkList(findings: Findings, field: string, values: readonly string[] | undefined, check: ListCheck = {}): void {
  if (values === undefined) return;
  const seen = new Set<string>();
  values.forEach((value, index) => {
    const entry = `${field}[${index}]`;
    if (value.trim() === '') {
      findings.error(entry, 'must not be blank');
      return;
    }
    if (seen.has(value)) findings.error(entry, `duplicate value "${value}"`);
    seen.add(value);
    if (check.identifier) checkIdentifier(findings, entry, value);
    if (check.glob) checkGlob(findings, entry, value);
    if (check.podSecurityFactor) checkPodSecurityFactor(findings, entry, value);
  });
}

/** A required string that must contain more than whitespace. */
export function checkRequired(findings: Findings, field: string, value: string | undefined, label: string): void {
  if (value === undefined || value.trim() === '') findings.error(field, `${label} is required`);
}

/**
 * Parses an extended duration field; reports unparsable (e.g. "day value 400 exceeds maximum of
 * 365") and non-positive values. Returns milliseconds, or undefined when unset or invalid.
 */
export function checkDuration(findings: Findings, field: string, value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  let ms: number;
  try {
    ms = parseExtendedDuration(value);
  } catch (err) {
    findings.error(field, err instanceof DurationError ? err.message : `invalid duration "${value}"`);
    return undefined;
  }
  if (!(ms > 0)) {
    findings.error(field, `${lastSegment(field)} must be positive`);
    return undefined;
  }
  return ms;
}

/** A plain Go duration (Keycloak client settings). */
export function checkGoDuration(findings: Findings, field: string, value: string | undefined): void {
  if (value === undefined || value === '') return;
  try {
    if (!(parseGoDuration(value) > 0)) findings.error(field, `${lastSegment(field)} must be positive`);
  } catch (err) {
    findings.error(field, err instanceof DurationError ? err.message : `invalid duration "${value}"`);
  }
}

function lastSegment(field: string): string {
  return field.slice(field.lastIndexOf('.') + 1);
}

/** An absolute https URL with a host. */
export function checkHttpsUrl(findings: Findings, field: string, value: string | undefined): void {
  if (value === undefined || value === '') return;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    findings.error(field, `"${value}" is not a valid URL`);
    return;
  }
  if (url.protocol !== 'https:') findings.error(field, `must use https (got "${value}")`);
  else if (url.hostname === '') findings.error(field, `"${value}" has no host`);
}

const DOMAIN_CHARS = /^[A-Za-z0-9.-]+$/;

/** Approver e-mail domains: `[A-Za-z0-9.-]`, a dot unless `localhost`, no duplicates. */
export function checkApproverDomains(findings: Findings, field: string, domains: readonly string[] | undefined): void {
  if (domains === undefined) return;
  checkList(findings, field, domains);
  domains.forEach((domain, index) => {
    const entry = `${field}[${index}]`;
    const value = domain.trim();
    if (value === '') return;
    if (!DOMAIN_CHARS.test(value)) findings.error(entry, `"${domain}" is not a valid domain: only letters, digits, "." and "-" are allowed`);
    else if (!value.includes('.') && value.toLowerCase() !== 'localhost') findings.error(entry, `"${domain}" is not a valid domain: it must contain a dot`);
    else if (value.startsWith('.') || value.endsWith('.') || value.startsWith('-')) findings.error(entry, `"${domain}" is not a valid domain`);
  });
}

/** §1.4: patterns are globs; In/NotIn need values, Exists/DoesNotExist take none. */
export function checkNamespaceFilter(findings: Findings, field: string, filter: NamespaceFilter | undefined): void {
  if (filter === undefined) return;
  checkList(findings, `${field}.patterns`, filter.patterns, { glob: true });
  filter.selectorTerms?.forEach((term, t) => {
    term.matchExpressions?.forEach((expr, e) => {
      const at = `${field}.selectorTerms[${t}].matchExpressions[${e}]`;
      const values = expr.values ?? [];
      if ((expr.operator === 'In' || expr.operator === 'NotIn') && values.length === 0) {
        findings.error(`${at}.values`, `must not be empty when operator is ${expr.operator}`);
      }
      if ((expr.operator === 'Exists' || expr.operator === 'DoesNotExist') && values.length > 0) {
        findings.error(`${at}.values`, `must be empty when operator is ${expr.operator}`);
      }
    });
  });
}

/** True when a non-empty list is present. */
export function nonEmpty(values: readonly unknown[] | undefined): values is readonly unknown[] {
  return values !== undefined && values.length > 0;
}
