/**
 * Where the built web UI is when `--ui-dir` is not given: `build/ui`, next to the program.
 * The image and the e2e replicas run an esbuild bundle in `build/<something>/`, so the UI is
 * its sibling folder `../ui`; `npm start` runs the TypeScript sources (this module is then a
 * `.ts` file in controller/http/), so the UI is `build/ui` at the repository root.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function defaultUiDir(moduleUrl: string = import.meta.url): string {
  const file = fileURLToPath(moduleUrl);
  return file.endsWith('.ts') ? join(dirname(file), '..', '..', 'build', 'ui') : join(dirname(file), '..', 'ui');
}
