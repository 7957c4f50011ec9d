import { expect } from 'chai';
import type { BreakglassSession, DenyPolicy } from '../../crds/index.ts';
import { FakeClock } from '../clock/clock.ts';
import { formatTime } from '../sessions/timestamps.ts';
import { AuthorizationPipeline } from './decision.ts';
import { DenyPolicyIndex } from './deny-policy.ts';
import { SubjectAccessReviewError, parseSubjectAccessReview } from './subject-access-review.ts';

/** Deterministic PRNG (mulberry32) so that a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ATOMS: unknown[] = [null, true, 0, -1, 1.5, '', 'get', 'pods', 'exec', 'impersonate', 'impersonate:user-info', 'groups', 'system:masters', '*', '__proto__', 'x'.repeat(5000), [], {}, ['a'], [1]];
const KEYS = ['apiVersion', 'kind', 'spec', 'metadata', 'user', 'groups', 'uid', 'extra', 'resourceAttributes', 'nonResourceAttributes', 'verb', 'resource', 'subresource', 'name', 'namespace', 'group', 'path', 'annotations', '__proto__'];

function value(next: () => number, depth: number): unknown {
  if (depth > 3 || next() < 0.4) return ATOMS[Math.floor(next() * ATOMS.length)];
  if (next() < 0.3) return Array.from({ length: Math.floor(next() * 4) }, () => value(next, depth + 1));
  const out: Record<string, unknown> = {};
  for (let i = Math.floor(next() * 5); i > 0; i--) out[KEYS[Math.floor(next() * KEYS.length)] as string] = value(next, depth + 1);
  return out;
}

/** A valid review with one field replaced by something random. */
function mutated(next: () => number): unknown {
  const base = {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SubjectAccessReview',
    spec: {
      user: 'alice@example.com',
      groups: ['oidc:dev'],
      resourceAttributes: { verb: 'create', resource: 'pods', subresource: 'exec', name: 'web-0', namespace: 'payments' } as Record<string, unknown>,
    } as Record<string, unknown>,
  };
  const target = next() < 0.5 ? (base.spec.resourceAttributes as Record<string, unknown>) : base.spec;
  target[KEYS[Math.floor(next() * KEYS.length)] as string] = value(next, 2);
  return JSON.parse(JSON.stringify(base)) as unknown;
}

describe('webhook fuzzing', () => {
  it('1,000 malformed or random bodies give a 400 error or a decision, never anything else', async () => {
    const clock = new FakeClock();
    const session: BreakglassSession = {
      metadata: { name: 's1', namespace: 'team', uid: 'u' },
      spec: { cluster: 'prod', user: 'alice@example.com', grantedGroup: 'ops' },
      status: { state: 'Approved', expiresAt: formatTime(clock.wallNow().getTime() + 3_600_000) },
    };
    const policies: DenyPolicy[] = [
      { metadata: { name: 'p' }, spec: { rules: [{ verbs: ['delete'], apiGroups: ['*'], resources: ['*'], namespaces: { selectorTerms: [{ matchLabels: { env: 'prod' } }] } }], podSecurityRules: { riskFactors: { privilegedContainer: 10 }, thresholds: [{ maxScore: 5, action: 'allow' }] } } },
    ];
    const index = new DenyPolicyIndex(policies);
    const pipeline = new AuthorizationPipeline(
      {
        clusters: { get: (name) => (name === 'prod' ? { metadata: { name }, spec: {} } : undefined) },
        sessions: { forClusterUser: () => [session] },
        escalations: { ownerOf: () => undefined },
        requestable: { forUser: () => [{ name: 'e', escalatedGroup: 'ops-2' }] },
        denyPolicies: () => index,
        spoke: { namespaceLabels: async () => ({ env: 'prod' }), getPod: async () => ({ spec: { containers: [{ name: 'c', securityContext: { privileged: true } }] } }) },
        grants: { allowed: async (_c, groups) => groups.includes('ops') },
        activity: { record: () => {} },
        clock,
      },
      { frontendBaseUrl: 'https://bg.example', oidcPrefixes: ['oidc:'] },
    );
    const next = random(9);
    let rejected = 0;
    let decided = 0;
    for (let i = 0; i < 1000; i++) {
      const body = i % 2 === 0 ? value(next, 0) : mutated(next);
      let review;
      try {
        review = parseSubjectAccessReview(body);
      } catch (error) {
        expect(error, JSON.stringify(body)).to.be.instanceOf(SubjectAccessReviewError);
        rejected++;
        continue;
      }
      const outcome = await pipeline.authorize(i % 3 === 0 ? 'unknown' : 'prod', review);
      expect(outcome.kind).to.equal('decision');
      if (outcome.kind === 'decision') expect(outcome.reason).to.be.a('string').and.not.equal('');
      decided++;
    }
    expect(rejected).to.be.greaterThan(100);
    expect(decided).to.be.greaterThan(100);
  });
});
