/**
 * The built web UI for tests that serve it (controller/ui/bundle.test.ts, the browser e2e):
 * `npm run build:ui` once per test process when build/ui is missing or older than its sources,
 * so a fresh clone and an edited UI are both tested as built, never a stale bundle.
 * Builds into a private folder and moves it into place, so two test processes building at
 * once never serve a half-written folder.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const UI_BUILD_DIR = join(root, 'build', 'ui');

/** Everything the bundle is made of: the UI sources and the pure modules it imports. */
const SOURCES = [join(root, 'controller', 'ui'), join(root, 'crds'), join(root, 'package-lock.json'), join(root, 'tsconfig.ui.json')];

function newestMtime(path: string): number {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path, { recursive: true, encoding: 'utf8' })) {
    newest = Math.max(newest, statSync(join(path, entry)).mtimeMs);
  }
  return newest;
}

/** Whether build/ui is missing or older than a source file. */
export function uiBuildIsStale(): boolean {
  const index = join(UI_BUILD_DIR, 'index.html');
  if (!existsSync(index)) return true;
  const built = statSync(index).mtimeMs;
  return SOURCES.some((source) => newestMtime(source) > built);
}

let building: Promise<string> | undefined;

/** Resolves to build/ui, built first if needed (once per process). */
export function ensureUiBuilt(): Promise<string> {
  building ??= (async () => {
    if (!uiBuildIsStale()) return UI_BUILD_DIR;
    const scratch = `${UI_BUILD_DIR}-${process.pid}`;
    // In a child process: Vite's build sets process.env.NODE_ENV=production in the process that
    // runs it, which every later child of the test run would inherit (npm then skips devDependencies).
    const vite = join(root, 'node_modules', 'vite', 'bin', 'vite.js');
    const config = join(root, 'controller', 'ui', 'vite.config.ts');
    await execFileAsync(process.execPath, [vite, 'build', '--config', config, '--outDir', scratch, '--emptyOutDir', '--logLevel', 'warn'], {
      cwd: root,
      maxBuffer: 16 * 1024 * 1024,
    });
    await rm(UI_BUILD_DIR, { recursive: true, force: true });
    try {
      await rename(scratch, UI_BUILD_DIR);
    } catch (err) {
      // Another test process moved its (equally fresh) build in first.
      if ((err as NodeJS.ErrnoException).code !== 'ENOTEMPTY' && (err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      await rm(scratch, { recursive: true, force: true });
    }
    return UI_BUILD_DIR;
  })();
  return building;
}
