/**
 * The test realm, read from realm-breakglass.json (the one source of users, passwords, clients
 * and mappers), and the names the tests use for it.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REALM_FILE = join(dirname(fileURLToPath(import.meta.url)), 'realm-breakglass.json');

/** Public client of the UI and the CLI (standard flow with PKCE S256, password grant for tests). */
export const UI_CLIENT_ID = 'breakglass-ui';
/** The IdentityProvider's `expectedAudience`: an audience mapper puts it in every access token. */
export const BREAKGLASS_AUDIENCE = 'breakglass';
/** The audience a spoke API server's JWT authenticator demands (second audience mapper). */
export const KUBERNETES_AUDIENCE = 'kubernetes';
/** Confidential client whose service account may only view users and query groups. */
export const GROUP_SYNC_CLIENT_ID = 'breakglass-group-sync';

export const USER_NAMES = ['alice', 'bob', 'carol', 'dave'] as const;
export type KeycloakUserName = (typeof USER_NAMES)[number];

export interface KeycloakUser {
  /** Keycloak username (also the short name tests use). */
  username: KeycloakUserName;
  /** `<username>@example.com`, verified. */
  email: string;
  password: string;
  /** Group names as imported (alice: developers; bob, carol: approvers; dave: none). */
  groups: string[];
}

interface RealmUserJson {
  username: string;
  email?: string;
  groups?: string[];
  credentials?: { type: string; value: string }[];
}

export interface RealmJson {
  realm: string;
  users: RealmUserJson[];
  [key: string]: unknown;
}

export function readRealm(): RealmJson {
  return JSON.parse(readFileSync(REALM_FILE, 'utf8')) as RealmJson;
}

export function realmUsers(realm: RealmJson): Record<KeycloakUserName, KeycloakUser> {
  const entries = USER_NAMES.map((name): [KeycloakUserName, KeycloakUser] => {
    const user = realm.users.find((u) => u.username === name);
    const password = user?.credentials?.find((c) => c.type === 'password')?.value;
    if (!user?.email || !password) throw new Error(`${REALM_FILE}: user ${name} needs an email and a password`);
    return [name, { username: name, email: user.email, password, groups: (user.groups ?? []).map((g) => g.replace(/^\//, '')) }];
  });
  return Object.fromEntries(entries) as Record<KeycloakUserName, KeycloakUser>;
}
