/**
 * The rooms of controller/ only reach down: leadership, kube access, the clock and the options
 * never import the runtime or the transport above them (ARCHITECTURE.md), and kube access does
 * not depend on leadership. Checked over the import graph of the product sources (tests
 * excluded), read with TypeScript's own pre-processor so `export ... from` and dynamic imports
 * count too.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, posix, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import ts from 'typescript';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

interface Rule {
  /** Files this rule applies to: a folder (ending in /) or one file, relative to the repo root. */
  from: string[];
  /** Import targets that are forbidden for them (same form). */
  forbidden: string[];
  why: string;
}

/** The domain rooms: data flows transport -> domain -> Kubernetes access, never back up. */
const DOMAIN_ROOMS = ['controller/sessions/', 'controller/escalations/', 'controller/identity/', 'controller/authorization/', 'controller/clusters/'];

const RULES: Rule[] = [
  {
    from: ['controller/leadership/', 'controller/kube/', 'controller/clock/', 'controller/options.ts', 'controller/bind-address.ts'],
    forbidden: ['controller/runtime/', 'controller/http/'],
    why: 'leadership, kube access, the clock and the options must not depend on the runtime or the transport',
  },
  {
    from: ['controller/kube/', 'controller/clock/'],
    forbidden: ['controller/leadership/'],
    why: 'kube access and the clock must not depend on leadership',
  },
  {
    from: ['controller/clock/'],
    forbidden: ['controller/', 'crds/', 'infra/'],
    why: 'the clock is the bottom room and imports nothing of ours',
  },
  {
    from: DOMAIN_ROOMS,
    forbidden: ['controller/http/', 'controller/api/', 'controller/admission/'],
    why: 'domain code never depends on the transport',
  },
];

/** Packages of the HTTP transport, which domain rooms must not import. */
const TRANSPORT_PACKAGES = /^(koa|koa-.+|@koa\/.+)$/;

const isTest = (path: string) => /\.(test|test-support|unit\.test)\.ts$/.test(path);

/** Product sources under `folder` (repo-relative, posix separators), tests excluded. */
function productSources(folder: string): string[] {
  return (readdirSync(join(ROOT, folder), { recursive: true, encoding: 'utf8' }) as string[])
    .map((entry) => posix.join(folder, entry.split(sep).join('/')))
    .filter((path) => path.endsWith('.ts') && !path.endsWith('.d.ts') && !isTest(path))
    .sort();
}

/** The repo-relative targets of the relative imports of `source` (a file at `path`). */
function relativeImports(path: string, source: string): string[] {
  const { importedFiles } = ts.preProcessFile(source, true, true);
  return importedFiles
    .map((file) => file.fileName)
    .filter((specifier) => specifier.startsWith('.'))
    .map((specifier) => posix.normalize(posix.join(posix.dirname(path), specifier)));
}

const within = (path: string, place: string) => (place.endsWith('/') ? path.startsWith(place) : path === place);

/** Every import of `files` that breaks a rule, as "file -> target (why)". */
function violations(files: ReadonlyMap<string, string>, rules: readonly Rule[] = RULES): string[] {
  const found: string[] = [];
  for (const [path, source] of files) {
    for (const rule of rules) {
      if (!rule.from.some((place) => within(path, place))) continue;
      for (const target of relativeImports(path, source)) {
        // A room may always import itself (the clock's own modules, say).
        const ownRoom = rule.from.find((place) => within(path, place));
        if (ownRoom !== undefined && ownRoom.endsWith('/') && target.startsWith(ownRoom)) continue;
        if (rule.forbidden.some((place) => within(target, place))) found.push(`${path} -> ${target} (${rule.why})`);
      }
    }
  }
  return found;
}

function read(paths: string[]): Map<string, string> {
  return new Map(paths.map((path) => [path, readFileSync(join(ROOT, path), 'utf8')]));
}

describe('import graph of controller/', () => {
  const sources = read(productSources('controller'));

  it('finds the product sources it checks', () => {
    for (const path of ['controller/leadership/term.ts', 'controller/kube/restarting-informer.ts', 'controller/options.ts']) {
      expect([...sources.keys()], path).to.include(path);
    }
    expect([...sources.keys()].some(isTest)).to.equal(false);
  });

  it('leadership, kube access, the clock and the options never import the runtime or the transport', () => {
    expect(violations(sources)).to.deep.equal([]);
  });

  it('domain rooms never import Koa', () => {
    const found = [...sources]
      .filter(([path]) => DOMAIN_ROOMS.some((room) => path.startsWith(room)))
      .flatMap(([path, source]) =>
        ts.preProcessFile(source, true, true).importedFiles
          .map((file) => file.fileName)
          .filter((specifier) => TRANSPORT_PACKAGES.test(specifier))
          .map((specifier) => `${path} -> ${specifier}`),
      );
    expect(found).to.deep.equal([]);
    expect(TRANSPORT_PACKAGES.test('@koa/router') && TRANSPORT_PACKAGES.test('koa') && !TRANSPORT_PACKAGES.test('koalas-lib')).to.equal(true);
  });

  it('reports an upward import, also through export-from and a dynamic import', () => {
    const files = new Map([
      ['controller/kube/informer.ts', "import { pause } from '../runtime/loop-runner.ts';"],
      ['controller/leadership/term.ts', "export { FencedError } from '../runtime/loop.ts';"],
      ['controller/options.ts', "const listen = await import('./http/listen.ts');"],
      ['controller/kube/lease.ts', "import { systemClock } from '../leadership/clock.ts';"],
      ['controller/clock/clock.ts', "import type { Logger } from '../observability/logger.ts';"],
      // Rooms above may import the runtime.
      ['controller/sessions/cleanup-pass.ts', "import type { LoopContext } from '../runtime/loop.ts';"],
    ]);
    expect(violations(files).map((v) => v.split(' (')[0])).to.deep.equal([
      'controller/kube/informer.ts -> controller/runtime/loop-runner.ts',
      'controller/leadership/term.ts -> controller/runtime/loop.ts',
      'controller/options.ts -> controller/http/listen.ts',
      'controller/kube/lease.ts -> controller/leadership/clock.ts',
      'controller/clock/clock.ts -> controller/observability/logger.ts',
    ]);
  });

  it('nothing outside the runtime takes FencedError from the runtime (it lives in leadership/fencing.ts)', () => {
    expect(fencedErrorFromRuntime(sources)).to.deep.equal([]);
    const files = new Map([
      ['controller/sessions/cleanup-pass.ts', "import { FencedError } from '../runtime/loop.ts';"],
      ['controller/clusters/checker.ts', "import { type LoopContext, FencedError } from '../runtime/loop.ts';"],
      ['controller/clusters/ok.ts', "import type { LoopContext } from '../runtime/loop.ts';\nimport { FencedError } from '../leadership/fencing.ts';"],
    ]);
    expect(fencedErrorFromRuntime(files)).to.deep.equal(['controller/sessions/cleanup-pass.ts', 'controller/clusters/checker.ts']);
  });

  it('there is one ConflictError, in controller/kube/errors.ts (no per-store variants)', () => {
    const all = new Map([...sources, ...read(productSources('crds')), ...read(productSources('e2e'))]);
    const declaring = [...all].filter(([, source]) => /\bclass\s+\w*ConflictError\b/.test(source)).map(([path]) => path);
    expect(declaring).to.deep.equal(['controller/kube/errors.ts']);
  });
});

/** Files outside controller/runtime/ whose import or export-from statements take FencedError from it. */
function fencedErrorFromRuntime(files: ReadonlyMap<string, string>): string[] {
  const statement = /(?:import|export)\s*(?:type\s*)?\{([^}]*)\}\s*from\s*['"]([^'"]+)['"]/g;
  return [...files]
    .filter(([path]) => !path.startsWith('controller/runtime/'))
    .filter(([path, source]) =>
      [...source.matchAll(statement)].some(
        (match) =>
          /\bFencedError\b/.test(match[1] ?? '') &&
          posix.normalize(posix.join(posix.dirname(path), match[2] ?? '')).startsWith('controller/runtime/'),
      ),
    )
    .map(([path]) => path);
}
