/**
 * The Keycloak admin REST API as the tests need it: the master realm's admin (admin-cli,
 * password grant) imports the test realm and changes group membership the way an operator
 * would. Admin tokens live 60 s, so one is fetched again shortly before it expires.
 */
import { expectJson, httpCall, type HttpResponse } from './http.ts';

/**
 * Generous: on a 2-core machine shared by several test runs a single admin call has taken
 * 30 s, and importing the realm longer. A hung Keycloak still fails, just later.
 */
const REQUEST_TIMEOUT_MS = 120_000;
const IMPORT_TIMEOUT_MS = 600_000;

export interface AdminCredentials {
  username: string;
  password: string;
}

export interface KeycloakGroup {
  id: string;
  name: string;
  path: string;
}

export interface KeycloakUserRepresentation {
  id: string;
  username: string;
  email?: string;
  emailVerified?: boolean;
  enabled?: boolean;
}

/** What tests do to the realm through the admin API (all names, never Keycloak ids). */
export interface KeycloakAdmin {
  /** A master-realm admin access token (cached until shortly before it expires). */
  token(): Promise<string>;
  /** Any admin API call, path relative to `/admin/realms/<realm>` (e.g. `/groups`). */
  request(method: string, path: string, body?: unknown): Promise<HttpResponse>;
  userId(username: string): Promise<string>;
  groupId(group: string): Promise<string>;
  addUserToGroup(username: string, group: string): Promise<void>;
  removeUserFromGroup(username: string, group: string): Promise<void>;
  /** Usernames of the direct members of `group`, sorted. */
  groupMembers(group: string): Promise<string[]>;
  /** Lower-cased emails of the direct members of `group`, sorted: what the group sync writes. */
  groupMemberEmails(group: string): Promise<string[]>;
  /** Group names of `username`, sorted. */
  userGroups(username: string): Promise<string[]>;
  /** Creates a group (top level); resolves to its id. */
  createGroup(group: string): Promise<string>;
  /** Creates an enabled user with a verified email and a password; resolves to its id. */
  createUser(user: { username: string; email: string; password: string; groups?: string[] }): Promise<string>;
  /** Sets a new random secret on a confidential client and resolves to it. */
  regenerateClientSecret(clientId: string): Promise<string>;
}

export interface AdminClientOptions {
  baseUrl: string;
  realm: string;
  credentials: AdminCredentials;
  ca: string | undefined;
}

export function adminClient(options: AdminClientOptions): KeycloakAdmin & {
  importRealm(realm: unknown): Promise<void>;
  deleteRealm(): Promise<void>;
} {
  const { baseUrl, realm, credentials, ca } = options;
  let cached: { token: string; until: number } | undefined;

  async function token(): Promise<string> {
    if (cached && Date.now() < cached.until) return cached.token;
    const res = await httpCall(`${baseUrl}/realms/master/protocol/openid-connect/token`, {
      ca,
      timeoutMs: REQUEST_TIMEOUT_MS,
      form: { grant_type: 'password', client_id: 'admin-cli', username: credentials.username, password: credentials.password },
    });
    const body = expectJson<{ access_token: string; expires_in: number }>('Keycloak admin login (master realm, admin-cli)', res);
    cached = { token: body.access_token, until: Date.now() + Math.max(0, body.expires_in - 15) * 1000 };
    return body.access_token;
  }

  async function call(method: string, url: string, body?: unknown, timeoutMs = REQUEST_TIMEOUT_MS): Promise<HttpResponse> {
    return httpCall(url, { method, ca, headers: { Authorization: `Bearer ${await token()}` }, json: body, timeoutMs });
  }
  const realmUrl = `${baseUrl}/admin/realms/${encodeURIComponent(realm)}`;
  const request = (method: string, path: string, body?: unknown): Promise<HttpResponse> => call(method, `${realmUrl}${path}`, body);

  async function ok(what: string, res: Promise<HttpResponse>): Promise<void> {
    const r = await res;
    if (r.status < 200 || r.status > 299) throw new Error(`${what}: HTTP ${r.status}: ${r.body.slice(0, 500)}`);
  }

  async function userId(username: string): Promise<string> {
    const users = expectJson<KeycloakUserRepresentation[]>(
      `find user ${username}`,
      await request('GET', `/users?exact=true&username=${encodeURIComponent(username)}`),
    );
    const user = users.find((u) => u.username === username);
    if (!user) throw new Error(`Keycloak realm ${realm} has no user ${username}`);
    return user.id;
  }

  async function groupId(group: string): Promise<string> {
    const groups = expectJson<KeycloakGroup[]>(
      `find group ${group}`,
      await request('GET', `/groups?exact=true&search=${encodeURIComponent(group)}`),
    );
    const found = groups.find((g) => g.name === group);
    if (!found) throw new Error(`Keycloak realm ${realm} has no group ${group}`);
    return found.id;
  }

  async function members(group: string): Promise<KeycloakUserRepresentation[]> {
    return expectJson<KeycloakUserRepresentation[]>(`members of ${group}`, await request('GET', `/groups/${await groupId(group)}/members?max=1000`));
  }

  /** The id in the Location header of a 201 answer. */
  function createdId(what: string, res: HttpResponse): string {
    const location = res.headers.location;
    if (res.status !== 201 || typeof location !== 'string') throw new Error(`${what}: HTTP ${res.status}: ${res.body.slice(0, 500)}`);
    return location.slice(location.lastIndexOf('/') + 1);
  }

  return {
    token,
    request,
    userId,
    groupId,
    async addUserToGroup(username, group) {
      const [u, g] = await Promise.all([userId(username), groupId(group)]);
      await ok(`add ${username} to ${group}`, request('PUT', `/users/${u}/groups/${g}`));
    },
    async removeUserFromGroup(username, group) {
      const [u, g] = await Promise.all([userId(username), groupId(group)]);
      await ok(`remove ${username} from ${group}`, request('DELETE', `/users/${u}/groups/${g}`));
    },
    async groupMembers(group) {
      return (await members(group)).map((m) => m.username).sort();
    },
    async groupMemberEmails(group) {
      return (await members(group)).flatMap((m) => (m.email ? [m.email.toLowerCase()] : [])).sort();
    },
    async userGroups(username) {
      const groups = expectJson<KeycloakGroup[]>(`groups of ${username}`, await request('GET', `/users/${await userId(username)}/groups`));
      return groups.map((g) => g.name).sort();
    },
    async createGroup(group) {
      return createdId(`create group ${group}`, await request('POST', '/groups', { name: group }));
    },
    async createUser(user) {
      const id = createdId(
        `create user ${user.username}`,
        await request('POST', '/users', {
          username: user.username,
          email: user.email,
          // The API server refuses tokens of unverified emails ("oidc: email not verified"),
          // and the default user profile wants a first and last name before it issues tokens.
          emailVerified: true,
          enabled: true,
          firstName: user.username,
          lastName: 'E2E',
          credentials: [{ type: 'password', value: user.password, temporary: false }],
          groups: user.groups ?? [],
        }),
      );
      return id;
    },
    async regenerateClientSecret(clientId) {
      const clients = expectJson<{ id: string; clientId: string }[]>(
        `find client ${clientId}`,
        await request('GET', `/clients?clientId=${encodeURIComponent(clientId)}`),
      );
      const client = clients.find((c) => c.clientId === clientId);
      if (!client) throw new Error(`Keycloak realm ${realm} has no client ${clientId}`);
      const secret = expectJson<{ value: string }>(`new secret for ${clientId}`, await request('POST', `/clients/${client.id}/client-secret`));
      return secret.value;
    },
    async importRealm(representation) {
      await ok(`import realm ${realm}`, call('POST', `${baseUrl}/admin/realms`, representation, IMPORT_TIMEOUT_MS));
    },
    async deleteRealm() {
      const res = await call('DELETE', realmUrl, undefined, IMPORT_TIMEOUT_MS);
      if (res.status !== 204 && res.status !== 404) throw new Error(`delete realm ${realm}: HTTP ${res.status}: ${res.body.slice(0, 500)}`);
    },
  };
}
