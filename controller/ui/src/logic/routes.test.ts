import { expect } from 'chai';
import { isInPageLink, matchRoute, safeReturn, sessionPath } from './routes.ts';

describe('ui routes', () => {
  it('maps the contract URLs to pages', () => {
    expect(matchRoute('/')).to.deep.equal({ page: 'request' });
    expect(matchRoute('/approvals')).to.deep.equal({ page: 'approvals' });
    expect(matchRoute('/approvals/')).to.deep.equal({ page: 'approvals' });
    expect(matchRoute('/sessions')).to.deep.equal({ page: 'sessions' });
    expect(matchRoute('/sessions/prod-1-admin-x7k2p')).to.deep.equal({ page: 'session', name: 'prod-1-admin-x7k2p' });
    expect(matchRoute('/sessions/a/b')).to.deep.equal({ page: 'notFound' });
    expect(matchRoute('/sessions/%E0%A4%A')).to.deep.equal({ page: 'notFound' });
    expect(matchRoute('/elsewhere')).to.deep.equal({ page: 'notFound' });
  });

  it('links to a session detail page and back to the same route', () => {
    expect(sessionPath('prod-1-admin-x7k2p')).to.equal('/sessions/prod-1-admin-x7k2p');
    expect(matchRoute(sessionPath('a b'))).to.deep.equal({ page: 'session', name: 'a b' });
  });

  it('returns after login only to a page of this app', () => {
    expect(safeReturn('/sessions?x=1')).to.equal('/sessions?x=1');
    expect(safeReturn('/?search=prod-1&group=admin')).to.equal('/?search=prod-1&group=admin');
    for (const bad of ['//evil.example/x', '/\\evil.example', 'https://evil.example/', '', undefined, 42, '/auth/callback', '/auth/callback?code=x']) {
      expect(safeReturn(bad), String(bad)).to.equal('/');
    }
  });

  it('leaves links to a fragment of the shown page to the browser (the skip link), routes the others', () => {
    const here = { pathname: '/sessions', search: '?x=1' };
    expect(isInPageLink('#main', { pathname: '/sessions', search: '?x=1', hash: '#main' }, here)).to.equal(true);
    expect(isInPageLink('/sessions?x=1#main', { pathname: '/sessions', search: '?x=1', hash: '#main' }, here)).to.equal(true);
    expect(isInPageLink('/approvals', { pathname: '/approvals', search: '', hash: '' }, here)).to.equal(false);
    expect(isInPageLink('/approvals#main', { pathname: '/approvals', search: '', hash: '#main' }, here), 'another page').to.equal(false);
    expect(isInPageLink('/sessions', { pathname: '/sessions', search: '', hash: '' }, here)).to.equal(false);
    expect(isInPageLink(null, { pathname: '/', search: '', hash: '' }, here)).to.equal(false);
  });
});
