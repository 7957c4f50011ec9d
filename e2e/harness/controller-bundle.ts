/**
 * The controller as one ESM file for the e2e replicas. Loading the TypeScript sources through
 * tsx makes every replica start several times slower (the loader hooks see each of
 * client-node's modules); an esbuild bundle of our own code, with packages left external,
 * starts like the compiled image does. The web UI is built alongside (when missing or stale),
 * so every replica serves it from build/ui as the image does.
 */
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureUiBuilt } from './ui-build.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
let bundled: Promise<string> | undefined;

/** Bundles controller/main.ts once per test process; resolves to the bundle path. */
export function controllerBundle(): Promise<string> {
  bundled ??= (async () => {
    const outfile = join(root, 'build', 'e2e-bundle', `controller-${process.pid}.mjs`);
    await Promise.all([
      ensureUiBuilt(),
      build({
        entryPoints: [join(root, 'controller', 'main.ts')],
        outfile,
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node20',
        packages: 'external',
        sourcemap: 'inline',
        logLevel: 'warning',
      }),
    ]);
    return outfile;
  })();
  return bundled;
}
