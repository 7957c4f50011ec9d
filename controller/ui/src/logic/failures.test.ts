import { expect } from 'chai';
import { API_UNREACHABLE, configFailureText, IDP_UNREACHABLE, isNetworkFailure, loginFailureText } from './failures.ts';

describe('UI failure texts', () => {
  it("replaces the browser's bare fetch failure by what happened", () => {
    for (const text of ['Failed to fetch', 'NetworkError when attempting to fetch resource.', 'Load failed']) {
      expect(isNetworkFailure(new TypeError(text)), text).to.equal(true);
    }
    expect(isNetworkFailure(new Error('invalid_grant'))).to.equal(false);
    expect(configFailureText(new TypeError('Failed to fetch'))).to.equal(`The configuration could not be loaded. ${API_UNREACHABLE}`);
    expect(configFailureText(new TypeError('Failed to fetch'))).not.to.match(/login failed|Failed to fetch/i);
    expect(loginFailureText(new TypeError('Failed to fetch'))).to.equal(`Login failed: ${IDP_UNREACHABLE}`);
  });

  it("keeps other failures' own words", () => {
    expect(loginFailureText(new Error('No matching state found in storage'))).to.equal('Login failed: No matching state found in storage');
    expect(configFailureText(new SyntaxError('Unexpected token <'))).to.equal('The configuration could not be loaded. Unexpected token <');
  });
});
