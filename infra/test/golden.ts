/**
 * Golden files for mocha: the committed manifest is the expectation. A missing golden, or
 * UPDATE_GOLDEN=1, writes the current output instead of comparing.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const GOLDEN_DIR = join(dirname(fileURLToPath(import.meta.url)), 'golden');

export class GoldenMismatchError extends Error {}

/** Where two texts first differ, with a few lines of context from both. */
export function describeDifference(expected: string, actual: string, context = 4): string {
  const want = expected.split('\n');
  const got = actual.split('\n');
  let line = 0;
  while (line < want.length && line < got.length && want[line] === got[line]) line++;
  const from = Math.max(0, line - context);
  const show = (lines: string[], marker: string) =>
    lines
      .slice(from, line + context + 1)
      .map((text, i) => `${from + i === line ? marker : ' '} ${String(from + i + 1).padStart(5)} | ${text}`)
      .join('\n');
  return [
    `first difference at line ${line + 1} (golden has ${want.length} lines, output has ${got.length})`,
    '--- golden',
    show(want, '-'),
    '+++ output',
    show(got, '+'),
  ].join('\n');
}

/**
 * Compares `actual` with the golden file `<name>`; writes it when missing or UPDATE_GOLDEN=1.
 * Returns whether the file was written.
 */
export function expectGolden(name: string, actual: string, dir = GOLDEN_DIR): boolean {
  const file = join(dir, name);
  if (process.env.UPDATE_GOLDEN === '1' || !existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, actual);
    return true;
  }
  const expected = readFileSync(file, 'utf8');
  if (expected !== actual) {
    throw new GoldenMismatchError(
      `synthesized manifest differs from ${relative(process.cwd(), file)}\n${describeDifference(expected, actual)}\n` +
        'If the change is intended, review it and run with UPDATE_GOLDEN=1 to rewrite the golden file.',
    );
  }
  return false;
}
