/**
 * The image installs `dependencies` only (Dockerfile: npm ci --omit=dev). cdk8s, constructs and
 * cdk8s-plus-28 are peer and dev dependencies for the construct library, so a controller
 * module importing them, or any other package outside `dependencies`, would crash the image at
 * startup while every test (with dev dependencies installed) stays green.
 */
import { readFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** "@scope/name/sub" -> "@scope/name", "name/sub" -> "name". */
function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return (specifier.startsWith('@') ? parts.slice(0, 2) : parts.slice(0, 1)).join('/');
}

describe('controller image dependencies', function () {
  this.timeout(20_000);

  it('controller/main.ts imports only packages listed in dependencies, and no cdk8s', async () => {
    const result = await build({
      entryPoints: [join(root, 'controller', 'main.ts')],
      bundle: true,
      write: false,
      metafile: true,
      platform: 'node',
      format: 'esm',
      packages: 'external',
      logLevel: 'silent',
    });
    const builtins = new Set(builtinModules);
    const imported = new Set(
      Object.values(result.metafile.inputs)
        .flatMap((input) => input.imports)
        .filter((i) => i.external && !i.path.startsWith('node:') && !builtins.has(i.path))
        .map((i) => packageName(i.path)),
    );
    const manifest = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    expect(imported.size, 'the controller imports some packages').to.be.greaterThan(0);
    expect([...imported].filter((name) => !(name in manifest.dependencies)).sort()).to.deep.equal([]);
    for (const peer of ['cdk8s', 'constructs', 'cdk8s-plus-28']) expect(imported.has(peer), `controller imports ${peer}`).to.equal(false);
  });
});
