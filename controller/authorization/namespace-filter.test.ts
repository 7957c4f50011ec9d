import { expect } from 'chai';
import { compileNamespaceFilter } from './namespace-filter.ts';

describe('NamespaceFilter', () => {
  it('is empty without patterns and terms', () => {
    expect(compileNamespaceFilter(undefined).empty).to.equal(true);
    expect(compileNamespaceFilter({ patterns: [], selectorTerms: [] }).empty).to.equal(true);
  });

  it('matches names with Go path.Match globs', () => {
    const filter = compileNamespaceFilter({ patterns: ['app-*', 'prod-??-[a-c]'] });
    expect(['app-1', 'prod-eu-b', 'prod-eu-d', 'app', 'x/app-1'].map((n) => filter.matchesName(n))).to.deep.equal([true, true, false, false, false]);
    expect(filter.hasSelectors).to.equal(false);
  });

  it('ORs terms and ANDs everything inside a term, with Kubernetes selector semantics', () => {
    const filter = compileNamespaceFilter({
      selectorTerms: [
        { matchLabels: { env: 'prod' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['db', 'cache'] }] },
        { matchExpressions: [{ key: 'sandbox', operator: 'DoesNotExist' }, { key: 'team', operator: 'NotIn', values: ['sre'] }, { key: 'owner', operator: 'Exists' }] },
      ],
    });
    expect(filter.matchesLabels({ env: 'prod', tier: 'db' })).to.equal(true);
    expect(filter.matchesLabels({ env: 'prod', tier: 'web' })).to.equal(false);
    expect(filter.matchesLabels({ owner: 'x' }), 'NotIn holds for a missing key').to.equal(true);
    expect(filter.matchesLabels({ owner: 'x', team: 'sre' })).to.equal(false);
    expect(filter.matchesLabels({ owner: 'x', sandbox: '' })).to.equal(false);
    expect(filter.matchesLabels({ constructor: 'x' } as Record<string, string>)).to.equal(false);
  });
});
