/**
 * Resolves a Keycloak group to its members through the admin REST API (reference §5.3), as a
 * confidential client with a service account (realm-management `view-users` and
 * `query-groups`).
 *
 * 1. Token: client credentials at `{baseURL}/realms/{realm}/protocol/openid-connect/token`,
 *    reused until 10 s before `expires_in` (300 s when absent); one token request at a time.
 * 2. `GET /admin/realms/{realm}/groups?search=<name>&exact=true`: the group whose name equals
 *    the wanted one (exact case preferred, else case-insensitive, as the reference). The search
 *    answers with the hierarchy down to the match, so sub-groups named like that are found too.
 * 3. Members of the group and of all its sub-groups (`/groups/{id}/members` and
 *    `/groups/{id}/children`, both paged with `first`/`max`), to any depth up to
 *    MAX_SUBGROUP_DEPTH. The reference expands one level only (§15.21). A sub-group that fails
 *    fails the whole group, so a partial member list is never reported as the truth.
 * 4. Member identifier: `email` when set, else `username`; trimmed, lower-cased, deduplicated,
 *    sorted.
 *
 * Errors are KeycloakError with a reason that the status condition and metrics use. The client
 * secret is only ever put into the token request body; it is never logged or put into errors.
 */
import { RequestTimeoutError } from '../kube/request-options.ts';
import { HttpStatusError, HttpsJsonClient, InvalidResponseError, TransportError } from './https-json.ts';

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_SUBGROUP_DEPTH = 5;
/** Bounds the work for one group; beyond it the group fails instead of being cut short. */
export const MAX_MEMBERS_PER_GROUP = 10_000;
const TOKEN_EXPIRY_MARGIN_MS = 10_000;
const DEFAULT_TOKEN_LIFETIME_S = 300;

export type KeycloakErrorReason =
  | 'TokenRequestFailed'
  | 'Unauthorized'
  | 'Forbidden'
  | 'RequestFailed'
  | 'Timeout'
  | 'Unreachable'
  | 'InvalidResponse'
  | 'TooManyMembers';

export class KeycloakError extends Error {
  constructor(
    readonly reason: KeycloakErrorReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'KeycloakError';
  }
}

export interface KeycloakConnection {
  baseURL: string;
  realm: string;
  clientID: string;
  clientSecret: string;
  certificateAuthority?: string;
  requestTimeoutMs: number;
  /** @default 100 */
  pageSize?: number;
}

export type GroupLookup = { found: true; members: string[] } | { found: false };

interface GroupRepresentation {
  id: string;
  name: string;
  path?: string;
  subGroups?: GroupRepresentation[];
}

interface UserRepresentation {
  username?: string;
  email?: string;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asGroups(value: unknown, what: string): GroupRepresentation[] {
  if (!Array.isArray(value)) throw new KeycloakError('InvalidResponse', `${what}: expected a list of groups`);
  return value.flatMap((item): GroupRepresentation[] => {
    if (!isObject(item) || typeof item.id !== 'string' || typeof item.name !== 'string') return [];
    return [
      {
        id: item.id,
        name: item.name,
        ...(typeof item.path === 'string' ? { path: item.path } : {}),
        ...(Array.isArray(item.subGroups) ? { subGroups: asGroups(item.subGroups, what) } : {}),
      },
    ];
  });
}

function asUsers(value: unknown, what: string): UserRepresentation[] {
  if (!Array.isArray(value)) throw new KeycloakError('InvalidResponse', `${what}: expected a list of users`);
  return value.filter(isObject).map((item) => ({
    ...(typeof item.username === 'string' ? { username: item.username } : {}),
    ...(typeof item.email === 'string' ? { email: item.email } : {}),
  }));
}

/** The identifier the API compares approvers with (§5.3 step 3). */
export function memberIdentifier(user: UserRepresentation): string | undefined {
  const email = user.email?.trim();
  const id = email ? email : user.username?.trim();
  return id ? id.toLowerCase() : undefined;
}

/** Depth-first search of a search result tree for the group named `name`. */
export function pickGroup(tree: readonly GroupRepresentation[], name: string): GroupRepresentation | undefined {
  const all: GroupRepresentation[] = [];
  const walk = (groups: readonly GroupRepresentation[]): void => {
    for (const group of groups) {
      all.push(group);
      if (group.subGroups) walk(group.subGroups);
    }
  };
  walk(tree);
  return all.find((g) => g.name === name) ?? all.find((g) => g.name.toLowerCase() === name.toLowerCase());
}

/** Maps transport failures to a reason; lets abort reasons (the term ended) through unchanged. */
function classify(err: unknown, signal: AbortSignal | undefined): unknown {
  if (signal?.aborted && err === signal.reason) return err;
  if (err instanceof KeycloakError) return err;
  if (err instanceof RequestTimeoutError) return new KeycloakError('Timeout', err.message, { cause: err });
  if (err instanceof TransportError) return new KeycloakError('Unreachable', err.message, { cause: err });
  if (err instanceof InvalidResponseError) return new KeycloakError('InvalidResponse', err.message, { cause: err });
  if (err instanceof HttpStatusError) {
    const reason = err.status === 401 ? 'Unauthorized' : err.status === 403 ? 'Forbidden' : 'RequestFailed';
    return new KeycloakError(reason, err.message, { cause: err });
  }
  return err;
}

export class KeycloakAdminClient {
  private readonly http: HttpsJsonClient;
  private readonly base: string;
  private token: { value: string; expiresAt: number } | undefined;
  private tokenRequest: Promise<string> | undefined;

  constructor(
    private readonly connection: KeycloakConnection,
    private readonly now: () => number = Date.now,
  ) {
    this.http = new HttpsJsonClient({ certificateAuthority: connection.certificateAuthority, timeoutMs: connection.requestTimeoutMs });
    this.base = connection.baseURL.replace(/\/+$/, '');
  }

  /** The members of `group` and its sub-groups, or `found: false` when the realm has no such group. */
  async resolveGroup(group: string, signal?: AbortSignal): Promise<GroupLookup> {
    const found = pickGroup(
      asGroups(await this.adminGet('/groups', { search: group, exact: 'true', briefRepresentation: 'true' }, signal), 'group search'),
      group,
    );
    if (!found) return { found: false };
    const members = new Set<string>();
    const visited = new Set<string>();
    const expand = async (id: string, depth: number): Promise<void> => {
      if (visited.has(id)) return;
      visited.add(id);
      for (const user of await this.paged(`/groups/${encodeURIComponent(id)}/members`, asUsers, signal)) {
        const member = memberIdentifier(user);
        if (member !== undefined) members.add(member);
        if (members.size > MAX_MEMBERS_PER_GROUP) {
          throw new KeycloakError('TooManyMembers', `group ${group} has more than ${MAX_MEMBERS_PER_GROUP} members`);
        }
      }
      if (depth >= MAX_SUBGROUP_DEPTH) return;
      for (const child of await this.paged(`/groups/${encodeURIComponent(id)}/children`, asGroups, signal)) {
        await expand(child.id, depth + 1);
      }
    };
    await expand(found.id, 0);
    return { found: true, members: [...members].sort() };
  }

  /** Obtains a token now (the IdentityProvider health check). */
  async checkToken(signal?: AbortSignal): Promise<void> {
    await this.accessToken(signal);
  }

  close(): void {
    this.http.close();
  }

  private async paged<T>(path: string, parse: (value: unknown, what: string) => T[], signal?: AbortSignal): Promise<T[]> {
    const pageSize = this.connection.pageSize ?? DEFAULT_PAGE_SIZE;
    const items: T[] = [];
    for (let first = 0; ; first += pageSize) {
      const page = parse(
        await this.adminGet(path, { first: String(first), max: String(pageSize), briefRepresentation: 'true' }, signal),
        path,
      );
      items.push(...page);
      if (page.length < pageSize) return items;
      if (items.length > MAX_MEMBERS_PER_GROUP) {
        throw new KeycloakError('TooManyMembers', `${path} lists more than ${MAX_MEMBERS_PER_GROUP} entries`);
      }
    }
  }

  /** GET on the realm's admin API; a 401 (token revoked early) gets one retry with a new token. */
  private async adminGet(path: string, query: Record<string, string>, signal?: AbortSignal): Promise<unknown> {
    const url = new URL(`${this.base}/admin/realms/${encodeURIComponent(this.connection.realm)}${path}`);
    for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value);
    for (let attempt = 0; ; attempt++) {
      const token = await this.accessToken(signal);
      try {
        return await this.http.send({ method: 'GET', url, headers: { authorization: `Bearer ${token}` }, signal });
      } catch (err) {
        if (err instanceof HttpStatusError && err.status === 401 && attempt === 0) {
          this.token = undefined;
          continue;
        }
        throw classify(err, signal);
      }
    }
  }

  private accessToken(signal?: AbortSignal): Promise<string> {
    if (this.token && this.now() < this.token.expiresAt) return Promise.resolve(this.token.value);
    this.tokenRequest ??= this.requestToken(signal).finally(() => {
      this.tokenRequest = undefined;
    });
    return this.tokenRequest;
  }

  private async requestToken(signal?: AbortSignal): Promise<string> {
    const url = new URL(`${this.base}/realms/${encodeURIComponent(this.connection.realm)}/protocol/openid-connect/token`);
    const body = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: this.connection.clientID,
      client_secret: this.connection.clientSecret,
    }).toString();
    let answer: unknown;
    try {
      answer = await this.http.send({
        method: 'POST',
        url,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body,
        signal,
      });
    } catch (err) {
      const classified = classify(err, signal);
      // A refused token request is a credentials problem, not an outage: its own reason.
      if (classified instanceof KeycloakError && err instanceof HttpStatusError) {
        throw new KeycloakError('TokenRequestFailed', `token request for client ${this.connection.clientID} failed: ${err.message}`, { cause: err });
      }
      throw classified;
    }
    if (!isObject(answer) || typeof answer.access_token !== 'string' || answer.access_token === '') {
      throw new KeycloakError('TokenRequestFailed', 'token endpoint answered without access_token');
    }
    const lifetimeS = typeof answer.expires_in === 'number' && answer.expires_in > 0 ? answer.expires_in : DEFAULT_TOKEN_LIFETIME_S;
    this.token = { value: answer.access_token, expiresAt: this.now() + lifetimeS * 1000 - TOKEN_EXPIRY_MARGIN_MS };
    return answer.access_token;
  }
}
