import { expect } from 'chai';
import type { BreakglassEscalation } from '../breakglass-escalation.ts';
import type { IdentityProvider } from '../identity-provider.ts';
import { validateAdmission } from '../validation/index.ts';
import { lookupFromObjects } from '../validation/object-lookup.ts';
import { loadSamples } from './load.ts';

const NAMESPACE = 'samples';

describe('crds/samples', () => {
  const samples = loadSamples();
  // Names are free; references between samples (session -> IdentityProvider, escalation) resolve.
  const lookup = lookupFromObjects({
    identityProviders: () => samples.filter((s) => s.object.kind === 'IdentityProvider').map((s) => s.object as unknown as IdentityProvider),
    escalations: () =>
      samples
        .filter((s) => s.object.kind === 'BreakglassEscalation')
        .map((s) => ({ ...s.object, metadata: { ...s.object.metadata, namespace: NAMESPACE } }) as unknown as BreakglassEscalation),
  });

  it('has at least one sample of every kind', () => {
    const kinds = new Set(samples.map((s) => s.object.kind));
    expect([...kinds].sort()).to.deep.equal(['BreakglassEscalation', 'BreakglassSession', 'ClusterConfig', 'DenyPolicy', 'IdentityProvider']);
  });

  for (const sample of samples) {
    it(`${sample.file}: ${sample.object.kind} ${sample.object.metadata.name} passes admission validation`, async () => {
      const outcome = await validateAdmission(
        { kind: sample.object.kind, operation: 'CREATE', object: sample.object, name: sample.object.metadata.name, namespace: NAMESPACE },
        lookup,
      );
      expect(outcome.errors).to.deep.equal([]);
    });
  }
});
