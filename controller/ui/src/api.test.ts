import { expect } from 'chai';
import { errorMessage } from './api.ts';

describe('ui API error messages', () => {
  const response = { status: 422, statusText: 'Unprocessable Entity' };

  it("shows the API's error text with its details", () => {
    expect(errorMessage({ error: 'missing required request reason', code: 'UNPROCESSABLE_ENTITY' }, response)).to.equal('missing required request reason');
    expect(errorMessage({ error: 'invalid state filter', code: 'BAD_REQUEST', details: 'unsupported: x' }, response)).to.equal(
      'invalid state filter (unsupported: x)',
    );
  });

  it('falls back to the HTTP status for bodies that are not API errors', () => {
    expect(errorMessage('<html>bad gateway</html>', { status: 502, statusText: 'Bad Gateway' })).to.equal('Request failed: 502 Bad Gateway');
    expect(errorMessage(undefined, { status: 500, statusText: '' })).to.equal('Request failed: 500');
  });
});
