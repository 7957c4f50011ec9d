/**
 * `npm run gen:readme`: rewrites the flag table in README.md from controller/options.ts.
 * Run it after adding or changing an option; controller/options-table.test.ts fails until then.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spliceOptionsTable } from './options-table.ts';

const README_PATH = join(dirname(fileURLToPath(import.meta.url)), '..', 'README.md');

const before = readFileSync(README_PATH, 'utf8');
const after = spliceOptionsTable(before);
if (after === before) {
  console.log('README.md flag table is up to date');
} else {
  writeFileSync(README_PATH, after);
  console.log('wrote the flag table in README.md');
}
