import { expect } from 'chai';
import { refreshTokenUsable } from './token.ts';

const jwt = (claims: object) => `eyJhbGciOiJIUzUxMiJ9.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.c2ln`;

describe('ui refresh token check', () => {
  const now = new Date('2026-12-01T12:00:00Z');
  const at = (iso: string) => Math.floor(Date.parse(iso) / 1000);

  it('sends a refresh token that has not expired yet', () => {
    expect(refreshTokenUsable(jwt({ exp: at('2026-12-01T12:30:00Z'), typ: 'Refresh' }), now)).to.equal(true);
  });

  it('skips one that has expired or is about to', () => {
    expect(refreshTokenUsable(jwt({ exp: at('2026-12-01T11:59:00Z') }), now)).to.equal(false);
    expect(refreshTokenUsable(jwt({ exp: at('2026-12-01T12:00:03Z') }), now)).to.equal(false);
    expect(refreshTokenUsable(undefined, now)).to.equal(false);
    expect(refreshTokenUsable('', now)).to.equal(false);
  });

  it('tries opaque or unreadable tokens (the IdP decides)', () => {
    expect(refreshTokenUsable('opaque-token', now)).to.equal(true);
    expect(refreshTokenUsable('a.%%%.c', now)).to.equal(true);
    expect(refreshTokenUsable(jwt({ typ: 'Offline' }), now)).to.equal(true);
  });
});
