import { expect } from 'chai';
import {
  AdmissionReviewError,
  buildAdmissionResponse,
  MAX_OBJECT_DEPTH,
  parseAdmissionReview,
} from './admission-review.ts';

function review(request: Record<string, unknown>, top: Record<string, unknown> = {}): Record<string, unknown> {
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request, ...top };
}

const sessionKind = { group: 'breakglass.t-caas.telekom.com', version: 'v1alpha1', kind: 'BreakglassSession' };
const session = { apiVersion: 'breakglass.t-caas.telekom.com/v1alpha1', kind: 'BreakglassSession', metadata: { name: 's1' } };

function parseError(body: unknown): string {
  try {
    parseAdmissionReview(body);
  } catch (err) {
    expect(err).to.be.instanceOf(AdmissionReviewError);
    return (err as Error).message;
  }
  expect.fail('the body was accepted');
}

describe('parseAdmissionReview', () => {
  it('reads a CREATE review as the API server sends it', () => {
    const request = parseAdmissionReview(
      review({ uid: 'u-1', kind: sessionKind, operation: 'CREATE', name: 's1', namespace: 'ns', object: session, dryRun: false }),
    );
    expect(request).to.deep.equal({
      uid: 'u-1',
      kind: sessionKind,
      operation: 'CREATE',
      name: 's1',
      namespace: 'ns',
      object: session,
      oldObject: null,
      dryRun: false,
    });
  });

  it('reads the subresource and the requesting user of a status write', () => {
    const request = parseAdmissionReview(
      review({ uid: 'u-2', kind: sessionKind, operation: 'UPDATE', object: session, oldObject: session, subResource: 'status', userInfo: { username: 'jane', groups: ['x'] } }),
    );
    expect(request).to.deep.include({ subResource: 'status', username: 'jane' });
    const base = { uid: 'u-3', kind: sessionKind, operation: 'UPDATE', object: session, oldObject: session };
    expect(parseError(review({ ...base, subResource: 7 }))).to.equal('request.subResource must be a string, got number 7');
    expect(parseError(review({ ...base, userInfo: 'jane' }))).to.equal('request.userInfo must be an object, got "jane"');
    expect(parseError(review({ ...base, userInfo: { username: ['jane'] } }))).to.equal('request.userInfo.username must be a string, got an array');
  });

  it('reads a DELETE review, which carries no object', () => {
    const request = parseAdmissionReview(review({ uid: 'u-2', kind: sessionKind, operation: 'DELETE', object: null, oldObject: session }));
    expect(request.object).to.equal(null);
    expect(request.oldObject).to.deep.equal(session);
  });

  it('names the field that is wrong', () => {
    expect(parseError('text')).to.match(/body must be a JSON object/);
    expect(parseError([review({})])).to.match(/got an array/);
    expect(parseError(null)).to.match(/got null/);
    expect(parseError({ ...review({ uid: 'u', kind: sessionKind, operation: 'CREATE', object: session }), apiVersion: 'admission.k8s.io/v1beta1' }))
      .to.equal('apiVersion must be "admission.k8s.io/v1", got "admission.k8s.io/v1beta1"');
    expect(parseError({ ...review({}), kind: 'Review' })).to.match(/^kind must be "AdmissionReview"/);
    expect(parseError({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' })).to.match(/^request must be an object/);
    expect(parseError(review({ kind: sessionKind, operation: 'CREATE', object: session }))).to.match(/^request\.uid must be a non-empty string, got nothing/);
    expect(parseError(review({ uid: 7, kind: sessionKind, operation: 'CREATE', object: session }))).to.match(/^request\.uid .* got number 7/);
    expect(parseError(review({ uid: 'u', operation: 'CREATE', object: session }))).to.match(/^request\.kind must be an object/);
    expect(parseError(review({ uid: 'u', kind: { ...sessionKind, kind: 3 }, operation: 'CREATE', object: session }))).to.match(/^request\.kind\.kind/);
    expect(parseError(review({ uid: 'u', kind: sessionKind, operation: 'PATCH', object: session }))).to.match(/^request\.operation must be one of CREATE, UPDATE, DELETE, CONNECT/);
    expect(parseError(review({ uid: 'u', kind: sessionKind, operation: 'CREATE' }))).to.equal('request.object is required for request.operation CREATE');
    expect(parseError(review({ uid: 'u', kind: sessionKind, operation: 'CREATE', object: [session] }))).to.match(/^request\.object must be an object, got an array/);
    expect(parseError(review({ uid: 'u', kind: sessionKind, operation: 'UPDATE', object: session }))).to.match(/^request\.oldObject is required/);
    expect(parseError(review({ uid: 'u', kind: sessionKind, operation: 'CREATE', object: session, name: 5 }))).to.match(/^request\.name must be a string/);
    expect(parseError(review({ uid: 'u', kind: sessionKind, operation: 'CREATE', object: session, dryRun: 'yes' }))).to.match(/^request\.dryRun must be a boolean/);
  });

  it('never echoes a huge value into the message', () => {
    const message = parseError(review({ uid: 'u', kind: sessionKind, operation: 'x'.repeat(100_000), object: session }));
    expect(message.length).to.be.lessThan(200);
  });

  it('refuses objects nested deeper than the limit without overflowing the stack', () => {
    let deep: Record<string, unknown> = {};
    for (let i = 0; i < 200_000; i++) deep = { a: deep };
    expect(parseError(review({ uid: 'u', kind: sessionKind, operation: 'CREATE', object: { spec: deep } })))
      .to.equal(`request.object is nested deeper than ${MAX_OBJECT_DEPTH} levels`);
  });
});

describe('buildAdmissionResponse', () => {
  it('echoes the uid and allows with warnings', () => {
    expect(buildAdmissionResponse('u-1', { allowed: true, warnings: ['careful'] })).to.deep.equal({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid: 'u-1', allowed: true, warnings: ['careful'] },
    });
  });

  it('denies field errors as 422 Invalid with one cause per field', () => {
    const causes = [{ reason: 'FieldValueRequired', message: 'cluster is required', field: 'spec.cluster' }];
    const review = buildAdmissionResponse('u-2', {
      allowed: false,
      warnings: [],
      message: 'BreakglassSession "s" is invalid: spec.cluster: Required value: cluster is required',
      invalid: { group: 'breakglass.t-caas.telekom.com', kind: 'BreakglassSession', name: 's', causes },
    });
    expect(review.response).to.deep.equal({
      uid: 'u-2',
      allowed: false,
      status: {
        metadata: {},
        status: 'Failure',
        code: 422,
        reason: 'Invalid',
        message: 'BreakglassSession "s" is invalid: spec.cluster: Required value: cluster is required',
        details: { group: 'breakglass.t-caas.telekom.com', kind: 'BreakglassSession', name: 's', causes },
      },
    });
  });

  it('denies an undecidable request as 403 Forbidden', () => {
    const review = buildAdmissionResponse('u-3', { allowed: false, warnings: [], message: 'could not be validated' });
    expect(review.response.status).to.include({ code: 403, reason: 'Forbidden', message: 'could not be validated' });
  });
});
