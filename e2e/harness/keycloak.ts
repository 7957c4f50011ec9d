/**
 * The e2e suite's Keycloak: started lazily by the first suite that asks for it, shared by every
 * later suite of the run, stopped by the root hooks' afterAll (and, should the runner die, by
 * its supervisor, see e2e/keycloak/supervise.sh). Suites that never call useKeycloak() cost
 * nothing. E2E_KEYCLOAK_URL (+ E2E_KEYCLOAK_ADMIN_USER / E2E_KEYCLOAK_ADMIN_PASSWORD, optional
 * E2E_KEYCLOAK_CA_FILE) uses an existing Keycloak instead of starting one.
 *
 * Usage in a suite (a start can take minutes on a busy 2-core machine):
 *
 *   let kc: KeycloakHandle;
 *   before(async function () {
 *     this.timeout(KEYCLOAK_START_TIMEOUT_MS);
 *     kc = await useKeycloak();
 *   });
 */
import { startKeycloak, type KeycloakHandle } from '../keycloak/keycloak.ts';

export type { GroupSyncSecret, IdentityProviderObjectOptions, KeycloakHandle } from '../keycloak/keycloak.ts';
export type { KeycloakAdmin, KeycloakGroup } from '../keycloak/admin.ts';
export type { KeycloakUser, KeycloakUserName } from '../keycloak/realm.ts';

/** A `before` hook timeout that covers a first start (fetch, augmentation) on a loaded machine. */
export const KEYCLOAK_START_TIMEOUT_MS = 15 * 60_000;

let running: Promise<KeycloakHandle> | undefined;

/**
 * The run's Keycloak with the test realm freshly imported. Every call returns the same handle;
 * a failed start is not retried (later suites fail fast with the same error).
 */
export function useKeycloak(): Promise<KeycloakHandle> {
  running ??= startKeycloak();
  return running;
}

/** Stops the run's Keycloak if one was started (root hooks' afterAll). */
export async function stopKeycloak(): Promise<void> {
  const current = running;
  running = undefined;
  if (!current) return;
  const handle = await current.catch(() => undefined);
  await handle?.stop();
}
