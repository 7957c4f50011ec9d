import { expect } from 'chai';
import { checkDuration, checkIdentifier, compileGlob, globError, globMatches } from './checks.ts';
import { Findings } from './field-error.ts';
import { fieldPath } from './structural.ts';

describe('validation checks', () => {
  describe('globs (Go path.Match semantics)', () => {
    const matches: Array<[string, string, boolean]> = [
      ['prod-*', 'prod-eu-1', true],
      ['prod-*', 'dev-1', false],
      ['prod-??-*', 'prod-eu-1', true],
      ['*', 'a/b', false],
      ['[a-c]-x', 'b-x', true],
      ['[^a-c]-x', 'b-x', false],
      ['a\\*b', 'a*b', true],
      ['a\\*b', 'axb', false],
      ['a.b', 'axb', false],
      ['prod-[', 'prod-[', true],
      ['*-prod-*', 'eu-prod-1', true],
      ['*-prod-*', 'eu/x-prod-1', false],
      ['*/*', 'a/b', true],
      ['a*b*c', 'axxbyyc', true],
      ['a*b*c', 'axxbyyc/', false],
      ['*a', 'aaa', true],
      ['[^x]*', '/a', true], // as Go: a class may match "/"
      ['?*', '/a', false],
    ];
    for (const [pattern, value, expected] of matches) {
      it(`"${pattern}" ${expected ? 'matches' : 'does not match'} "${value}"`, () => {
        expect(globMatches(pattern, value)).to.equal(expected);
        expect(compileGlob(pattern)(value), 'compiled').to.equal(expected);
      });
    }

    it('answers a long value that a pattern with several stars cannot match at once (no backtracking)', () => {
      // Hundreds of KB, as a resource name in a review or a cluster in a request may be: a
      // backtracking regular expression took minutes for these, far beyond the test's timeout.
      expect(compileGlob('*-prod-*')(`${'-prod-'.repeat(100_000)}/`)).to.equal(false);
      expect(compileGlob('*a*b*c*d')('a'.repeat(500_000))).to.equal(false);
      expect(compileGlob('*[ab]?*x')(`${'ab'.repeat(200_000)}y`)).to.equal(false);
      expect(compileGlob('*-prod-*')(`${'-prod-'.repeat(100_000)}`)).to.equal(true);
    });

    it('reports malformed patterns and accepts valid ones', () => {
      expect(globError('prod-[a-')).to.equal('has an unterminated or malformed character class');
      expect(globError('[]')).to.equal('has an unterminated or malformed character class');
      expect(globError('[z-a]')).to.equal('has an invalid character range z-a');
      expect(globError('trailing\\')).to.equal('ends with an unescaped backslash');
      for (const valid of ['*', 'prod-?', '[abc]', '[^a-z]x', 'a\\[b', 'plain']) expect(globError(valid), valid).to.equal(undefined);
    });
  });

  it('limits identifiers to the characters and length of the reference', () => {
    const findings = new Findings();
    checkIdentifier(findings, 'a', 'oidc:platform-admins');
    checkIdentifier(findings, 'b', 'jane.doe@example.com');
    checkIdentifier(findings, 'c', 'prod-*');
    checkIdentifier(findings, 'd', 'two words');
    checkIdentifier(findings, 'e', 'x'.repeat(254));
    checkIdentifier(findings, 'f', '');
    expect(findings.errors).to.deep.equal([
      { field: 'd', message: '"two words" contains invalid characters' },
      { field: 'e', message: 'must be at most 253 characters long' },
    ]);
  });

  it('parses extended durations and reports the day limit', () => {
    const findings = new Findings();
    expect(checkDuration(findings, 'spec.retainFor', '30d')).to.equal(30 * 24 * 3_600_000);
    expect(checkDuration(findings, 'spec.retainFor', '1d12h')).to.equal(36 * 3_600_000);
    expect(checkDuration(findings, 'spec.retainFor', '366d')).to.equal(undefined);
    expect(checkDuration(findings, 'spec.maxValidFor', '')).to.equal(undefined);
    expect(findings.errors).to.deep.equal([{ field: 'spec.retainFor', message: 'day value 366 exceeds maximum of 365' }]);
  });

  it('turns JSON pointers into dotted field paths', () => {
    expect(fieldPath('/spec/allowed/groups/2')).to.equal('spec.allowed.groups[2]');
    expect(fieldPath('/spec/rules/0', 'verbs')).to.equal('spec.rules[0].verbs');
    expect(fieldPath('/metadata/labels/app.kubernetes.io~1name')).to.equal('metadata.labels["app.kubernetes.io/name"]');
    expect(fieldPath('')).to.equal('');
  });
});
