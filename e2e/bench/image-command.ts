/**
 * The controller image's command line, for benchmarks that must measure a replica the way
 * production runs it: `node <flags of the Dockerfile ENTRYPOINT> build/image/main.mjs`
 * (the self-contained bundle of `npm run build:controller`).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The image's program (Dockerfile ENTRYPOINT), built by `npm run build:controller`. */
export const ENTRY = 'build/image/main.mjs';
export const MAIN = join(root, ENTRY);

/**
 * The node flags of the image: the Dockerfile's ENTRYPOINT ["node", ...flags, "build/image/main.mjs"].
 * BENCH_NODE_FLAGS (space separated) replaces them, for trying others.
 */
export async function imageNodeFlags(): Promise<string[]> {
  const override = process.env.BENCH_NODE_FLAGS;
  if (override !== undefined) return override.split(' ').filter(Boolean);
  const dockerfile = await readFile(join(root, 'Dockerfile'), 'utf8');
  const line = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(dockerfile)?.[1];
  const entrypoint = line === undefined ? undefined : (JSON.parse(line) as unknown);
  if (!Array.isArray(entrypoint) || entrypoint[0] !== 'node' || entrypoint.at(-1) !== ENTRY) {
    throw new Error('the Dockerfile ENTRYPOINT is not ["node", ...flags, "build/image/main.mjs"]; update the bench');
  }
  return entrypoint.slice(1, -1).map(String);
}

/** `node` arguments that start the image's program: its flags, then the bundle. */
export async function imageCommand(): Promise<string[]> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build:controller\` first`);
  return [...(await imageNodeFlags()), MAIN];
}
