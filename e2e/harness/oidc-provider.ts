/**
 * Test support: a minimal OIDC provider over HTTPS on loopback (a serving certificate from a test
 * CA), serving the discovery document and a JWKS of jose-generated keys, and signing tokens with
 * them. It counts requests, so tests can assert caching, deduplication and cooldowns.
 */
import { createServer, type Server } from 'node:https';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { createServingCert, type CertificateFiles } from '../controlplane/certs.ts';

export interface SigningKey {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  publicJwk: JWK;
}

export interface OidcProviderOptions {
  /** Directory for the serving certificate files. */
  dir: string;
  ca: CertificateFiles;
  /** Path of the issuer under the origin. @default '/realms/test' */
  realmPath?: string;
}

/**
 * One serving certificate per CA and directory, shared by the providers started with them: an
 * RSA key takes 0.3-0.8 s here, and a suite that starts a provider per test made one each time.
 */
const servingCerts = new Map<string, Promise<{ cert: string; key: string }>>();

function servingCertFor(options: Pick<OidcProviderOptions, 'dir' | 'ca'>): Promise<{ cert: string; key: string }> {
  const cacheKey = `${options.dir}\u0000${options.ca.certFile}`;
  let pending = servingCerts.get(cacheKey);
  if (pending === undefined) {
    pending = createServingCert(options.dir, options.ca, `oidc-${Date.now()}-${Math.random().toString(16).slice(2, 8)}`, { ips: ['127.0.0.1'] }).then(
      async (files) => ({ cert: await readFile(files.certFile, 'utf8'), key: await readFile(files.keyFile, 'utf8') }),
    );
    // A failed attempt is not kept: the next start tries again.
    pending.catch(() => servingCerts.delete(cacheKey));
    servingCerts.set(cacheKey, pending);
  }
  return pending;
}

export class TestOidcProvider {
  readonly requests = { discovery: 0, jwks: 0 };
  /** Overrides the `issuer` of the discovery document (to test a mismatch). */
  discoveryIssuer: string | undefined;
  /** When set, the JWKS endpoint answers with this status and no keys. */
  jwksStatus: number | undefined;
  /** When true, requests get response headers and half a body, then nothing (a hung IdP). */
  stall = false;
  private readonly keys: SigningKey[] = [];
  private counter = 0;

  private constructor(
    private readonly server: Server,
    readonly issuer: string,
  ) {}

  static async start(options: OidcProviderOptions): Promise<TestOidcProvider> {
    const realmPath = options.realmPath ?? '/realms/test';
    let provider: TestOidcProvider | undefined;
    const server = createServer(
      await servingCertFor(options),
      (req, res) => {
        if (provider !== undefined) provider.handle(realmPath, req.url ?? '', res);
        else res.end();
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    provider = new TestOidcProvider(server, `https://127.0.0.1:${port}${realmPath}`);
    return provider;
  }

  private handle(realmPath: string, url: string, res: import('node:http').ServerResponse): void {
    const json = (status: number, body: unknown) => {
      const text = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      if (this.stall) res.write(text.slice(0, text.length / 2));
      else res.end(text);
    };
    if (url === `${realmPath}/.well-known/openid-configuration`) {
      this.requests.discovery++;
      json(200, { issuer: this.discoveryIssuer ?? this.issuer, jwks_uri: `${this.issuer}/protocol/openid-connect/certs` });
    } else if (url === `${realmPath}/protocol/openid-connect/certs`) {
      this.requests.jwks++;
      if (this.jwksStatus !== undefined) json(this.jwksStatus, { error: 'unavailable' });
      else json(200, { keys: this.keys.map((key) => key.publicJwk) });
    } else {
      json(404, { error: 'not found' });
    }
  }

  /** Generates a key and publishes it in the JWKS. */
  async addKey(alg = 'RS256'): Promise<SigningKey> {
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
    const kid = `key-${++this.counter}`;
    const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
    const key: SigningKey = { kid, alg, privateKey, publicKey, publicJwk };
    this.keys.push(key);
    return key;
  }

  /** Removes a key from the JWKS (tokens signed with it no longer verify after a refresh). */
  removeKey(kid: string): void {
    const index = this.keys.findIndex((key) => key.kid === kid);
    if (index >= 0) this.keys.splice(index, 1);
  }

  /** A key that signs but is not published (an attacker's key, or one the IdP has not rotated in yet). */
  static async unpublishedKey(alg = 'RS256', kid = 'unpublished'): Promise<SigningKey> {
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
    return { kid, alg, privateKey, publicKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
  }

  /** Signs `claims` (defaults: this issuer, sub, exp in 5 min, iat now) with `key` (default: the first). */
  async sign(claims: JWTPayload, options: { key?: SigningKey; kid?: string | null } = {}): Promise<string> {
    const key = options.key ?? this.keys[0];
    if (key === undefined) throw new Error('no signing key; call addKey first');
    const now = Math.floor(Date.now() / 1000);
    const payload: JWTPayload = { iss: this.issuer, sub: 'user-1', iat: now, exp: now + 300, ...claims };
    for (const [name, value] of Object.entries(payload)) if (value === undefined) delete payload[name];
    const kid = options.kid === null ? undefined : (options.kid ?? key.kid);
    return new SignJWT(payload).setProtectedHeader({ alg: key.alg, typ: 'JWT', ...(kid !== undefined ? { kid } : {}) }).sign(key.privateKey);
  }

  /** The PEM (SPKI) of a published key, as an attacker would download it. */
  static publicKeyPem(key: SigningKey): Promise<string> {
    return exportSPKI(key.publicKey);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
