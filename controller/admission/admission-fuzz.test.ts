/**
 * Fuzzing the admission webhook over real HTTP with the real validators: random bytes, truncated
 * and deeply nested JSON, wrong types in every field, huge strings and valid reviews carrying
 * garbage objects of every kind. No answer may be 5xx, no validator may throw, and the server
 * must still answer afterwards. The generator is seeded; a failure prints the seed and the input.
 */
import { Agent, createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import * as validation from '../../crds/validation/index.ts';
import type { AdmissionInput, AdmissionKind, ObjectLookup } from '../../crds/validation/index.ts';
import type { BreakglassEscalation, IdentityProvider } from '../../crds/index.ts';
import { silentLogger } from '../observability/logger.ts';
import { ADMISSION_PATHS, DEFAULT_ADMISSION_BODY_LIMIT, createAdmissionApp, type AdmissionValidator } from './admission-app.ts';
import { sampleEscalation, sampleIdentityProvider, sampleOf } from './samples.test-support.ts';
import { sendRaw } from './client.test-support.ts';

const SEED = Number(process.env['ADMISSION_FUZZ_SEED'] ?? 20240611);
const KINDS = Object.keys(ADMISSION_PATHS) as AdmissionKind[];
const GROUP = 'breakglass.t-caas.telekom.com';

/** mulberry32: small, seedable, good enough to vary inputs. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FIELD_NAMES = [
  'cluster', 'user', 'grantedGroup', 'maxValidFor', 'idleTimeout', 'retainFor', 'approvalTimeout',
  'scheduledStartTime', 'identityProviderName', 'identityProviderIssuer', 'allowed', 'clusters', 'groups',
  'approvers', 'users', 'hiddenFromUI', 'escalatedGroup', 'clusterConfigRefs', 'denyPolicyRefs', 'oidc',
  'authority', 'issuer', 'clientID', 'expectedAudience', 'keycloak', 'groupSyncProvider', 'rules', 'verbs',
  'apiGroups', 'resources', 'namespaces', 'patterns', 'selectorTerms', 'matchLabels', 'matchExpressions',
  'podSecurityRules', 'thresholds', 'maxScore', 'impersonationRules', 'identities', 'actionVerbs',
  'kubeconfigSecretRef', 'oidcAuth', 'oidcFromIdentityProvider', 'authType', 'identityProviderRefs', 'scopes',
  'name', 'namespace', 'key', 'state', 'status', 'spec', 'metadata', 'lastActivity', 'activityCount',
  'blockSelfApproval', 'allowedIdentityProviders', 'allowedIdentityProvidersForRequests',
  'allowedIdentityProvidersForApprovers', 'sessionLimitsOverride', 'mailProvider', 'precedence', 'disabled',
  'deletionTimestamp', 'finalizers', 'labels',
  'constructor', 'toString', 'valueOf', 'hasOwnProperty', 'length', '0', '',
];
const STRINGS = [
  '', ' ', '400d', '365d', '366d', '1h', '0s', '-5m', '1m', '30s', '1d2h', '99999999999999999999h', '1.5.5h', 'h',
  'd', '5', 'https://', 'https://idp.example.com/', 'http://insecure', '*', 'prod-*', '[', '\\', 'a/b', 'x'.repeat(300),
  'Approved', 'Pending', 'Expired', '2020-01-01T00:00:00Z', '2999-01-01T00:00:00Z', 'not-a-date', '\u0000', '\ud800',
  '😀', 'Ω≈ç√', 'cluster-admin', 'alice@example.com', 'None', 'Keycloak', 'OIDC', 'Kubeconfig', 'true', 'null',
];

class Fuzz {
  readonly random: () => number;
  constructor(seed: number) {
    this.random = prng(seed);
  }
  int(max: number): number {
    return Math.floor(this.random() * max);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }
  string(): string {
    if (this.random() < 0.7) return this.pick(STRINGS);
    let text = '';
    const length = this.int(40);
    for (let i = 0; i < length; i++) text += String.fromCharCode(this.int(0x3000));
    return text;
  }
  scalar(): unknown {
    return this.pick<() => unknown>([
      () => null,
      () => this.random() < 0.5,
      () => this.int(1000) - 500,
      () => this.random() * 1e6,
      () => this.pick([0, -1, 1, 2 ** 31, 2 ** 53 + 1, 1e308, -1e308, Number.MIN_VALUE]),
      () => this.string(),
    ])();
  }
  value(depth = 0): unknown {
    const r = this.random();
    if (depth > 4 || r < 0.45) return this.scalar();
    if (r < 0.7) return Array.from({ length: this.int(4) }, () => this.value(depth + 1));
    const object: Record<string, unknown> = {};
    const keys = this.int(5);
    for (let i = 0; i < keys; i++) object[this.pick(FIELD_NAMES)] = this.value(depth + 1);
    return object;
  }
  /** Replaces, deletes or adds one value somewhere inside the object. */
  mutate(root: Record<string, unknown>): void {
    let node: Record<string, unknown> = root;
    for (let depth = 0; depth < 6; depth++) {
      const keys = Object.keys(node);
      const key = keys.length > 0 && this.random() < 0.8 ? this.pick(keys) : this.pick(FIELD_NAMES);
      const child = node[key];
      if (child !== null && typeof child === 'object' && this.random() < 0.6) {
        node = child as Record<string, unknown>;
        continue;
      }
      if (this.random() < 0.2) delete node[key];
      else node[key] = this.value(2);
      return;
    }
  }
}

interface FuzzCase {
  label: string;
  path: string;
  body: string | Buffer;
  contentType?: string;
}

function reviewOf(kind: AdmissionKind, uid: string, request: Record<string, unknown>): Record<string, unknown> {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: { uid, kind: { group: GROUP, version: 'v1alpha1', kind }, operation: 'CREATE', ...request },
  };
}

function buildCases(fuzz: Fuzz): FuzzCase[] {
  const cases: FuzzCase[] = [];
  const path = (kind: AdmissionKind) => ADMISSION_PATHS[kind];

  // 1. random bytes, as JSON and as other content types
  for (let i = 0; i < 150; i++) {
    const bytes = Buffer.from(Array.from({ length: fuzz.int(2048) }, () => fuzz.int(256)));
    cases.push({ label: `random bytes #${i}`, path: path(fuzz.pick(KINDS)), body: bytes, ...(i % 10 === 0 ? { contentType: 'application/octet-stream' } : {}) });
  }

  // 2. valid reviews cut off at a random byte
  for (let i = 0; i < 150; i++) {
    const kind = fuzz.pick(KINDS);
    const text = JSON.stringify(reviewOf(kind, `trunc-${i}`, { object: sampleOf(kind, `t${i}`) }));
    cases.push({ label: `truncated #${i}`, path: path(kind), body: text.slice(0, fuzz.int(text.length)) });
  }

  // 3. deeply nested JSON: whole body, inside the object, inside spec fields
  for (let i = 0; i < 30; i++) {
    const kind = fuzz.pick(KINDS);
    const depth = [50, 99, 100, 101, 1_000, 10_000, 200_000][i % 7] as number;
    const nested = i % 2 === 0 ? `${'['.repeat(depth)}1${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
    const where = i % 3;
    const body =
      where === 0
        ? nested
        : where === 1
          ? JSON.stringify(reviewOf(kind, `deep-${i}`, { object: 0 })).replace('"object":0', `"object":{"metadata":{"name":"d"},"spec":${nested}}`)
          : JSON.stringify(reviewOf(kind, `deep-${i}`, { object: sampleOf(kind, 'd') })).replace('"spec":{', `"spec":{"cluster":${nested},"escalatedGroup":${nested},`);
    cases.push({ label: `nested depth ${depth} #${i}`, path: path(kind), body });
  }

  // 4. wrong types in every field of the review
  const wrongValues: unknown[] = [null, 0, -1, 1e308, true, 'str', '', [], {}, [1, 2], { x: 1 }];
  const fieldSetters: Array<[string, (review: Record<string, unknown>, value: unknown) => void]> = [
    ['apiVersion', (r, v) => { r['apiVersion'] = v; }],
    ['kind', (r, v) => { r['kind'] = v; }],
    ['request', (r, v) => { r['request'] = v; }],
    ...['uid', 'kind', 'operation', 'object', 'oldObject', 'name', 'namespace', 'dryRun', 'userInfo', 'resource'].map(
      (field): [string, (review: Record<string, unknown>, value: unknown) => void] => [
        `request.${field}`,
        (r, v) => { (r['request'] as Record<string, unknown>)[field] = v; },
      ],
    ),
    ...['group', 'version', 'kind'].map((field): [string, (review: Record<string, unknown>, value: unknown) => void] => [
      `request.kind.${field}`,
      (r, v) => { ((r['request'] as Record<string, unknown>)['kind'] as Record<string, unknown>)[field] = v; },
    ]),
  ];
  for (const [field, set] of fieldSetters) {
    for (const value of wrongValues) {
      const kind = fuzz.pick(KINDS);
      const review = reviewOf(kind, `types-${field}`, { operation: fuzz.pick(['CREATE', 'UPDATE']), object: sampleOf(kind, 'w'), oldObject: sampleOf(kind, 'w') });
      set(review, value);
      cases.push({ label: `${field} = ${JSON.stringify(value)}`, path: path(kind), body: JSON.stringify(review) });
    }
  }

  // 5. huge strings: in the uid, the name, spec fields; and bodies just over the limit
  for (let i = 0; i < 20; i++) {
    const kind = fuzz.pick(KINDS);
    const size = [1_000, 100_000, 1_000_000, 2_000_000, DEFAULT_ADMISSION_BODY_LIMIT + 1][i % 5] as number;
    const huge = 'x'.repeat(size);
    const object = sampleOf(kind, i % 2 === 0 ? huge : 'h');
    const spec = object.spec;
    for (const key of Object.keys(spec)) if (typeof spec[key] === 'string') spec[key] = huge;
    const review = reviewOf(kind, i % 4 === 0 ? huge : `huge-${i}`, { object });
    cases.push({ label: `huge string ${size} #${i}`, path: path(kind), body: JSON.stringify(review) });
  }

  // 6. prototype-named keys, which JSON.parse turns into own properties
  for (const kind of KINDS) {
    for (const key of ['__proto__', 'constructor', 'prototype']) {
      const body = JSON.stringify(reviewOf(kind, `proto-${key}`, { object: sampleOf(kind, 'p') }))
        .replace('"spec":{', `"spec":{"${key}":{"polluted":true,"length":5},"allowed":{"${key}":[1]},`);
      cases.push({ label: `${key} key in ${kind}`, path: path(kind), body });
    }
  }

  // 7. valid reviews with garbage objects for each kind and operation
  for (let i = 0; i < 650; i++) {
    const kind = KINDS[i % KINDS.length] as AdmissionKind;
    const object: Record<string, unknown> = sampleOf(kind, `g${i}`) as unknown as Record<string, unknown>;
    const strategy = i % 5;
    if (strategy === 0) object['spec'] = fuzz.value(0);
    else if (strategy === 1) object['metadata'] = fuzz.value(0);
    else if (strategy === 2) object['status'] = fuzz.value(0);
    const mutations = 1 + fuzz.int(4);
    for (let m = 0; m < mutations; m++) fuzz.mutate(object);
    const operation = fuzz.pick(['CREATE', 'CREATE', 'UPDATE', 'UPDATE', 'DELETE', 'CONNECT']);
    const oldObject: Record<string, unknown> = sampleOf(kind, `g${i}`) as unknown as Record<string, unknown>;
    if (fuzz.random() < 0.5) fuzz.mutate(oldObject);
    const request: Record<string, unknown> = { operation, object: operation === 'DELETE' ? null : object };
    if (operation !== 'CREATE') request['oldObject'] = oldObject;
    if (fuzz.random() < 0.5) request['name'] = fuzz.random() < 0.8 ? `g${i}` : fuzz.string();
    if (fuzz.random() < 0.5) request['namespace'] = fuzz.random() < 0.8 ? 'team-a' : fuzz.string();
    cases.push({ label: `garbage ${kind} ${operation} #${i}`, path: path(kind), body: JSON.stringify(reviewOf(kind, `garbage-${i}`, request)) });
  }
  return cases;
}

/** A lookup with a few real-looking objects, so the cross-object rules run too. */
const lookup: ObjectLookup = {
  namespacesWithName: async (_kind, name) => (name.startsWith('g1') ? ['other-team'] : []),
  listIdentityProviders: async () => [
    sampleIdentityProvider('corp') as unknown as IdentityProvider,
    { ...sampleIdentityProvider('old'), spec: { ...sampleIdentityProvider('old').spec, disabled: true } } as unknown as IdentityProvider,
  ],
  listEscalations: async () => [
    sampleEscalation('admin', 'team-a') as unknown as BreakglassEscalation,
    { ...sampleEscalation('restricted', 'team-b'), spec: { ...sampleEscalation('r', 'b').spec, allowedIdentityProviders: ['corp'] } } as unknown as BreakglassEscalation,
  ],
};

describe('admission webhook fuzzing', function () {
  this.timeout(120_000);
  let server: Server;
  let port: number;
  const thrown: Array<{ input: AdmissionInput; error: string }> = [];

  const validator: AdmissionValidator = {
    async validateAdmission(input, objects, now) {
      try {
        const outcome = await validation.validateAdmission(input, objects, now);
        // validateAdmission turns a throwing rule into this error; for the fuzzer it is a crash.
        const crash = outcome.errors.find((e) => e.message.startsWith('validation failed unexpectedly'));
        if (crash) thrown.push({ input, error: crash.message });
        return outcome;
      } catch (err) {
        thrown.push({ input, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
        throw err;
      }
    },
    formatFieldErrors: validation.formatFieldErrors,
  };

  before(async () => {
    const app = createAdmissionApp({ validator, lookup, logger: silentLogger() });
    server = createServer(app.callback());
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    port = (server.address() as AddressInfo).port;
  });

  after(async () => {
    await new Promise<void>((done) => server.close(() => done()));
  });

  it(`answers over 1,000 malformed and garbage reviews without a 5xx or a validator crash (seed ${SEED})`, async () => {
    const cases = buildCases(new Fuzz(SEED));
    expect(cases.length).to.be.greaterThanOrEqual(1000);

    // Kept-alive connections, as the API server uses them: an error answer must not break the next request.
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    const statuses = new Map<number, number>();
    const failures: string[] = [];
    const verdicts = { allowed: 0, denied: 0 };
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < cases.length) {
        const fuzzCase = cases[next++] as FuzzCase;
        const response = await sendRaw({
          port,
          path: fuzzCase.path,
          body: fuzzCase.body,
          headers: { 'content-type': fuzzCase.contentType ?? 'application/json' },
          agent,
        }).catch((err: Error) => ({ status: -1, headers: {}, text: err.message }));
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        if (![200, 400, 413, 415].includes(response.status)) {
          failures.push(`${fuzzCase.label}: HTTP ${response.status} ${response.text.slice(0, 200)}`);
          continue;
        }
        const answer = JSON.parse(response.text) as Record<string, unknown>;
        if (response.status === 200) {
          const review = answer['response'] as { uid?: unknown; allowed?: unknown } | undefined;
          if (typeof review?.uid !== 'string' || typeof review.allowed !== 'boolean') {
            failures.push(`${fuzzCase.label}: 200 without a review response: ${response.text.slice(0, 200)}`);
          } else {
            verdicts[review.allowed ? 'allowed' : 'denied']++;
          }
        } else if (typeof answer['error'] !== 'string' || answer['error'] === '') {
          failures.push(`${fuzzCase.label}: ${response.status} without an error message`);
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    agent.destroy();

    const thrownReport = thrown
      .slice(0, 5)
      .map((t) => `${t.error}\n  input: ${JSON.stringify(t.input).slice(0, 600)}`)
      .join('\n');
    expect(thrown, `validators threw on ${thrown.length} inputs (seed ${SEED}):\n${thrownReport}`).to.have.length(0);
    expect(failures, `seed ${SEED}:\n${failures.slice(0, 10).join('\n')}`).to.deep.equal([]);
    // Every outcome was exercised: refusals of malformed bodies, admitted and denied objects.
    expect(statuses.get(400) ?? 0).to.be.greaterThan(100);
    expect(verdicts.denied).to.be.greaterThan(100);
    expect(verdicts.allowed).to.be.greaterThan(20);

    const afterwards = await sendRaw({
      port,
      path: ADMISSION_PATHS.DenyPolicy,
      body: JSON.stringify(reviewOf('DenyPolicy', 'still-alive', { object: sampleOf('DenyPolicy', 'alive') })),
      headers: { 'content-type': 'application/json' },
    });
    expect(afterwards.status).to.equal(200);
    expect(JSON.parse(afterwards.text)).to.deep.include({ response: { uid: 'still-alive', allowed: true } });
  });
});
