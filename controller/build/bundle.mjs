// Builds the controller image's program: controller/main.ts and everything it imports, npm
// packages included, as one ES module. Loading @kubernetes/client-node as ~1,000 separate files
// was most of a replica's start time and ~50 MiB of its memory (npm run bench:scale); one
// bundle loads in a fraction of that and the image needs no node_modules.
// `bundle` is also what benchmarks use to run a replica's code as the image runs it.
import { build } from 'esbuild';
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

/** Bundles `entry` and its imports into the ES module `outfile`, as the image's program is built. */
export function bundle(entry, outfile) {
  return build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // Whitespace and syntax only: identifiers stay readable in stack traces.
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'external',
    // CommonJS dependencies call require() for Node built-ins; an ES module has none of its own.
    banner: { js: "import { createRequire as __bgCreateRequire } from 'node:module'; const require = __bgCreateRequire(import.meta.url);" },
    logLevel: 'warning',
  });
}

// Run as a script (import.meta.url is the real path, so argv[1] is resolved through any symlink).
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  await bundle('controller/main.ts', 'build/image/main.mjs');
}
