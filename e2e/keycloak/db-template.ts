/**
 * A database template for local Keycloak starts. On a fresh database start-dev spends most of
 * its start creating the schema and the master realm (over a minute on a busy 2-core machine);
 * both are the same for every run. So the first run that ends cleanly leaves its H2 files,
 * with the test realm deleted, in the cache next to the distribution, and later runs start
 * from a copy: the test realm itself is still imported fresh from the JSON file every run.
 * The master admin's credentials live in the database, so they are kept with it (a loopback
 * test instance; nothing outside the cache refers to them).
 */
import { cp, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AdminCredentials } from './admin.ts';

export interface DbTemplate {
  /** Directory to copy to `<kc.db-url-path>/data`. */
  dataDir: string;
  credentials: AdminCredentials;
}

/** The template's directory for a distribution directory such as `.../keycloak-26.5.6`. */
export function templateDirFor(keycloakHome: string): string {
  return `${keycloakHome}-db-template`;
}

/** The template, when a complete one exists. */
export async function readTemplate(dir: string): Promise<DbTemplate | undefined> {
  try {
    await stat(join(dir, 'complete'));
    const credentials = JSON.parse(await readFile(join(dir, 'admin.json'), 'utf8')) as AdminCredentials;
    return { dataDir: join(dir, 'data'), credentials };
  } catch {
    return undefined;
  }
}

/** Copies the template into a new run's database directory (`kc.db-url-path`). */
export async function copyTemplate(template: DbTemplate, dbDir: string): Promise<void> {
  await cp(template.dataDir, join(dbDir, 'data'), { recursive: true });
}

/**
 * Saves the database of a cleanly stopped Keycloak as the template. Written to a temporary
 * directory and renamed, so readers see a whole template or none; a concurrent run that saved
 * first wins.
 */
export async function saveTemplate(dir: string, dbDir: string, credentials: AdminCredentials): Promise<boolean> {
  const tmp = await mkdtemp(`${dir}.tmp-`);
  try {
    await cp(join(dbDir, 'data'), join(tmp, 'data'), { recursive: true });
    await writeFile(join(tmp, 'admin.json'), JSON.stringify(credentials), { mode: 0o600 });
    await writeFile(join(tmp, 'complete'), `${new Date().toISOString()}\n`);
    await rename(tmp, dir);
    return true;
  } catch {
    await rm(tmp, { recursive: true, force: true });
    return false;
  }
}

export async function removeTemplate(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
