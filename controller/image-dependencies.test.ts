/**
 * The controller uses `dependencies` only. The image bundles what controller/main.ts imports
 * (npm run build:controller), so a controller module importing cdk8s, constructs or
 * cdk8s-plus-28 (peer and dev dependencies of the construct library) or any other package
 * outside `dependencies` would silently pull that package into the image and make the package's
 * runtime dependencies a lie, while every test (with dev dependencies installed) stays green.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { externalImports } from '../infra/test/imports.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

describe('controller image dependencies', function () {
  this.timeout(20_000);

  it('controller/main.ts imports only packages listed in dependencies, and no cdk8s', async () => {
    const { packages } = await externalImports(join(root, 'controller', 'main.ts'));
    const manifest = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    expect(packages.size, 'the controller imports some packages').to.be.greaterThan(0);
    expect([...packages].filter((name) => !(name in manifest.dependencies)).sort()).to.deep.equal([]);
    for (const peer of ['cdk8s', 'constructs', 'cdk8s-plus-28']) expect(packages.has(peer), `controller imports ${peer}`).to.equal(false);
  });
});
