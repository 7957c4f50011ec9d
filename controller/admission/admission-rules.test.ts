/**
 * The admission app with the real validators (crds/validation) over HTTP: the refusals the
 * issue names, DELETE always allowed, and every field error listed in the denial.
 * The lookup is an in-memory fake; the API-backed lookup is exercised in e2e/admission.e2e.ts.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import * as validation from '../../crds/validation/index.ts';
import type { AdmissionKind, ObjectLookup } from '../../crds/validation/index.ts';
import type { IdentityProvider } from '../../crds/index.ts';
import { silentLogger } from '../observability/logger.ts';
import { ADMISSION_PATHS, createAdmissionApp } from './admission-app.ts';
import { sampleClusterConfig, sampleEscalation, sampleIdentityProvider, sampleOf, sampleSession, type SampleObject } from './samples.test-support.ts';
import { sendRaw } from './client.test-support.ts';

interface ReviewAnswer {
  uid: string;
  allowed: boolean;
  warnings?: string[];
  status?: { code: number; reason: string; message: string; details?: { causes: Array<{ field: string; message: string }> } };
}

/** Names taken in other namespaces, and one existing IdentityProvider. */
const lookup: ObjectLookup = {
  namespacesWithName: async (_kind, name) => (name === 'taken' ? ['other-team'] : []),
  listIdentityProviders: async () => [sampleIdentityProvider('corp') as unknown as IdentityProvider],
  listEscalations: async () => [],
};

describe('admission app with the real validators', () => {
  let server: Server;
  let port: number;

  before(async () => {
    const app = createAdmissionApp({ validator: validation, lookup, logger: silentLogger() });
    server = createServer(app.callback());
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    port = (server.address() as AddressInfo).port;
  });

  after(async () => {
    await new Promise<void>((done) => server.close(() => done()));
  });

  async function review(operation: string, object: SampleObject | null, oldObject?: SampleObject, kind?: AdmissionKind): Promise<ReviewAnswer> {
    const objectKind = kind ?? object?.kind ?? oldObject?.kind ?? 'BreakglassSession';
    const body = JSON.stringify({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: {
        uid: 'uid-1',
        kind: { group: 'breakglass.t-caas.telekom.com', version: 'v1alpha1', kind: objectKind },
        operation,
        name: (object ?? oldObject)?.metadata.name,
        namespace: (object ?? oldObject)?.metadata.namespace,
        object,
        ...(oldObject ? { oldObject } : {}),
      },
    });
    const response = await sendRaw({ port, path: ADMISSION_PATHS[objectKind], body, headers: { 'content-type': 'application/json' } });
    expect(response.status, response.text).to.equal(200);
    return (JSON.parse(response.text) as { response: ReviewAnswer }).response;
  }

  function expectDenied(answer: ReviewAnswer, field: string, text: string): void {
    expect(answer.allowed, JSON.stringify(answer)).to.equal(false);
    expect(answer.status?.code).to.equal(422);
    expect(answer.status?.message).to.contain(`${field}: `).and.to.contain(text);
    expect(answer.status?.details?.causes.map((c) => c.field)).to.include(field);
  }

  it('admits valid objects of every kind', async () => {
    for (const kind of Object.keys(ADMISSION_PATHS) as AdmissionKind[]) {
      const answer = await review('CREATE', sampleOf(kind, `valid-${kind.toLowerCase()}`));
      expect(answer, kind).to.deep.include({ uid: 'uid-1', allowed: true });
    }
  });

  it('refuses a session with the same name in another namespace', async () => {
    expectDenied(await review('CREATE', sampleSession('taken', 'team-a')), 'metadata.name', 'name must be unique cluster-wide; conflicting namespace=other-team');
  });

  it('refuses a change of a session spec', async () => {
    const old = sampleSession('s1', 'team-a');
    const changed = sampleSession('s1', 'team-a');
    changed.spec['grantedGroup'] = 'system:masters';
    expectDenied(await review('UPDATE', changed, old), 'spec', 'spec is immutable');
  });

  it('refuses an escalation whose approvalTimeout exceeds maxValidFor', async () => {
    const escalation = sampleEscalation('e1', 'team-a');
    Object.assign(escalation.spec, { maxValidFor: '1h', approvalTimeout: '2h' });
    expectDenied(await review('CREATE', escalation), 'spec.approvalTimeout', 'must be less than or equal to maxValidFor');
  });

  it('refuses a ClusterConfig with two auth methods', async () => {
    const cluster = sampleClusterConfig('c1', 'team-a');
    cluster.spec['oidcFromIdentityProvider'] = { name: 'corp', server: 'https://api.prod-1.example.com' };
    expectDenied(await review('CREATE', cluster), 'spec.kubeconfigSecretRef', 'mutually exclusive with oidcAuth and oidcFromIdentityProvider');
  });

  it('refuses a duration of 400d', async () => {
    const session = sampleSession('long', 'team-a');
    session.spec['maxValidFor'] = '400d';
    expectDenied(await review('CREATE', session), 'spec.maxValidFor', 'day value 400 exceeds maximum of 365');
  });

  it('lists every field error in one denial message', async () => {
    const escalation = sampleEscalation('many', 'team-a');
    Object.assign(escalation.spec, { maxValidFor: '400d', idleTimeout: '10s', allowed: { clusters: ['prod-['], groups: ['  '] } });
    const answer = await review('CREATE', escalation);
    const causes = answer.status?.details?.causes ?? [];
    expect(causes.length).to.be.greaterThanOrEqual(4);
    for (const cause of causes) expect(answer.status?.message).to.contain(`${cause.field}: ${cause.message}`);
    expect(causes.map((c) => c.field)).to.include.members(['spec.maxValidFor', 'spec.idleTimeout', 'spec.allowed.clusters[0]', 'spec.allowed.groups[0]']);
  });

  it('allows DELETE of every kind, even of objects that would be refused now', async () => {
    for (const kind of Object.keys(ADMISSION_PATHS) as AdmissionKind[]) {
      const old = sampleOf(kind, 'taken');
      old.spec = { nonsense: true };
      expect(await review('DELETE', null, old, kind), kind).to.deep.include({ allowed: true });
    }
  });
});
