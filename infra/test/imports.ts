/**
 * What a module graph needs at run time: the packages and Node built-ins it imports, found by
 * letting esbuild resolve the graph from an entry point (our own files followed, packages not).
 */
import { builtinModules } from 'node:module';
import { build } from 'esbuild';

export interface ExternalImports {
  /** Package names: "@scope/name/sub" counts as "@scope/name". */
  packages: Set<string>;
  /** Node built-ins without the node: prefix, e.g. "fs", "http". */
  builtins: Set<string>;
}

function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return (specifier.startsWith('@') ? parts.slice(0, 2) : parts.slice(0, 1)).join('/');
}

export async function externalImports(entry: string): Promise<ExternalImports> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    metafile: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    logLevel: 'silent',
  });
  const builtinNames = new Set(builtinModules);
  const packages = new Set<string>();
  const builtins = new Set<string>();
  for (const { path, external } of Object.values(result.metafile.inputs).flatMap((input) => input.imports)) {
    if (!external) continue;
    const bare = path.replace(/^node:/, '');
    if (path.startsWith('node:') || builtinNames.has(bare)) builtins.add(bare.split('/')[0] as string);
    else packages.add(packageName(path));
  }
  return { packages, builtins };
}
