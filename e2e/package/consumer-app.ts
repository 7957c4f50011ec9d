/**
 * A scratch platform app, the way a platform team consumes the construct library: its own
 * cdk8s, constructs, cdk8s-plus-28 and TypeScript from the npm registry, our package from a
 * tarball or a checkout, compiled with plain `tsc` and run with plain `node` (no tsx anywhere).
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const PACKAGE_NAME = '@breakglass-k8s/breakglass';
/** The peers the app installs itself, at the versions our own lockfile installed. */
export const PEERS = ['cdk8s', 'constructs', 'cdk8s-plus-28'] as const;

export interface PackedFile {
  path: string;
}
interface PackResult {
  filename: string;
  files: PackedFile[];
}

/**
 * The environment for a nested npm: `npm test` exports this repository's package and lifecycle
 * variables and its local prefix, which would point the scratch app's npm back here. Everything
 * else stays (cache, registry, proxy and CA settings), so installs use the cache CI filled.
 */
export function npmEnv(): NodeJS.ProcessEnv {
  const projectSpecific = (key: string) =>
    /^npm_(package_|lifecycle_)/i.test(key) || /^npm_config_local_prefix$/i.test(key) || /^npm_command$/i.test(key);
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !projectSpecific(key)));
}

async function npm(cwd: string, args: readonly string[]): Promise<string> {
  const { stdout } = await run('npm', [...args], { cwd, env: npmEnv(), maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

/** `npm pack` (runs prepack, i.e. build:package) or, with dryRun, only the file list. */
export async function pack(root: string, destination: string, dryRun = false): Promise<PackResult> {
  const args = ['pack', '--json', '--pack-destination', destination, '--loglevel=error'];
  const stdout = await npm(root, dryRun ? [...args, '--dry-run', '--ignore-scripts'] : args);
  // The JSON array starts on a line of its own; any prepack output comes before it.
  const start = stdout.search(/^\[$/m);
  const [result] = (start < 0 ? [] : JSON.parse(stdout.slice(start))) as PackResult[];
  if (!result) throw new Error(`npm pack printed no result:\n${stdout}`);
  return { ...result, filename: join(destination, result.filename) };
}

/** The version of a package installed in `root`, which the npm cache therefore holds. */
export async function installedVersion(root: string, name: string): Promise<string> {
  const manifest = JSON.parse(await readFile(join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string };
  return manifest.version;
}

/**
 * Fenced code blocks of the README that follow `<!-- consumer-app: <path> ... -->`, by path:
 * the app is built from the README text itself, so the README shows what this test runs.
 */
export function readmeBlocks(readme: string): Map<string, string> {
  const blocks = new Map<string, string>();
  for (const match of readme.matchAll(/<!-- consumer-app: (\S+)[^>]*-->\n```ts\n([\s\S]*?)```/g)) {
    blocks.set(match[1] as string, match[2] as string);
  }
  return blocks;
}

export type ModuleStyle = 'esm' | 'commonjs';

export interface ConsumerAppSpec {
  dir: string;
  /** The dependency spec of our package: a tarball path or `file:<checkout>`. */
  packageSpec: string;
  versions: Readonly<Record<(typeof PEERS)[number] | 'typescript', string>>;
  /** ES module app (NodeNext), or CommonJS as `cdk8s init typescript-app` sets it up. */
  style: ModuleStyle;
  /** Source files under src/, by path relative to the app. */
  sources: Readonly<Record<string, string>>;
  /** Lines for the app's .npmrc. */
  npmrc?: readonly string[];
}

/** Writes the app, runs one `npm install` and compiles it with the app's own `tsc`. */
export async function createConsumerApp(spec: ConsumerAppSpec): Promise<void> {
  const { dir, versions } = spec;
  await mkdir(join(dir, 'src'), { recursive: true });
  const manifest = {
    name: 'platform-app',
    private: true,
    type: spec.style === 'esm' ? 'module' : 'commonjs',
    dependencies: {
      [PACKAGE_NAME]: spec.packageSpec,
      cdk8s: versions.cdk8s,
      constructs: versions.constructs,
      'cdk8s-plus-28': versions['cdk8s-plus-28'],
    },
    devDependencies: { typescript: versions.typescript },
  };
  // Strict, declarations of dependencies checked too (no skipLibCheck), and no @types/node:
  // the package's types must stand on cdk8s and constructs alone.
  const compilerOptions = {
    target: 'ES2022',
    ...(spec.style === 'esm' ? { module: 'NodeNext', moduleResolution: 'NodeNext' } : { module: 'commonjs' }),
    strict: true,
    skipLibCheck: false,
    types: [],
    rootDir: 'src',
    outDir: 'lib',
  };
  await writeFile(join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  await writeFile(join(dir, 'tsconfig.json'), `${JSON.stringify({ compilerOptions, include: ['src'] }, null, 2)}\n`);
  if (spec.npmrc) await writeFile(join(dir, '.npmrc'), `${spec.npmrc.join('\n')}\n`);
  for (const [path, text] of Object.entries(spec.sources)) await writeFile(join(dir, path), text);
  await npm(dir, ['install', '--include=dev', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error']);
  await compile(dir);
}

export async function compile(dir: string): Promise<void> {
  try {
    await run(process.execPath, [join(dir, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir], { cwd: dir });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`tsc failed in the consumer app:\n${stdout ?? ''}${stderr ?? ''}`);
  }
}

/** Runs a compiled entry point with plain node and returns the manifest it wrote. */
export async function synth(dir: string, entry: string, outdir: string, file: string): Promise<string> {
  try {
    await run(process.execPath, [join(dir, 'lib', entry)], { cwd: dir, env: { ...npmEnv(), CDK8S_OUTDIR: outdir } });
  } catch (error) {
    const { stderr } = error as { stderr?: string };
    throw new Error(`node lib/${entry} failed in the consumer app:\n${stderr ?? String(error)}`);
  }
  return readFile(join(outdir, file), 'utf8');
}
