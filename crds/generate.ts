/**
 * Renders crds/generated/<plural>.yaml from the CRD sources. Run with `npm run gen:crds`.
 * `renderCrdFiles()` is shared with the test that fails when the committed files are stale.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { crdManifest, crdSources } from './index.ts';

export const GENERATED_DIR = join(dirname(fileURLToPath(import.meta.url)), 'generated');

const HEADER = '# Generated from crds/*.ts by `npm run gen:crds`; do not edit.\n';

/** File name -> YAML text, one CRD per file. */
export function renderCrdFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const source of crdSources) {
    // lineWidth 0: never fold long strings (CEL rules, patterns), so output is stable and greppable.
    const text = stringify(crdManifest(source), { lineWidth: 0, aliasDuplicateObjects: false });
    files.set(`${source.plural}.yaml`, HEADER + text);
  }
  return files;
}

function main(): void {
  mkdirSync(GENERATED_DIR, { recursive: true });
  for (const [name, text] of renderCrdFiles()) {
    writeFileSync(join(GENERATED_DIR, name), text);
    console.log(`wrote crds/generated/${name}`);
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) main();
