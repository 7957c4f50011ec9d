/**
 * The `./infra` entry runs from node_modules in a platform repo, with the app's cdk8s. It may
 * import only what the package brings (`dependencies`) or the app provides (the peers), and it
 * must not read files: a path into this repository does not exist under node_modules.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { externalImports } from './test/imports.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

interface Manifest {
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
  exports: Record<string, { default?: string }>;
}

describe('package entry ./infra', function () {
  this.timeout(20_000);

  it('imports only dependencies and the cdk8s peers, and no file system module', async () => {
    const manifest = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as Manifest;
    expect(manifest.exports['./infra']?.default).to.equal('./build/package/infra/index.js');
    const { packages, builtins } = await externalImports(join(root, 'infra', 'index.ts'));
    expect([...packages].filter((name) => !(name in manifest.dependencies) && !(name in manifest.peerDependencies)).sort()).to.deep.equal([]);
    expect(Object.keys(manifest.peerDependencies).sort()).to.deep.equal(['cdk8s', 'cdk8s-plus-28', 'constructs']);
    expect(builtins.has('fs'), 'infra reads files at synth time').to.equal(false);
  });
});
