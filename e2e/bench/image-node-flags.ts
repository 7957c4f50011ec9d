/**
 * The node flags of the image: the Dockerfile's ENTRYPOINT ["node", ...flags, "build/image/main.mjs"],
 * so that a benchmark's server process runs with the heap settings production runs with.
 * BENCH_NODE_FLAGS (space separated) replaces them, for trying others.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const IMAGE_ENTRY = 'build/image/main.mjs';

export async function imageNodeFlags(): Promise<string[]> {
  const override = process.env.BENCH_NODE_FLAGS;
  if (override !== undefined) return override.split(' ').filter(Boolean);
  const dockerfile = await readFile(join(root, 'Dockerfile'), 'utf8');
  const line = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(dockerfile)?.[1];
  const entrypoint = line === undefined ? undefined : (JSON.parse(line) as unknown);
  if (!Array.isArray(entrypoint) || entrypoint[0] !== 'node' || entrypoint.at(-1) !== IMAGE_ENTRY) {
    throw new Error(`the Dockerfile ENTRYPOINT is not ["node", ...flags, "${IMAGE_ENTRY}"]; update the bench`);
  }
  return entrypoint.slice(1, -1).map(String);
}
