/**
 * Test support: a small HTTPS server speaking the slice of Keycloak's token and admin API the
 * group sync uses, with knobs for failures, delays and hangs. Pure-logic tests use it; the
 * integration with a real Keycloak is tested in e2e/group-sync.e2e.ts.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface FakeUser {
  username: string;
  email?: string;
}

export interface FakeGroup {
  id: string;
  name: string;
  members: FakeUser[];
  children: FakeGroup[];
}

export interface FakeKeycloakOptions {
  certPem: string;
  keyPem: string;
  realm?: string;
  clientID?: string;
  clientSecret?: string;
  /** expires_in of issued tokens. @default 300 */
  tokenLifetimeS?: number;
}

export class FakeKeycloak {
  readonly realm: string;
  readonly clientID: string;
  readonly clientSecret: string;
  readonly groups: FakeGroup[] = [];
  readonly requests: string[] = [];
  tokenRequests = 0;
  /** Answer every admin request with this status. */
  adminStatus: number | undefined;
  /** Never answer admin requests (timeouts). */
  hangAdmin = false;
  /** Delay of every admin answer. */
  adminDelayMs = 0;
  inFlight = 0;
  maxInFlight = 0;
  private readonly tokens = new Set<string>();
  private readonly server: Server;
  private readonly hanging = new Set<ServerResponse>();
  private nextId = 1;

  constructor(private readonly options: FakeKeycloakOptions) {
    this.realm = options.realm ?? 'breakglass';
    this.clientID = options.clientID ?? 'group-sync';
    this.clientSecret = options.clientSecret ?? 'not-a-real-secret';
    this.server = createServer({ cert: options.certPem, key: options.keyPem }, (req, res) => void this.handle(req, res));
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return this.url;
  }

  get url(): string {
    return `https://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    if (!this.server.listening) return;
    for (const res of this.hanging) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  addGroup(name: string, members: FakeUser[], parent?: FakeGroup): FakeGroup {
    const group: FakeGroup = { id: `g${this.nextId++}`, name, members, children: [] };
    (parent ? parent.children : this.groups).push(group);
    return group;
  }

  revokeTokens(): void {
    this.tokens.clear();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://fake');
    this.requests.push(`${req.method} ${url.pathname}${url.search}`);
    const body = await new Promise<string>((resolve) => {
      let text = '';
      req.on('data', (chunk: Buffer) => (text += chunk.toString()));
      req.on('end', () => resolve(text));
    });
    if (req.method === 'POST' && url.pathname === `/realms/${this.realm}/protocol/openid-connect/token`) {
      this.tokenRequests++;
      const form = new URLSearchParams(body);
      if (form.get('grant_type') !== 'client_credentials' || form.get('client_id') !== this.clientID || form.get('client_secret') !== this.clientSecret) {
        return this.json(res, 401, { error: 'unauthorized_client', error_description: 'Invalid client or Invalid client credentials' });
      }
      const token = randomBytes(12).toString('hex');
      this.tokens.add(token);
      return this.json(res, 200, { access_token: token, expires_in: this.options.tokenLifetimeS ?? 300, token_type: 'Bearer' });
    }
    const prefix = `/admin/realms/${this.realm}/groups`;
    if (req.method !== 'GET' || !url.pathname.startsWith(prefix)) return this.json(res, 404, { error: 'not found' });
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (!token || !this.tokens.has(token)) return this.json(res, 401, { error: 'HTTP 401 Unauthorized' });
    if (this.hangAdmin) {
      this.hanging.add(res);
      return;
    }
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (this.adminDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.adminDelayMs));
      if (this.adminStatus !== undefined) return this.json(res, this.adminStatus, { error: 'unknown_error' });
      const rest = url.pathname.slice(prefix.length);
      if (rest === '') return this.json(res, 200, this.search(url.searchParams.get('search') ?? '', url.searchParams.get('exact') === 'true'));
      const match = /^\/([^/]+)\/(members|children)$/.exec(rest);
      const group = match ? this.find(decodeURIComponent(match[1]!)) : undefined;
      if (!match || !group) return this.json(res, 404, { error: 'Could not find group by id' });
      const first = Number(url.searchParams.get('first') ?? '0');
      const max = Number(url.searchParams.get('max') ?? '100');
      const items = match[2] === 'members'
        ? group.members.map((u) => ({ id: u.username, username: u.username, ...(u.email === undefined ? {} : { email: u.email }) }))
        : group.children.map((g) => ({ id: g.id, name: g.name, path: `/${g.name}`, subGroupCount: g.children.length }));
      return this.json(res, 200, items.slice(first, first + max));
    } finally {
      this.inFlight--;
    }
  }

  /** Like Keycloak: top-level groups whose subtree holds a match, pruned to the matching paths. */
  private search(term: string, exact: boolean): unknown[] {
    const matches = (name: string) => (exact ? name === term : name.toLowerCase().includes(term.toLowerCase()));
    const prune = (group: FakeGroup, path: string): Record<string, unknown> | undefined => {
      const own = `${path}/${group.name}`;
      const subGroups = group.children.flatMap((child) => prune(child, own) ?? []);
      if (!matches(group.name) && subGroups.length === 0) return undefined;
      return { id: group.id, name: group.name, path: own, subGroups };
    };
    return this.groups.flatMap((g) => prune(g, '') ?? []);
  }

  private find(id: string, groups: readonly FakeGroup[] = this.groups): FakeGroup | undefined {
    for (const group of groups) {
      if (group.id === id) return group;
      const found = this.find(id, group.children);
      if (found) return found;
    }
    return undefined;
  }

  private json(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }
}
