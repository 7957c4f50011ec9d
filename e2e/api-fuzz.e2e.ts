/**
 * Property-based fuzzing of the REST API from its own OpenAPI document (schemathesis, from PyPI,
 * installed once per version outside the repository by e2e/fuzz/install.sh; E2E_SCHEMATHESIS
 * names an existing `st` instead). At least 1,000 generated requests against a real replica on
 * the real API server: no 5xx, and every status, content type, header and body as documented.
 *
 * The replica keeps the production limit per user (50/s, burst 100); its limit per address
 * (production 10/s, burst 20) is raised to 200/s (--api-rate-limit-per-address), which let the
 * fuzzer run five times faster than under 10/s. The fuzzer is paced below the per-user limit, so that its requests
 * reach the routes instead of mostly collecting 429s; at least 1,000 answers must be something
 * other than 429. The per-user limit itself is proven separately: a burst of one user gets 429
 * with a documented Retry-After while another user is served, and the first is served again once
 * Retry-After has passed (the per-address limit, the same limiter, in api-router.test.ts).
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { expect } from 'chai';
import { API_VERSION, GROUP, VERSION, plurals } from '../crds/index.ts';
import { installCrds } from '../crds/install.ts';
import { createCa } from './controlplane/certs.ts';
import { testCluster } from './harness/cluster.ts';
import { TestOidcProvider } from './harness/oidc-provider.ts';
import { ApiClient } from './harness/api-client.ts';
import { Replica } from './harness/replicas.ts';
import { eventually, sleep } from './harness/wait.ts';

const here = dirname(fileURLToPath(import.meta.url));
/** The fuzz replica's limit per address (its open routes and refused tokens), above the fuzzer's pace. */
const PER_ADDRESS_LIMIT = '200/s,400';
/** Fuzzer requests per second: under the limit per user (50/s) that its token's requests count against. */
const FUZZ_RATE_PER_SECOND = 40;

async function schemathesis(): Promise<string> {
  if (process.env.E2E_SCHEMATHESIS) return process.env.E2E_SCHEMATHESIS;
  const { stdout } = await promisify(execFile)('bash', [join(here, 'fuzz', 'install.sh')], { timeout: 600_000 });
  return stdout.trim().split('\n').pop() as string;
}

function run(command: string, args: string[], timeoutMs: number): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    // In a temporary directory: schemathesis writes its crash cache into the working directory.
    const child = spawn(command, args, { cwd: tmpdir(), stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('REST API fuzzing from the OpenAPI document (schemathesis)', function () {
  this.timeout(900_000);
  const suffix = randomBytes(3).toString('hex');
  const idpName = `fuzz-${suffix}`;
  let kc: KubeConfig;
  let dir: string;
  let oidc: TestOidcProvider;
  let replica: Replica | undefined;
  let st: string;
  const custom = () => kc.makeApiClient(CustomObjectsApi);

  before(async function () {
    this.timeout(900_000);
    st = await schemathesis();
    const tc = testCluster();
    kc = tc.admin.kubeConfig;
    await installCrds(kc);
    const namespace = await tc.createNamespace('api-fuzz');
    dir = await mkdtemp(join(tmpdir(), 'api-fuzz-'));
    const ca = await createCa(dir);
    oidc = await TestOidcProvider.start({ dir, ca, realmPath: '/realms/fuzz' });
    await oidc.addKey('ES256');
    await custom().createClusterCustomObject({
      group: GROUP,
      version: VERSION,
      plural: plurals.IdentityProvider,
      body: {
        apiVersion: API_VERSION,
        kind: 'IdentityProvider',
        metadata: { name: idpName },
        spec: { issuer: oidc.issuer, oidc: { authority: oidc.issuer, clientID: 'ui', expectedAudience: 'breakglass', certificateAuthority: await readFile(ca.certFile, 'utf8') } },
      },
    });
    await custom().createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      plural: plurals.BreakglassEscalation,
      namespace,
      body: {
        apiVersion: API_VERSION,
        kind: 'BreakglassEscalation',
        metadata: { name: 'fuzz' },
        spec: { escalatedGroup: 'fuzz-admin', allowed: { clusters: ['*'], groups: ['developers'] }, approvers: { groups: ['approvers'] } },
      },
    });
    replica = await Replica.start({
      name: `fuzz-${suffix}`,
      kubeconfigPath: tc.admin.kubeconfigPath,
      env: {
        LEADER_ELECT_NAMESPACE: namespace,
        ENABLE_WEBHOOKS: 'false',
        ENABLE_CLEANUP: 'false',
        DISABLE_SESSION_RATE_LIMIT: 'true',
        API_RATE_LIMIT_PER_ADDRESS: PER_ADDRESS_LIMIT,
      },
    });
  });

  after(async () => {
    await replica?.stop();
    await custom()
      .deleteClusterCustomObject({ group: GROUP, version: VERSION, plural: plurals.IdentityProvider, name: idpName })
      .catch(() => undefined);
    await oidc?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('answers at least 1,000 generated requests without a 5xx, each as documented', async () => {
    const r = replica as Replica;
    const base = `http://127.0.0.1:${r.ports.api}`;
    // A developer who may request (and so reaches the deep paths of POST), valid for the whole run.
    const token = await oidc.sign({ sub: 'fuzzer', email: 'fuzzer@example.com', groups: ['developers', 'approvers'], aud: 'breakglass', exp: Math.floor(Date.now() / 1000) + 3600 });
    await eventually('the replica to verify tokens', 30_000, async () => {
      const answer = await fetch(`${base}/api/breakglassEscalations`, { headers: { authorization: `Bearer ${token}` } });
      return answer.status === 200 ? true : undefined;
    });
    const before = r.linesWith('http_request').length;
    const result = await run(
      st,
      [
        'run',
        `${base}/api/openapi.json`,
        '--url',
        base,
        '--header',
        `Authorization: Bearer ${token}`,
        '--checks',
        'not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance',
        '--phases',
        'examples,coverage,fuzzing',
        '--max-examples',
        '120',
        '--workers',
        '2',
        // Below the per-user limit (50/s), so that 429 stays rare.
        '--rate-limit',
        `${FUZZ_RATE_PER_SECOND}/s`,
        '--seed',
        '20261201',
        '--suppress-health-check',
        'all',
      ],
      800_000,
    );
    const requests = r.linesWith('http_request').slice(before);
    const serverErrors = requests.filter((l) => Number(l.status) >= 500);
    expect(serverErrors.map((l) => `${String(l.method)} ${String(l.path)} ${String(l.status)}`), result.output.slice(-4000)).to.deep.equal([]);
    // Every generated case must pass every check. A crash inside the fuzzer's own data generation
    // (schemathesis reports it as a "Runtime Error", seen under heavy machine load) says nothing
    // about the API, as long as all the cases it did generate passed.
    const allPassed = /^\s*(\d+) generated, \1 passed\s*$/m.test(result.output);
    const fuzzerCrashOnly = allPassed && /Runtime Error: \d+/.test(result.output);
    expect(result.code === 0 || fuzzerCrashOnly, result.output.slice(-6000)).to.equal(true);
    expect(allPassed, result.output.slice(-6000)).to.equal(true);
    const byStatus = new Map<string, number>();
    for (const l of requests) byStatus.set(String(l.status), (byStatus.get(String(l.status)) ?? 0) + 1);
    const counts = JSON.stringify(Object.fromEntries([...byStatus].sort()));
    console.log(`      ${requests.length} requests, by status: ${counts}`);
    // A 429 tests nothing but the limiter: the requests that reached a route must be 1,000 or more.
    const processed = requests.filter((l) => Number(l.status) !== 429).length;
    expect(processed, `requests processed (not 429); by status ${counts}`).to.be.at.least(1000);
  });

  it('limits each user: a burst gets 429 with the documented Retry-After, another user is served, and after Retry-After the first is again', async () => {
    const r = replica as Replica;
    const api = await ApiClient.forReplica(r);
    const exp = Math.floor(Date.now() / 1000) + 3600;
    const burster = await oidc.sign({ sub: 'burster', email: 'burster@example.com', groups: ['developers'], aud: 'breakglass', exp });
    const bystander = await oidc.sign({ sub: 'bystander', email: 'bystander@example.com', groups: ['developers'], aud: 'breakglass', exp });
    // Many at once, until the bucket (100, refilled at 50/s) is empty. Every answer, 429 included,
    // is checked against the document, the Retry-After header with it (ApiClient).
    const statuses: number[] = [];
    let limited: Awaited<ReturnType<ApiClient['call']>> | undefined;
    const started = performance.now();
    while (limited === undefined && statuses.length < 3000) {
      const answers = await Promise.all(Array.from({ length: 50 }, () => api.call(r, 'GET', '/api/breakglassEscalations', burster)));
      statuses.push(...answers.map((a) => a.status));
      limited = answers.find((a) => a.status === 429);
    }
    expect(limited, `no 429 after ${statuses.length} requests`).to.not.equal(undefined);
    expect(statuses.filter((s) => s !== 200 && s !== 429), 'other statuses').to.deep.equal([]);
    const served = statuses.filter((s) => s === 200).length;
    expect(served, 'served before the limit').to.be.at.least(100);
    // No more than the bucket and its refill at 50/s over the burst allow (one batch of slack):
    // the replica runs the production per-user limit, not the fuzzer's raised per-address one.
    const elapsedS = (performance.now() - started) / 1000;
    expect(served, `served in ${elapsedS.toFixed(1)} s`).to.be.at.most(100 + Math.ceil(50 * elapsedS) + 50);
    const answer = limited!;
    expect(answer.body).to.deep.equal({ error: 'Rate limit exceeded, please try again later', code: 'TOO_MANY_REQUESTS' });
    const retryAfter = Number(answer.headers.get('retry-after'));
    expect(retryAfter).to.be.within(1, 60);
    expect((await api.call(r, 'GET', '/api/breakglassEscalations', bystander)).status, 'another user meanwhile').to.equal(200);
    await sleep(retryAfter * 1000);
    expect((await api.call(r, 'GET', '/api/breakglassEscalations', burster)).status, `after Retry-After (${retryAfter} s)`).to.equal(200);
  });
});
