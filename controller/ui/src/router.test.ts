import { expect } from 'chai';
import { onLinkClick } from './router.ts';

/** The router's click handler against a stand-in window and anchor (no DOM in mocha). */
describe('UI router link clicks', () => {
  const saved = Object.getOwnPropertyDescriptor(globalThis, 'window');
  let pushed: string[];

  beforeEach(() => {
    pushed = [];
    const location = { origin: 'https://bg.example', pathname: '/sessions', search: '', hash: '' };
    Object.defineProperty(globalThis, 'window', {
      configurable: true,
      value: { location, history: { pushState: (_s: unknown, _t: string, url: string) => pushed.push(url), replaceState: () => undefined } },
    });
  });
  afterEach(() => {
    if (saved) Object.defineProperty(globalThis, 'window', saved);
    else delete (globalThis as { window?: unknown }).window;
  });

  function click(href: string): { prevented: boolean } {
    const url = new URL(href, 'https://bg.example/sessions');
    const anchor = {
      target: '',
      origin: url.origin,
      pathname: url.pathname,
      search: url.search,
      hash: url.hash,
      getAttribute: (name: string) => (name === 'href' ? href : null),
      hasAttribute: () => false,
    };
    const event = {
      defaultPrevented: false,
      button: 0,
      metaKey: false,
      ctrlKey: false,
      shiftKey: false,
      altKey: false,
      target: { closest: () => anchor },
      preventDefault() {
        this.defaultPrevented = true;
      },
    };
    onLinkClick(event as unknown as MouseEvent);
    return { prevented: event.defaultPrevented };
  }

  it('leaves the skip link to the browser, so focus moves to <main>', () => {
    expect(click('#main').prevented).to.equal(false);
    expect(pushed).to.deep.equal([]);
  });

  it('routes links to other pages without a reload', () => {
    expect(click('/approvals').prevented).to.equal(true);
    expect(pushed).to.deep.equal(['/approvals']);
  });
});
