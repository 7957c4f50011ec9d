/**
 * The built web UI (`npm run build:ui` -> build/ui/) for suites that open it in a browser. On a
 * fresh clone `npm test` runs no build first, and a developer may have edited the sources since
 * the last build: the UI is built once per test process when build/ui/index.html is missing or
 * older than any file under controller/ui/ (or the package manifests). The replicas serve
 * build/ui (their bundle lives in build/e2e-bundle/, see controller/http/ui-dir.ts).
 */
import { spawn } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const UI_DIR = join(root, 'build', 'ui');
const SOURCES = [join(root, 'controller', 'ui'), join(root, 'package.json'), join(root, 'package-lock.json')];

async function newestMtime(path: string): Promise<number> {
  const info = await stat(path).catch(() => undefined);
  if (!info) return 0;
  if (!info.isDirectory()) return info.mtimeMs;
  const entries = await readdir(path, { withFileTypes: true });
  let newest = info.mtimeMs;
  for (const entry of entries) {
    if (entry.name === 'node_modules') continue;
    newest = Math.max(newest, await newestMtime(join(path, entry.name)));
  }
  return newest;
}

/** Why the UI must be built now, or undefined when build/ui is up to date. */
export async function uiBuildReason(): Promise<string | undefined> {
  const built = await stat(join(UI_DIR, 'index.html')).catch(() => undefined);
  if (!built) return 'build/ui/index.html is missing';
  const sources = Math.max(...(await Promise.all(SOURCES.map(newestMtime))));
  return sources > built.mtimeMs ? 'controller/ui/ changed since the last build' : undefined;
}

let building: Promise<void> | undefined;

/** Runs `npm run build:ui` at most once per process, and only when needed. */
export function ensureUiBuilt(log: (line: string) => void = (line) => process.stderr.write(`[ui-build] ${line}\n`)): Promise<void> {
  building ??= (async () => {
    const reason = await uiBuildReason();
    if (!reason) return;
    log(`${reason}: running npm run build:ui`);
    const started = performance.now();
    let output = '';
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn('npm', ['run', 'build:ui'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.once('error', reject);
      child.once('exit', resolve);
    });
    if (code !== 0) throw new Error(`npm run build:ui failed (exit ${code}):\n${output.slice(-4000)}`);
    log(`built in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  })();
  return building;
}
