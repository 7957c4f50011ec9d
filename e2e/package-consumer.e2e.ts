/**
 * The construct library as a platform repo installs it: `npm pack`, a scratch app with its own
 * cdk8s, constructs, cdk8s-plus-28 and TypeScript, compiled with tsc and synthesized with plain
 * node, once from the tarball (ES module app, the README example) and once from a `file:`
 * dependency on this checkout (CommonJS app, as `cdk8s init` sets one up). The output must be
 * our golden HA manifest. Needs no API server; it lives in the e2e set because it takes about
 * a minute (two npm installs from the npm cache, two tsc runs).
 */
import { createRequire } from 'node:module';
import { mkdtemp, readdir, readFile, realpath, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Testing } from 'cdk8s';
import { expect } from 'chai';
import { parseAllDocuments } from 'yaml';
import { GENERATED_DIR } from '../crds/generate.ts';
import { PlatformBreakglassChart } from '../infra/examples/platform-app.ts';
import { CONFIGURATIONS, synthesize } from '../infra/test/configurations.ts';
import { GOLDEN_DIR } from '../infra/test/golden.ts';
import {
  createConsumerApp,
  installedVersion,
  pack,
  PACKAGE_NAME,
  PEERS,
  readmeBlocks,
  synth,
  type ConsumerAppSpec,
} from './package/consumer-app.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Runs the README's PlatformBreakglassChart the way infra/examples/platform-app.ts does. */
const PLATFORM_MAIN = `import { App } from 'cdk8s';
import { PlatformBreakglassChart } from './platform.js';

const app = new App();
new PlatformBreakglassChart(app, 'platform-breakglass');
app.synth();
`;

interface KubeDocument {
  kind: string;
  metadata: { name: string; namespace?: string };
}

function documents(text: string): KubeDocument[] {
  return parseAllDocuments(text).map((doc) => doc.toJS() as KubeDocument);
}

const byName = (a: KubeDocument, b: KubeDocument) => a.metadata.name.localeCompare(b.metadata.name);

/** Same objects, names and content as the golden HA manifest, and the CRDs of crds/generated/. */
async function expectHaManifest(text: string): Promise<void> {
  const objects = documents(text);
  const golden = documents(await readFile(join(GOLDEN_DIR, 'ha-production.k8s.yaml'), 'utf8'));
  const withoutCrds = objects.filter((o) => o.kind !== 'CustomResourceDefinition');
  expect(withoutCrds.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`)).to.deep.equal(
    golden.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`),
  );
  expect(withoutCrds).to.deep.equal(golden);

  const generated = await Promise.all(
    (await readdir(GENERATED_DIR)).filter((f) => f.endsWith('.yaml')).map(async (f) => documents(await readFile(join(GENERATED_DIR, f), 'utf8'))),
  );
  const crds = objects.filter((o) => o.kind === 'CustomResourceDefinition');
  expect(crds.length).to.equal(generated.length);
  expect([...crds].sort(byName)).to.deep.equal(generated.flat().sort(byName));
  // And byte for byte what our own synth of the HA configuration writes.
  expect(text).to.equal(synthesize(CONFIGURATIONS['ha-production']()).yaml);
}

/**
 * One copy of each peer, the app's: the installed package declares them as peers, not as its
 * dependencies, and resolving them from the library's own files lands on the app's copy.
 */
async function expectSinglePeers(appDir: string): Promise<void> {
  const appRequire = createRequire(join(appDir, 'package.json'));
  const libraryEntry = await realpath(appRequire.resolve(`${PACKAGE_NAME}/infra`));
  const manifest = JSON.parse(await readFile(join(appDir, 'node_modules', PACKAGE_NAME, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
    peerDependencies?: Record<string, string>;
  };
  expect(Object.keys(manifest.peerDependencies ?? {})).to.include.members([...PEERS]);
  expect(Object.keys(manifest.dependencies ?? {}).filter((name) => (PEERS as readonly string[]).includes(name)), 'peers listed as dependencies').to.deep.equal([]);

  const libraryRequire = createRequire(libraryEntry);
  for (const peer of PEERS) {
    expect(await realpath(libraryRequire.resolve(peer)), `${peer} as the library resolves it`).to.equal(await realpath(appRequire.resolve(peer)));
  }
  const nested = (await readdir(join(appDir, 'node_modules'), { recursive: true }))
    .filter((path) => PEERS.some((peer) => path.endsWith(`${sep}node_modules${sep}${peer}`)))
    .map((path) => relative(appDir, join(appDir, 'node_modules', path)));
  expect(nested, 'second copies of a peer').to.deep.equal([]);
}

describe('package: a platform app installs the construct library and synthesizes with its own cdk8s', function () {
  this.timeout(15 * 60_000); // two npm installs and two tsc runs on a shared 2-core machine
  this.slow(120_000);

  let work: string;
  let packedFiles: string[];
  let blocks: Map<string, string>;
  let setups: Record<'tarball' | 'checkout', Promise<unknown>>;
  const tarballApp = () => join(work, 'tarball-app');
  const checkoutApp = () => join(work, 'checkout-app');

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'bg-consumer-'));
    blocks = readmeBlocks(await readFile(join(ROOT, 'README.md'), 'utf8'));
    const main = blocks.get('src/main.ts');
    const platform = blocks.get('src/platform.ts');
    if (!main || !platform) throw new Error('README.md lost its consumer-app blocks (src/main.ts, src/platform.ts)');
    // The versions our lockfile installed: the lowest of each supported range, and in the cache.
    const versions = {
      cdk8s: await installedVersion(ROOT, 'cdk8s'),
      constructs: await installedVersion(ROOT, 'constructs'),
      'cdk8s-plus-28': await installedVersion(ROOT, 'cdk8s-plus-28'),
      typescript: await installedVersion(ROOT, 'typescript'),
    };

    const packed = await pack(ROOT, work); // prepack builds build/package/
    packedFiles = packed.files.map((f) => f.path).sort();

    const app = (spec: Omit<ConsumerAppSpec, 'versions'>) =>
      createConsumerApp({ ...spec, versions }).then(
        () => undefined,
        (error: unknown) => error,
      );
    // Both installs at once; each describe below fails with its own setup error, if any.
    setups = {
      tarball: app({
        dir: tarballApp(),
        packageSpec: packed.filename,
        style: 'esm',
        sources: { 'src/main.ts': main, 'src/platform.ts': platform, 'src/platform-main.ts': PLATFORM_MAIN },
      }),
      // A plain file: link would be a symlink into this checkout (see the last test below).
      checkout: app({ dir: checkoutApp(), packageSpec: `file:${ROOT}`, style: 'commonjs', sources: { 'src/main.ts': main }, npmrc: ['install-links=true'] }),
    };
    await Promise.all(Object.values(setups));
  });

  after(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('npm pack --dry-run lists compiled JavaScript and declarations only: no tests, e2e, fixtures or sources', async () => {
    const listed = (await pack(ROOT, work, true)).files.map((f) => f.path).sort();
    expect(listed).to.deep.equal(packedFiles);
    expect(listed.filter((path) => !['package.json', 'README.md'].includes(path) && !/^build\/package\/.+\.(js|d\.ts)$/.test(path))).to.deep.equal([]);
    expect(listed.filter((path) => /test|e2e|fixture|golden|example|samples/i.test(path))).to.deep.equal([]);
    expect(listed).to.include.members(['build/package/infra/index.js', 'build/package/infra/index.d.ts', 'build/package/crds/index.js']);
  });

  it('the README install command and supported versions match package.json, tested at the lowest', async () => {
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    const manifest = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { name: string; peerDependencies: Record<string, string> };
    expect(manifest.name).to.equal(PACKAGE_NAME);
    const ranges = PEERS.map((peer) => `${peer}@${manifest.peerDependencies[peer]}`);
    expect(readme).to.include(`npm install ${PACKAGE_NAME} ${ranges.join(' ')}`);
    for (const peer of PEERS) {
      expect(readme).to.include(`\`${peer}\` ${manifest.peerDependencies[peer]}`);
      // The apps above install our lockfile's versions: the README says CI tests the lowest.
      const tested = await installedVersion(ROOT, peer);
      expect(manifest.peerDependencies[peer], `${peer}: the range starts at the version CI tests (${tested}, package-lock.json)`).to.equal(`^${tested}`);
    }
  });

  it('the README platform chart is infra/examples/platform-app.ts, with the package import', async () => {
    const platform = blocks.get('src/platform.ts') ?? '';
    const example = await readFile(join(ROOT, 'infra', 'examples', 'platform-app.ts'), 'utf8');
    expect(platform).to.include(`from '${PACKAGE_NAME}/infra';`);
    expect(example).to.include(platform.slice(platform.indexOf('export class')));
  });

  describe('from the packed tarball, an ES module app (the README example)', () => {
    before(async () => {
      const error = await setups.tarball;
      if (error) throw error;
    });

    it('installs one copy of cdk8s, constructs and cdk8s-plus-28: the app\'s', () => expectSinglePeers(tarballApp()));

    it('plain node synthesizes the golden HA manifest, CRDs included', async () => {
      await expectHaManifest(await synth(tarballApp(), 'main.js', join(tarballApp(), 'dist'), 'breakglass.k8s.yaml'));
    });

    it('the README platform chart synthesizes as infra/examples/platform-app.ts does here', async () => {
      const text = await synth(tarballApp(), 'platform-main.js', join(tarballApp(), 'dist'), 'platform-breakglass.k8s.yaml');
      const app = Testing.app();
      new PlatformBreakglassChart(app, 'platform-breakglass');
      expect(text).to.equal(app.synthYaml());
    });

    // Last in this describe: it swaps the installed package for a link.
    it('a symlinked checkout (a plain file: link) loads a second cdk8s and the synth fails: why the README says install-links', async () => {
      const installed = join(tarballApp(), 'node_modules', PACKAGE_NAME);
      await rm(installed, { recursive: true, force: true });
      await symlink(ROOT, installed, 'dir');
      const failure = await synth(tarballApp(), 'main.js', join(tarballApp(), 'dist-linked'), 'breakglass.k8s.yaml').then(
        () => undefined,
        (error: unknown) => error as Error,
      );
      expect(failure?.message).to.match(/can't render non-simple object of type 'Lazy'/);
    });
  });

  describe('from a file: dependency on the checkout, a CommonJS app (install-links)', () => {
    before(async () => {
      const error = await setups.checkout;
      if (error) throw error;
    });

    it('installs one copy of cdk8s, constructs and cdk8s-plus-28: the app\'s', () => expectSinglePeers(checkoutApp()));

    it('plain node synthesizes the golden HA manifest, CRDs included', async () => {
      await expectHaManifest(await synth(checkoutApp(), 'main.js', join(checkoutApp(), 'dist'), 'breakglass.k8s.yaml'));
    });
  });
});
