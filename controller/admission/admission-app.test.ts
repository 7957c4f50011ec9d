import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { pino } from 'pino';
import type { AdmissionInput, FieldError, ObjectLookup } from '../../crds/validation/index.ts';
import { ControllerMetrics } from '../observability/metrics.ts';
import { ADMISSION_PATHS, createAdmissionApp, type AdmissionValidator } from './admission-app.ts';
import { sendRaw, type RawResponse } from './client.test-support.ts';

const GROUP = 'breakglass.t-caas.telekom.com';
const KINDS = Object.keys(ADMISSION_PATHS) as Array<keyof typeof ADMISSION_PATHS>;

const emptyLookup: ObjectLookup = {
  namespacesWithName: async () => [],
  listIdentityProviders: async () => [],
  listEscalations: async () => [],
};

/** Denies objects whose spec.bad is set, with one field error per listed field. */
class FakeValidator implements AdmissionValidator {
  readonly inputs: AdmissionInput[] = [];
  throwWith: Error | undefined;

  async validateAdmission(input: AdmissionInput): Promise<{ errors: FieldError[]; warnings: string[] }> {
    this.inputs.push(input);
    if (this.throwWith) throw this.throwWith;
    const spec = (input.object as { spec?: { bad?: string[]; warn?: string } } | null)?.spec;
    const errors: FieldError[] = (spec?.bad ?? []).map((field) => ({ field, message: `${field} is wrong` }));
    return { errors, warnings: spec?.warn ? [spec.warn] : [] };
  }

  formatFieldErrors(kind: string, name: string, errors: FieldError[]): string {
    return `${kind} "${name}" is invalid: ${errors.map((e) => `${e.field}: ${e.message}`).join(', ')}`;
  }
}

function review(kind: string, operation: string, object: unknown, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: { uid: `uid-${kind}`, kind: { group: GROUP, version: 'v1alpha1', kind }, operation, object, ...extra },
  });
}

describe('admission app', () => {
  let server: Server;
  let port: number;
  let validator: FakeValidator;
  let metrics: ControllerMetrics;
  let logLines: Array<Record<string, unknown>>;

  beforeEach(async () => {
    validator = new FakeValidator();
    metrics = new ControllerMetrics({ defaultMetrics: false });
    logLines = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => logLines.push(JSON.parse(line) as Record<string, unknown>) });
    const app = createAdmissionApp({ validator, lookup: emptyLookup, logger, metrics, bodyLimitBytes: 64 * 1024 });
    server = createServer(app.callback());
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    port = (server.address() as AddressInfo).port;
  });

  afterEach(async () => {
    await new Promise<void>((done) => server.close(() => done()));
  });

  function post(path: string, body: string, contentType = 'application/json'): Promise<RawResponse> {
    return sendRaw({ port, path, body, headers: { 'content-type': contentType } });
  }

  function json(response: RawResponse): Record<string, unknown> {
    return JSON.parse(response.text) as Record<string, unknown>;
  }

  it('serves the controller-runtime webhook paths', () => {
    expect(ADMISSION_PATHS).to.deep.equal({
      BreakglassSession: '/validate-breakglass-t-caas-telekom-com-v1alpha1-breakglasssession',
      BreakglassEscalation: '/validate-breakglass-t-caas-telekom-com-v1alpha1-breakglassescalation',
      ClusterConfig: '/validate-breakglass-t-caas-telekom-com-v1alpha1-clusterconfig',
      IdentityProvider: '/validate-breakglass-t-caas-telekom-com-v1alpha1-identityprovider',
      DenyPolicy: '/validate-breakglass-t-caas-telekom-com-v1alpha1-denypolicy',
    });
  });

  it('routes each of the five paths to the validator of its kind', async () => {
    for (const kind of KINDS) {
      const response = await post(ADMISSION_PATHS[kind], review(kind, 'CREATE', { metadata: { name: 'x' }, spec: {} }));
      expect(response.status, kind).to.equal(200);
      expect(json(response)['response']).to.deep.equal({ uid: `uid-${kind}`, allowed: true });
    }
    expect(validator.inputs.map((input) => input.kind)).to.deep.equal(KINDS);
    expect(KINDS).to.have.length(5);
  });

  it('passes operation, name, namespace, object and oldObject to the validator', async () => {
    const old = { metadata: { name: 'a' }, spec: { x: 1 } };
    const object = { metadata: { name: 'a' }, spec: { x: 2 } };
    await post(ADMISSION_PATHS.BreakglassSession, review('BreakglassSession', 'UPDATE', object, { oldObject: old, name: 'a', namespace: 'team' }));
    expect(validator.inputs[0]).to.deep.include({ kind: 'BreakglassSession', operation: 'UPDATE', name: 'a', namespace: 'team', object, oldObject: old });
  });

  it('takes the name from the object when the request has none (generateName)', async () => {
    await post(ADMISSION_PATHS.DenyPolicy, review('DenyPolicy', 'CREATE', { metadata: { name: 'from-object' }, spec: {} }));
    expect(validator.inputs[0]?.name).to.equal('from-object');
  });

  it('denies with 422 Invalid, a message listing every field error, a log line and a metric', async () => {
    const object = { metadata: { name: 'esc' }, spec: { bad: ['spec.approvers', 'spec.maxValidFor', 'spec.approvalTimeout'] } };
    const response = await post(ADMISSION_PATHS.BreakglassEscalation, review('BreakglassEscalation', 'CREATE', object, { namespace: 'ns1' }));
    expect(response.status).to.equal(200);
    const answer = json(response)['response'] as { allowed: boolean; status: { code: number; reason: string; message: string; details: { causes: unknown[] } } };
    expect(answer.allowed).to.equal(false);
    expect(answer.status.code).to.equal(422);
    expect(answer.status.reason).to.equal('Invalid');
    expect(answer.status.message).to.equal(
      'BreakglassEscalation "esc" is invalid: spec.approvers: spec.approvers is wrong, spec.maxValidFor: spec.maxValidFor is wrong, spec.approvalTimeout: spec.approvalTimeout is wrong',
    );
    expect(answer.status.details.causes).to.deep.equal([
      { reason: 'FieldValueInvalid', message: 'spec.approvers is wrong', field: 'spec.approvers' },
      { reason: 'FieldValueInvalid', message: 'spec.maxValidFor is wrong', field: 'spec.maxValidFor' },
      { reason: 'FieldValueInvalid', message: 'spec.approvalTimeout is wrong', field: 'spec.approvalTimeout' },
    ]);
    const denial = logLines.find((line) => line['msg'] === 'admission request denied');
    expect(denial).to.include({ kind: 'BreakglassEscalation', name: 'esc', namespace: 'ns1' });
    expect(denial?.['errors']).to.have.length(3);
    const counted = await metrics.admissionRequests.get();
    expect(counted.values).to.deep.equal([{ value: 1, labels: { kind: 'BreakglassEscalation', allowed: 'false' } }]);
  });

  it('returns warnings on allowed requests', async () => {
    const response = await post(ADMISSION_PATHS.ClusterConfig, review('ClusterConfig', 'CREATE', { metadata: { name: 'c' }, spec: { warn: 'insecureSkipTLSVerify is enabled' } }));
    expect(json(response)['response']).to.deep.equal({ uid: 'uid-ClusterConfig', allowed: true, warnings: ['insecureSkipTLSVerify is enabled'] });
  });

  it('denies (fails closed) when the validator throws, naming the cause, without a 5xx', async () => {
    validator.throwWith = new Error('could not list breakglassescalations: HTTP 503');
    const response = await post(ADMISSION_PATHS.BreakglassSession, review('BreakglassSession', 'CREATE', { metadata: { name: 's' }, spec: {} }));
    expect(response.status).to.equal(200);
    const answer = json(response)['response'] as { allowed: boolean; status: { code: number; message: string } };
    expect(answer.allowed).to.equal(false);
    expect(answer.status.code).to.equal(403);
    expect(answer.status.message).to.equal('BreakglassSession "s" could not be validated: could not list breakglassescalations: HTTP 503');
    expect(logLines.some((line) => line['msg'] === 'admission validation failed')).to.equal(true);
  });

  it('answers 400 with a message for bodies that are not an AdmissionReview', async () => {
    const path = ADMISSION_PATHS.IdentityProvider;
    const cases: Array<[string, RegExp]> = [
      ['{"apiVersion": ', /not valid JSON/],
      ['[1,2]', /body must be a JSON object .*got an array/],
      ['"text"', /body must be a JSON object/],
      ['', /request body is empty/],
      [JSON.stringify({ apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview', request: {} }), /apiVersion must be "admission.k8s.io\/v1"/],
      [review('IdentityProvider', 'CREATE', {}).replace('"uid":"uid-IdentityProvider",', ''), /request\.uid must be a non-empty string/],
      [review('ClusterConfig', 'CREATE', {}), /request\.kind is "breakglass.t-caas.telekom.com\/ClusterConfig", but this endpoint validates breakglass.t-caas.telekom.com\/IdentityProvider/],
    ];
    for (const [body, message] of cases) {
      const response = await post(path, body);
      expect(response.status, body).to.equal(400);
      expect(json(response)['error'], body).to.match(message);
    }
    expect(validator.inputs).to.have.length(0);
  });

  it('refuses other content types with 415', async () => {
    const response = await post(ADMISSION_PATHS.DenyPolicy, review('DenyPolicy', 'CREATE', {}), 'text/plain');
    expect(response.status).to.equal(415);
    expect(json(response)['error']).to.equal('Content-Type must be application/json, got "text/plain"');
    const charset = await post(ADMISSION_PATHS.DenyPolicy, review('DenyPolicy', 'CREATE', { metadata: { name: 'd' } }), 'application/json; charset=utf-8');
    expect(charset.status).to.equal(200);
  });

  it('refuses bodies over the limit with 413, declared or streamed, and keeps serving', async () => {
    const huge = review('DenyPolicy', 'CREATE', { metadata: { name: 'd' }, spec: { blob: 'x'.repeat(200 * 1024) } });
    const declared = await post(ADMISSION_PATHS.DenyPolicy, huge);
    expect(declared.status).to.equal(413);
    expect(json(declared)['error']).to.match(/exceeds the limit of 65536 bytes/);
    const streamed = await sendRaw({ port, path: ADMISSION_PATHS.DenyPolicy, body: huge, chunked: true, headers: { 'content-type': 'application/json' } });
    expect(streamed.status).to.equal(413);
    const after = await post(ADMISSION_PATHS.DenyPolicy, review('DenyPolicy', 'CREATE', { metadata: { name: 'd' } }));
    expect(after.status).to.equal(200);
  });

  it('answers 404 for unknown paths and 405 for other methods', async () => {
    const unknown = await post('/validate-breakglass-t-caas-telekom-com-v1alpha1-mailprovider', review('MailProvider', 'CREATE', {}));
    expect(unknown.status).to.equal(404);
    expect(json(unknown)['error']).to.match(/no admission webhook is served at/);
    for (const method of ['GET', 'PUT', 'DELETE', 'PATCH']) {
      const response = await sendRaw({ port, path: ADMISSION_PATHS.BreakglassSession, method });
      expect(response.status, method).to.equal(405);
      expect(response.headers['allow']).to.equal('POST');
    }
  });

  it('allows DELETE reviews through to the validator with the old object', async () => {
    const old = { metadata: { name: 'gone' }, spec: { bad: [] } };
    const response = await post(ADMISSION_PATHS.BreakglassSession, review('BreakglassSession', 'DELETE', null, { oldObject: old, name: 'gone', namespace: 'ns' }));
    expect(json(response)['response']).to.deep.equal({ uid: 'uid-BreakglassSession', allowed: true });
    expect(validator.inputs[0]).to.deep.include({ operation: 'DELETE', object: null, oldObject: old });
  });
});

describe('admission app: writes to the status subresource', () => {
  let server: Server;
  let port: number;
  let writers: readonly string[] | undefined;
  const controller = 'system:serviceaccount:breakglass-system:breakglass';

  before(async () => {
    const app = createAdmissionApp({
      validator: new FakeValidator(),
      lookup: emptyLookup,
      logger: pino({ level: 'silent' }),
      statusWriters: () => writers,
    });
    server = createServer(app.callback());
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    await new Promise<void>((done) => server.close(() => done()));
  });

  async function writeStatus(username: string | undefined, subResource = 'status') {
    const session = { metadata: { name: 's1', namespace: 'team' }, spec: {}, status: { state: 'Approved', expiresAt: '2030-01-01T00:00:00Z' } };
    const body = review('BreakglassSession', 'UPDATE', session, {
      oldObject: { ...session, status: { state: 'Pending' } },
      name: 's1',
      namespace: 'team',
      subResource,
      ...(username ? { userInfo: { username, groups: ['system:authenticated'] } } : {}),
    });
    const response = await sendRaw({ port, path: ADMISSION_PATHS.BreakglassSession, body, headers: { 'content-type': 'application/json' } });
    return (JSON.parse(response.text) as { response: { allowed: boolean; status?: { code: number; message: string } } }).response;
  }

  it('lets only the controller approve a session by writing its status', async () => {
    writers = [controller];
    const forged = await writeStatus('jane@example.com');
    expect(forged.allowed).to.equal(false);
    expect(forged.status?.code).to.equal(403);
    expect(forged.status?.message).to.equal(
      'BreakglassSession "s1": its status is written by the breakglass controller only (system:serviceaccount:breakglass-system:breakglass), not by jane@example.com; approve, reject, withdraw, drop or cancel through the REST API, or delete the session',
    );
    expect((await writeStatus(undefined)).allowed).to.equal(false);
    expect((await writeStatus(controller)).allowed).to.equal(true);
    // The main resource is not the status: its changes are validated as usual.
    expect((await writeStatus('jane@example.com', '')).allowed).to.equal(true);
  });

  it('lets every status write through while the controller does not know its own identity', async () => {
    writers = undefined;
    expect((await writeStatus('jane@example.com')).allowed).to.equal(true);
  });
});

describe('admission app with the default body limit', () => {
  it('decides an UPDATE of an object near etcd\'s 1.5 MiB: the review carries it twice', async () => {
    const validator = new FakeValidator();
    const app = createAdmissionApp({ validator, lookup: emptyLookup, logger: pino({ level: 'silent' }), metrics: new ControllerMetrics({ defaultMetrics: false }) });
    const server = createServer(app.callback());
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    try {
      const object = { metadata: { name: 'big' }, spec: {}, status: { approverGroupMembers: { approvers: Array.from({ length: 55_000 }, (_, i) => `user-${i}@example.com`) } } };
      const body = review('BreakglassEscalation', 'UPDATE', object, { oldObject: object, name: 'big', namespace: 'ns' });
      expect(body.length).to.be.greaterThan(2 * 1024 * 1024);
      const response = await sendRaw({ port: (server.address() as AddressInfo).port, path: ADMISSION_PATHS.BreakglassEscalation, body, headers: { 'content-type': 'application/json' } });
      expect(response.status).to.equal(200);
      expect((JSON.parse(response.text) as { response: { allowed: boolean } }).response.allowed).to.equal(true);
    } finally {
      await new Promise<void>((done) => server.close(() => done()));
    }
  });
});
