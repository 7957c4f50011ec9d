import { expect } from 'chai';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { GENERATED_DIR, renderCrdFiles } from './generate.ts';

describe('crds/generated', () => {
  const rendered = renderCrdFiles();

  for (const [name, text] of rendered) {
    it(`${name} is up to date with the TypeScript sources`, () => {
      const path = join(GENERATED_DIR, name);
      expect(existsSync(path), `crds/generated/${name} is missing: run \`npm run gen:crds\``).to.equal(true);
      const committed = readFileSync(path, 'utf8');
      expect(committed === text, `crds/generated/${name} is stale: run \`npm run gen:crds\` and commit the result`).to.equal(true);
    });
  }

  it('holds no CRD files that the sources no longer produce', () => {
    const extra = readdirSync(GENERATED_DIR).filter((f) => f.endsWith('.yaml') && !rendered.has(f));
    expect(extra, 'stale files in crds/generated: run `npm run gen:crds` and delete them').to.deep.equal([]);
  });
});
