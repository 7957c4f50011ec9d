import { expect } from 'chai';
import {
  MAX_SAR_GROUPS,
  MAX_SAR_STRING_LENGTH,
  SubjectAccessReviewError,
  buildSubjectAccessReviewResponse,
  describeAction,
  issuerOf,
  parseSubjectAccessReview,
} from './subject-access-review.ts';

function body(spec: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec, ...extra };
}

const podsGet = { namespace: 'payments', verb: 'get', resource: 'pods', version: 'v1' };

function fieldOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).to.be.instanceOf(SubjectAccessReviewError);
    return (error as SubjectAccessReviewError).field;
  }
  throw new Error('expected a SubjectAccessReviewError');
}

describe('SubjectAccessReview parsing', () => {
  it('reads what a kube-apiserver sends, ignoring fields it adds in newer releases', () => {
    const review = parseSubjectAccessReview(
      body(
        {
          user: 'alice@example.com',
          groups: ['oidc:dev', 'system:authenticated'],
          uid: 'u-1',
          extra: { 'identity.t-caas.telekom.com/issuer': ['https://idp.example/realms/a'] },
          resourceAttributes: { ...podsGet, subresource: 'exec', name: 'web-0', fieldSelector: { rawSelector: 'x' } },
        },
        { metadata: { creationTimestamp: null }, status: { allowed: false } },
      ),
    );
    expect(review.user).to.equal('alice@example.com');
    expect(review.groups).to.deep.equal(['oidc:dev', 'system:authenticated']);
    expect(review.resource).to.deep.equal({
      namespace: 'payments',
      verb: 'get',
      group: '',
      version: 'v1',
      resource: 'pods',
      subresource: 'exec',
      name: 'web-0',
    });
    expect(review.nonResource).to.equal(undefined);
    expect(issuerOf(review)).to.equal('https://idp.example/realms/a');
  });

  it('falls back to the issuer annotation when the extra is absent', () => {
    const review = parseSubjectAccessReview(
      body(
        { user: 'a', nonResourceAttributes: { path: '/healthz', verb: 'get' } },
        { metadata: { annotations: { 'identity.t-caas.telekom.com/issuer': 'https://iss' } } },
      ),
    );
    expect(issuerOf(review)).to.equal('https://iss');
    expect(review.nonResource).to.deep.equal({ path: '/healthz', verb: 'get' });
  });

  it('names the field that is wrong', () => {
    expect(fieldOf(() => parseSubjectAccessReview(null))).to.equal('(body)');
    expect(fieldOf(() => parseSubjectAccessReview([]))).to.equal('(body)');
    expect(fieldOf(() => parseSubjectAccessReview({ ...body({ user: 'a' }), apiVersion: 'authorization.k8s.io/v1beta1' }))).to.equal(
      'apiVersion',
    );
    expect(fieldOf(() => parseSubjectAccessReview({ ...body({ user: 'a' }), kind: 'TokenReview' }))).to.equal('kind');
    expect(fieldOf(() => parseSubjectAccessReview({ apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview' }))).to.equal(
      'spec',
    );
    expect(fieldOf(() => parseSubjectAccessReview(body({ resourceAttributes: podsGet })))).to.equal('spec.user');
    expect(fieldOf(() => parseSubjectAccessReview(body({ user: 7, resourceAttributes: podsGet })))).to.equal('spec.user');
    expect(fieldOf(() => parseSubjectAccessReview(body({ user: 'a', groups: 'dev', resourceAttributes: podsGet })))).to.equal(
      'spec.groups',
    );
    expect(fieldOf(() => parseSubjectAccessReview(body({ user: 'a', groups: ['ok', 3], resourceAttributes: podsGet })))).to.equal(
      'spec.groups[1]',
    );
    expect(fieldOf(() => parseSubjectAccessReview(body({ user: 'a', extra: { k: 'v' }, resourceAttributes: podsGet })))).to.equal(
      'spec.extra["k"]',
    );
    expect(fieldOf(() => parseSubjectAccessReview(body({ user: 'a', resourceAttributes: { ...podsGet, namespace: 1 } })))).to.equal(
      'spec.resourceAttributes.namespace',
    );
    expect(fieldOf(() => parseSubjectAccessReview(body({ user: 'a', resourceAttributes: { resource: 'pods' } })))).to.equal(
      'spec.resourceAttributes.verb',
    );
    expect(fieldOf(() => parseSubjectAccessReview(body({ user: 'a', resourceAttributes: 'pods' })))).to.equal(
      'spec.resourceAttributes',
    );
  });

  it('requires exactly one of resource and non-resource attributes', () => {
    expect(fieldOf(() => parseSubjectAccessReview(body({ user: 'a' })))).to.equal('spec');
    expect(
      fieldOf(() =>
        parseSubjectAccessReview(body({ user: 'a', resourceAttributes: podsGet, nonResourceAttributes: { path: '/', verb: 'get' } })),
      ),
    ).to.equal('spec');
  });

  it('bounds sizes', () => {
    const many = Array.from({ length: MAX_SAR_GROUPS + 1 }, (_, i) => `g${i}`);
    expect(fieldOf(() => parseSubjectAccessReview(body({ user: 'a', groups: many, resourceAttributes: podsGet })))).to.equal(
      'spec.groups',
    );
    const long = 'x'.repeat(MAX_SAR_STRING_LENGTH + 1);
    expect(fieldOf(() => parseSubjectAccessReview(body({ user: long, resourceAttributes: podsGet })))).to.equal('spec.user');
  });

  it('treats an extra key "__proto__" as data', () => {
    const parsed = JSON.parse(
      '{"apiVersion":"authorization.k8s.io/v1","kind":"SubjectAccessReview","spec":{"user":"a","extra":{"__proto__":["x"]},"resourceAttributes":{"verb":"get"}}}',
    ) as unknown;
    const review = parseSubjectAccessReview(parsed);
    expect(review.extra['__proto__']).to.deep.equal(['x']);
    expect(Object.getPrototypeOf(review.extra)).to.equal(null);
  });

  it('never throws anything but SubjectAccessReviewError for arbitrary JSON', () => {
    const samples: unknown[] = [0, 'x', true, {}, { spec: [] }, body({ user: {} }), body({ user: 'a', extra: [] }), body({ user: 'a', resourceAttributes: null, nonResourceAttributes: [] })];
    for (const sample of samples) {
      try {
        parseSubjectAccessReview(sample);
      } catch (error) {
        expect(error).to.be.instanceOf(SubjectAccessReviewError);
      }
    }
  });
});

describe('SubjectAccessReview action and response', () => {
  it('describes actions as the reference does', () => {
    const r = (attrs: Record<string, unknown>) => parseSubjectAccessReview(body({ user: 'a', resourceAttributes: attrs }));
    expect(describeAction(r({ ...podsGet, subresource: 'exec', name: 'web-0' }))).to.equal('get pods/exec web-0 in namespace payments');
    expect(describeAction(r({ verb: 'list', resource: 'nodes' }))).to.equal('list nodes in namespace (cluster-wide)');
    expect(describeAction(parseSubjectAccessReview(body({ user: 'a', nonResourceAttributes: { verb: 'get', path: '/metrics' } })))).to.equal(
      'get /metrics',
    );
  });

  it('echoes apiVersion and kind and sets only allowed and reason', () => {
    const response = buildSubjectAccessReviewResponse(
      { apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview' },
      { allowed: false, reason: 'no' },
    );
    expect(response).to.deep.equal({
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      status: { allowed: false, reason: 'no' },
    });
    expect(response.status).to.not.have.property('denied');
    expect(response.status).to.not.have.property('evaluationError');
  });
});
