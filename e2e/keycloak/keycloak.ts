/**
 * A real Keycloak for the e2e suite: either a local `kc.sh start-dev` over HTTPS (distribution
 * fetched and cached by fetch.sh) or an existing instance named by E2E_KEYCLOAK_URL. Either way
 * the test realm is imported fresh from realm-breakglass.json through the admin API, and tests
 * get the same KeycloakHandle.
 *
 * Local runs: every run has its own work directory (TLS files, H2 database, transaction logs,
 * JVM temp files, log), so concurrent runs from different worktrees share only the read-only,
 * already augmented distribution. The issuer is pinned with --hostname, since dev mode would
 * otherwise take it from each request's Host header.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { API_VERSION } from '../../crds/index.ts';
import type { IdentityProvider } from '../../crds/identity-provider.ts';
import { createCa, createServingCert } from '../controlplane/certs.ts';
import { freePort } from '../controlplane/controlplane.ts';
import { adminClient, type AdminCredentials, type KeycloakAdmin } from './admin.ts';
import { copyTemplate, readTemplate, removeTemplate, saveTemplate, templateDirFor, type DbTemplate } from './db-template.ts';
import { expectJson, httpCall } from './http.ts';
import {
  BREAKGLASS_AUDIENCE,
  GROUP_SYNC_CLIENT_ID,
  KUBERNETES_AUDIENCE,
  UI_CLIENT_ID,
  readRealm,
  realmUsers,
  type KeycloakUser,
  type KeycloakUserName,
} from './realm.ts';

const here = dirname(fileURLToPath(import.meta.url));

export interface IdentityProviderObjectOptions {
  /** metadata.name; default `keycloak-e2e`. */
  name?: string;
  /** Where the group-sync client secret lives (see groupSyncSecret()); default breakglass-system. */
  secretNamespace?: string;
  /** Default `keycloak-group-sync`. */
  secretName?: string;
  /** false leaves out group sync (`groupSyncProvider`/`keycloak`); default true. */
  groupSync?: boolean;
}

/** A Secret manifest holding the group-sync client secret under the key `value`. */
export interface GroupSyncSecret {
  apiVersion: 'v1';
  kind: 'Secret';
  metadata: { name: string; namespace: string };
  type: 'Opaque';
  stringData: { value: string };
}

export interface KeycloakHandle {
  /** True when the harness started Keycloak itself (false with E2E_KEYCLOAK_URL). */
  local: boolean;
  /** `https://127.0.0.1:<port>` locally: the Keycloak base URL (IdentityProvider keycloak.baseURL). */
  baseUrl: string;
  /** `breakglass`. */
  realm: string;
  /** `<baseUrl>/realms/breakglass`: every token's `iss` and the IdentityProvider's oidc.authority. */
  issuer: string;
  /** PEM of the CA that signed Keycloak's serving certificate (locally the test CA); undefined: system trust. */
  caPem: string | undefined;
  /** Same CA as a file (e.g. for kubectl or a spoke API server), when there is one. */
  caFile: string | undefined;
  /** Public client of UI/CLI: standard flow + PKCE S256, direct access grants for tests. */
  uiClientId: string;
  /** `breakglass`: the IdentityProvider's expectedAudience, in every access token's `aud`. */
  audience: string;
  /** `kubernetes`: a spoke API server's audience, also in every access token's `aud`. */
  kubernetesAudience: string;
  /** alice (developers), bob and carol (approvers), dave (no group). */
  users: Record<KeycloakUserName, KeycloakUser>;
  /**
   * A fresh access token (password grant on the UI client). Tokens live 300 s: fetch one just
   * before use. Also takes credentials of a user created through `admin.createUser`.
   */
  accessToken(user: KeycloakUserName | { username: string; password: string }): Promise<string>;
  /** The realm's admin API as the master admin. */
  admin: KeycloakAdmin;
  /** Confidential client with a service account holding only realm-management view-users and query-groups. */
  groupSync: { clientId: string; clientSecret: string };
  /** An IdentityProvider custom object for this realm (with CA and Keycloak group sync). */
  identityProviderObject(options?: IdentityProviderObjectOptions): IdentityProvider;
  /** The Secret that `identityProviderObject`'s clientSecretRef names. */
  groupSyncSecret(options?: Pick<IdentityProviderObjectOptions, 'secretName' | 'secretNamespace'>): GroupSyncSecret;
  /**
   * Local only: milliseconds from spawning kc.sh to HTTPS discovery answering, and for the realm
   * import; whether the database came from the cached template (see db-template.ts).
   */
  timings: { startToReadyMs: number; realmImportMs: number; databaseFromTemplate: boolean };
  /** Local only: process id of the supervisor (kc.sh and the JVM are in its process group). */
  supervisorPid: number | undefined;
  /** Local only: Keycloak's log file. */
  logFile: string | undefined;
  /** Stops the local Keycloak (and deletes its work directory), or deletes the realm of an external one. */
  stop(): Promise<void>;
}

export interface StartKeycloakOptions {
  log?: (line: string) => void;
  /** How long to wait for the local Keycloak to answer; default 10 minutes (a 2-core machine under load is slow). */
  readyTimeoutMs?: number;
}

const DEFAULT_SECRET = { name: 'keycloak-group-sync', namespace: 'breakglass-system' };

async function fetchDistribution(): Promise<{ home: string; javaHome: string }> {
  const stdout = await new Promise<string>((resolve, reject) => {
    const child = spawn('bash', [join(here, 'fetch.sh')], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`e2e/keycloak/fetch.sh failed (exit ${code})`))));
  });
  const value = (key: string): string => stdout.split('\n').find((l) => l.startsWith(`${key}=`))?.slice(key.length + 1) ?? '';
  const home = value('KEYCLOAK_HOME');
  if (!home) throw new Error(`e2e/keycloak/fetch.sh printed no KEYCLOAK_HOME:\n${stdout}`);
  return { home, javaHome: value('JAVA_HOME') };
}

/** Environment for kc.sh: ours, without KC_* / JAVA_OPTS* of the caller that could change build options. */
function keycloakEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^(KC_|KEYCLOAK_|JAVA_OPTS|JAVA_HOME$)/.test(key)) env[key] = value;
  }
  return { ...env, ...extra };
}

const liveSupervisors = new Set<ChildProcess>();
let exitHookInstalled = false;

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    /* already gone */
  }
}

/**
 * On a normal exit, TERM the supervisors right away; on any death of this process (signal,
 * SIGKILL) they notice the parent is gone within half a second and stop Keycloak themselves.
 */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of liveSupervisors) killGroup(child, 'SIGTERM');
  });
}

async function stopSupervisor(child: ChildProcess): Promise<void> {
  liveSupervisors.delete(child);
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // Only the supervisor: it TERMs kc.sh (which forwards to the JVM) and kills leftovers itself.
  child.kill('SIGTERM');
  const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
}

async function logTail(file: string, lines = 40): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.split('\n').filter((l) => !l.startsWith('WARNING: ')).slice(-lines).join('\n');
}

interface Instance {
  local: boolean;
  baseUrl: string;
  caPem: string | undefined;
  caFile: string | undefined;
  credentials: AdminCredentials;
  startToReadyMs: number;
  supervisorPid: number | undefined;
  logFile: string | undefined;
  /** True when the database was copied from the template (no schema creation at start). */
  fromTemplate: boolean;
  /**
   * Stops Keycloak. `beforeStop` (deleting the test realm) runs first when this run is to
   * leave its database as the template.
   */
  stop(beforeStop?: () => Promise<void>): Promise<void>;
}

interface Distribution {
  home: string;
  javaHome: string;
}

async function startLocalInstance(
  dist: Distribution,
  template: DbTemplate | undefined,
  options: StartKeycloakOptions,
  log: (line: string) => void,
): Promise<Instance> {
  const workDir = await mkdtemp(join(tmpdir(), 'breakglass-kc-'));
  await Promise.all(['db', 'tmp'].map((d) => mkdir(join(workDir, d))));
  if (template) await copyTemplate(template, join(workDir, 'db'));
  const ca = await createCa(workDir, 'keycloak-test-ca');
  const serving = await createServingCert(workDir, ca, 'keycloak', { ips: ['127.0.0.1'], dns: ['localhost'] });
  const caPem = await readFile(ca.certFile, 'utf8');
  const [httpsPort, httpPort, managementPort] = await Promise.all([freePort(), freePort(), freePort()]);
  const baseUrl = `https://127.0.0.1:${httpsPort}`;
  // A template database already has its master admin; a fresh one gets a new random one.
  const credentials = template?.credentials ?? { username: 'admin', password: randomBytes(16).toString('hex') };
  const logFile = join(workDir, 'keycloak.log');

  const env = keycloakEnv({
    ...(dist.javaHome ? { JAVA_HOME: dist.javaHome } : {}),
    ...(template ? {} : { KC_BOOTSTRAP_ADMIN_USERNAME: credentials.username, KC_BOOTSTRAP_ADMIN_PASSWORD: credentials.password }),
    // The writable paths of a start-dev, moved out of the shared distribution into this run.
    JAVA_OPTS_APPEND: [
      `-Dkc.db-url-path=${join(workDir, 'db')}`,
      `-Dquarkus.transaction-manager.object-store.directory=${join(workDir, 'transaction-logs')}`,
      `-Djava.io.tmpdir=${join(workDir, 'tmp')}`,
    ].join(' '),
  });
  const args = [
    'start-dev',
    '--http-host=127.0.0.1',
    // start-dev listens on HTTP even with --http-enabled=false: give it a free port of its own.
    `--http-port=${httpPort}`,
    `--https-port=${httpsPort}`,
    `--https-certificate-file=${serving.certFile}`,
    `--https-certificate-key-file=${serving.keyFile}`,
    `--http-management-port=${managementPort}`,
    `--hostname=${baseUrl}`,
  ];
  const started = performance.now();
  // detached: own process group, which the supervisor cleans up as a whole.
  const supervisor = spawn(join(here, 'supervise.sh'), [String(process.pid), logFile, join(dist.home, 'bin', 'kc.sh'), ...args], {
    detached: true,
    stdio: 'ignore',
    env,
  });
  supervisor.unref();
  liveSupervisors.add(supervisor);
  installExitHook();

  let stopped = false;
  const stop = async (beforeStop?: () => Promise<void>): Promise<void> => {
    if (stopped) return;
    stopped = true;
    const makeTemplate = !template && beforeStop !== undefined && !process.env.E2E_KEYCLOAK_NO_DB_TEMPLATE;
    // Bounded: the root hooks' afterAll waits for this; no template is better than a red run.
    const prepared =
      makeTemplate &&
      (await Promise.race([
        beforeStop().then(() => true, () => false),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 60_000).unref()),
      ]));
    await stopSupervisor(supervisor);
    // Only a database Keycloak closed itself is worth copying.
    if (prepared && (await readFile(logFile, 'utf8').catch(() => '')).includes('Keycloak stopped in')) {
      const dir = templateDirFor(dist.home);
      if (await saveTemplate(dir, join(workDir, 'db'), credentials)) log(`saved the database as template ${dir} for faster starts`);
    }
    if (!process.env.E2E_KEEP_TMP) await rm(workDir, { recursive: true, force: true });
  };

  const timeout = options.readyTimeoutMs ?? 10 * 60_000;
  const deadline = Date.now() + timeout;
  for (;;) {
    if (supervisor.exitCode !== null || supervisor.signalCode !== null) {
      const tail = await logTail(logFile);
      await stop();
      throw new Error(`Keycloak exited during startup; last log lines:\n${tail}`);
    }
    const res = await httpCall(`${baseUrl}/realms/master/.well-known/openid-configuration`, { ca: caPem, timeoutMs: 5000 }).catch(
      () => undefined,
    );
    if (res?.status === 200) break;
    if (Date.now() > deadline) {
      const tail = await logTail(logFile);
      await stop();
      throw new Error(`Keycloak not ready after ${timeout / 1000} s; last log lines:\n${tail}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const startToReadyMs = performance.now() - started;
  const text = await readFile(logFile, 'utf8').catch(() => '');
  if (text.includes('augmentation completed')) {
    // Harmless for this run, but it means fetch.sh's build and start-dev's options disagree.
    log('warning: start-dev re-augmented the shared distribution; check e2e/keycloak/fetch.sh build options');
  }
  log(
    `local Keycloak ready at ${baseUrl} in ${(startToReadyMs / 1000).toFixed(1)} s (${template ? 'database from template' : 'new database'}, ` +
      `dist ${dist.home}, java ${dist.javaHome || 'on PATH'}, work dir ${workDir})`,
  );
  return {
    local: true,
    baseUrl,
    caPem,
    caFile: ca.certFile,
    credentials,
    startToReadyMs,
    supervisorPid: supervisor.pid,
    logFile,
    fromTemplate: template !== undefined,
    stop,
  };
}

/** A local Keycloak, from the database template when there is one; a broken template is dropped. */
async function startLocal(options: StartKeycloakOptions, log: (line: string) => void): Promise<Instance> {
  const dist = await fetchDistribution();
  const templateDir = templateDirFor(dist.home);
  const template = process.env.E2E_KEYCLOAK_NO_DB_TEMPLATE ? undefined : await readTemplate(templateDir);
  if (!template) return startLocalInstance(dist, undefined, options, log);
  try {
    const instance = await startLocalInstance(dist, template, options, log);
    // The admin login proves the template's credentials still match its database.
    await adminClient({ baseUrl: instance.baseUrl, realm: 'master', credentials: instance.credentials, ca: instance.caPem })
      .token()
      .catch(async (error: unknown) => {
        await instance.stop();
        throw error;
      });
    return instance;
  } catch (error) {
    log(`starting from the database template failed (${String(error).split('\n')[0]}); removing it and starting with a new database`);
    await removeTemplate(templateDir);
    return startLocalInstance(dist, undefined, options, log);
  }
}

function externalInstance(url: string): Instance {
  const username = process.env.E2E_KEYCLOAK_ADMIN_USER;
  const password = process.env.E2E_KEYCLOAK_ADMIN_PASSWORD;
  if (!username || !password) {
    throw new Error('E2E_KEYCLOAK_URL needs E2E_KEYCLOAK_ADMIN_USER and E2E_KEYCLOAK_ADMIN_PASSWORD (a master realm admin)');
  }
  const caFile = process.env.E2E_KEYCLOAK_CA_FILE || undefined;
  return {
    local: false,
    baseUrl: url.replace(/\/+$/, ''),
    caPem: caFile ? readFileSync(caFile, 'utf8') : undefined,
    caFile,
    credentials: { username, password },
    startToReadyMs: 0,
    supervisorPid: undefined,
    logFile: undefined,
    fromTemplate: false,
    stop: async () => undefined,
  };
}

/**
 * Starts a local Keycloak (or uses E2E_KEYCLOAK_URL), imports the test realm afresh and sets a
 * new group-sync client secret. Callers own the result and must call stop(); tests use
 * useKeycloak() from e2e/harness/keycloak.ts instead.
 */
export async function startKeycloak(options: StartKeycloakOptions = {}): Promise<KeycloakHandle> {
  const log = options.log ?? ((line: string) => process.stderr.write(`[keycloak] ${line}\n`));
  const external = process.env.E2E_KEYCLOAK_URL;
  const instance = external ? externalInstance(external) : await startLocal(options, log);
  const realmJson = readRealm();
  const realm = realmJson.realm;
  const admin = adminClient({ baseUrl: instance.baseUrl, realm, credentials: instance.credentials, ca: instance.caPem });
  try {
    const importStarted = performance.now();
    // Delete first: an external instance may still hold the realm of an earlier run.
    await admin.deleteRealm();
    await admin.importRealm(realmJson);
    const realmImportMs = performance.now() - importStarted;
    // The realm file carries no secret; a fresh one per run, known only to this process.
    const clientSecret = await admin.regenerateClientSecret(GROUP_SYNC_CLIENT_ID);
    const discovery = expectJson<{ issuer: string }>(
      `discovery of realm ${realm}`,
      await httpCall(`${instance.baseUrl}/realms/${realm}/.well-known/openid-configuration`, { ca: instance.caPem, timeoutMs: 120_000 }),
    );
    const issuer = discovery.issuer;
    if (instance.local && issuer !== `${instance.baseUrl}/realms/${realm}`) {
      throw new Error(`Keycloak issuer ${issuer} is not the pinned ${instance.baseUrl}/realms/${realm}`);
    }
    log(`realm ${realm} imported in ${(realmImportMs / 1000).toFixed(1)} s; issuer ${issuer}`);
    const users = realmUsers(realmJson);
    const caPem = instance.caPem;

    const handle: KeycloakHandle = {
      local: instance.local,
      baseUrl: instance.baseUrl,
      realm,
      issuer,
      caPem,
      caFile: instance.caFile,
      uiClientId: UI_CLIENT_ID,
      audience: BREAKGLASS_AUDIENCE,
      kubernetesAudience: KUBERNETES_AUDIENCE,
      users,
      async accessToken(user) {
        const creds = typeof user === 'string' ? users[user] : user;
        const res = await httpCall(`${instance.baseUrl}/realms/${realm}/protocol/openid-connect/token`, {
          ca: caPem,
          form: { grant_type: 'password', client_id: UI_CLIENT_ID, username: creds.username, password: creds.password, scope: 'openid' },
          timeoutMs: 120_000,
        });
        return expectJson<{ access_token: string }>(`password grant for ${creds.username}`, res).access_token;
      },
      admin,
      groupSync: { clientId: GROUP_SYNC_CLIENT_ID, clientSecret },
      identityProviderObject(opts = {}) {
        const secret = { name: opts.secretName ?? DEFAULT_SECRET.name, namespace: opts.secretNamespace ?? DEFAULT_SECRET.namespace };
        return {
          apiVersion: API_VERSION,
          kind: 'IdentityProvider',
          metadata: { name: opts.name ?? 'keycloak-e2e' },
          spec: {
            displayName: 'Keycloak (e2e)',
            issuer,
            oidc: {
              authority: issuer,
              clientID: UI_CLIENT_ID,
              expectedAudience: BREAKGLASS_AUDIENCE,
              ...(caPem ? { certificateAuthority: caPem } : {}),
            },
            ...(opts.groupSync === false
              ? {}
              : {
                  groupSyncProvider: 'Keycloak' as const,
                  keycloak: {
                    baseURL: instance.baseUrl,
                    realm,
                    clientID: GROUP_SYNC_CLIENT_ID,
                    clientSecretRef: { ...secret, key: 'value' },
                    ...(caPem ? { certificateAuthority: caPem } : {}),
                  },
                }),
          },
        };
      },
      groupSyncSecret(opts = {}) {
        return {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: opts.secretName ?? DEFAULT_SECRET.name, namespace: opts.secretNamespace ?? DEFAULT_SECRET.namespace },
          type: 'Opaque',
          stringData: { value: clientSecret },
        };
      },
      timings: { startToReadyMs: instance.startToReadyMs, realmImportMs, databaseFromTemplate: instance.fromTemplate },
      supervisorPid: instance.supervisorPid,
      logFile: instance.logFile,
      async stop() {
        if (!instance.local) await admin.deleteRealm().catch(() => undefined);
        // Locally, a run on a new database deletes the test realm and leaves the rest as the template.
        await instance.stop(() => admin.deleteRealm());
      },
    };
    return handle;
  } catch (error) {
    await instance.stop();
    throw error;
  }
}
