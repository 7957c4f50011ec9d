import { expect } from 'chai';
import { openApiDocument } from '../openapi.ts';
import { OpenApiValidator } from './openapi-validator.ts';

describe('OpenApiValidator', () => {
  const validator = new OpenApiValidator(openApiDocument('test'));
  const limited = { error: 'Rate limit exceeded, please try again later', code: 'TOO_MANY_REQUESTS' };
  const check = (headers: Record<string, string>) => () => validator.check('GET', '/api/breakglassSessions', 429, limited, new Headers(headers));

  it('accepts a 429 with a Retry-After of whole seconds', () => {
    expect(check({ 'retry-after': '3' })).to.not.throw();
  });

  it('refuses a 429 without the documented Retry-After', () => {
    expect(check({})).to.throw(/Retry-After is missing/);
  });

  it('refuses a Retry-After that is no positive integer', () => {
    expect(check({ 'retry-after': 'soon' })).to.throw(/header Retry-After: "soon"/);
    expect(check({ 'retry-after': '0' })).to.throw(/header Retry-After: "0"/);
    expect(check({ 'retry-after': '1.5' })).to.throw(/header Retry-After: "1.5"/);
  });

  it('checks headers only when given them', () => {
    expect(() => validator.check('GET', '/api/breakglassSessions', 429, limited)).to.not.throw();
  });
});
