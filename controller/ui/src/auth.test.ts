/**
 * Auth's login redirects against a stand-in window and a stubbed UserManager: a token the API
 * keeps refusing must not loop between the app and an IdP whose session sends the browser back.
 */
import { expect } from 'chai';
import type { User } from 'oidc-client-ts';
import type { Auth as AuthClass } from './auth.ts';
import { AUTO_LOGIN_WINDOW_MS } from './logic/login-guard.ts';

function memoryStorage(): Storage {
  const map = new Map<string, string>();
  return {
    getItem: (k: string) => map.get(k) ?? null,
    setItem: (k: string, v: string) => void map.set(k, v),
    removeItem: (k: string) => void map.delete(k),
    clear: () => map.clear(),
    key: (i: number) => [...map.keys()][i] ?? null,
    get length() {
      return map.size;
    },
  };
}

describe('UI login redirects', () => {
  const saved = Object.getOwnPropertyDescriptor(globalThis, 'window');
  let storage: Storage;
  let Auth: typeof AuthClass;
  let redirects: string[];
  let clock: number;
  const realNow = Date.now;

  before(async () => {
    Object.defineProperty(globalThis, 'window', {
      configurable: true,
      value: { sessionStorage: memoryStorage(), localStorage: memoryStorage(), location: { pathname: '/sessions', search: '?x=1', origin: 'https://bg.example' } },
    });
    ({ Auth } = await import('./auth.ts'));
  });
  beforeEach(() => {
    storage = memoryStorage();
    (globalThis as unknown as { window: { sessionStorage: Storage } }).window.sessionStorage = storage;
    redirects = [];
    clock = 1_700_000_000_000;
    Date.now = () => clock;
  });
  afterEach(() => {
    Date.now = realNow;
  });
  after(() => {
    if (saved) Object.defineProperty(globalThis, 'window', saved);
    else delete (globalThis as { window?: unknown }).window;
  });

  /** One page load of the app: a new Auth on the tab's sessionStorage, logged in without a refresh token. */
  function page(): AuthClass {
    const auth = new Auth({ oidcAuthority: 'https://idp.example/realms/r', oidcClientID: 'ui' }, 'https://bg.example');
    const user = { access_token: 'refused', expired: false, refresh_token: undefined } as unknown as User;
    auth.manager.getUser = async () => user;
    auth.manager.removeUser = async () => undefined;
    auth.manager.signinSilent = async () => {
      throw new Error('no refresh token');
    };
    auth.manager.signinRedirect = async (args) => {
      redirects.push((args?.state as { returnTo: string }).returnTo);
    };
    return auth;
  }

  it('redirects automatically once, then, back from the IdP at once, no more: the user is asked', async () => {
    expect(await page().renewOrLogin()).to.deep.equal({ kind: 'redirecting' });
    expect(redirects).to.deep.equal(['/sessions?x=1']);
    // The IdP's live session sent the browser straight back; the API refuses again.
    clock += 2000;
    expect(await page().renewOrLogin()).to.deep.equal({ kind: 'suppressed' });
    clock += 3000;
    expect(await page().renewOrLogin()).to.deep.equal({ kind: 'suppressed' });
    expect(redirects, 'one automatic redirect within the window').to.have.length(1);
    // "Log in again" always goes.
    expect(await page().login(undefined, 'manual')).to.equal(true);
    expect(redirects).to.have.length(2);
    // ...and no automatic one follows it at once either.
    clock += 1000;
    expect(await page().renewOrLogin()).to.deep.equal({ kind: 'suppressed' });
    clock += AUTO_LOGIN_WINDOW_MS;
    expect(await page().renewOrLogin(), 'later, a renewal that fails logs in again by itself').to.deep.equal({ kind: 'redirecting' });
    expect(redirects).to.have.length(3);
  });

  it('does not count the first login of a page opened without one', async () => {
    expect(await page().login(undefined, 'initial')).to.equal(true);
    clock += 10_000;
    // The IdP session ended 10 s after logging in: the renewal fails and the app logs in again.
    expect(await page().renewOrLogin()).to.deep.equal({ kind: 'redirecting' });
    expect(redirects).to.have.length(2);
  });

  it('does not count a redirect that failed (IdP unreachable)', async () => {
    const failing = page();
    failing.manager.signinRedirect = async () => {
      throw new TypeError('Failed to fetch');
    };
    let thrown: unknown;
    await failing.renewOrLogin().catch((err: unknown) => (thrown = err));
    expect(thrown).to.be.instanceOf(TypeError);
    expect(await page().renewOrLogin()).to.deep.equal({ kind: 'redirecting' });
  });

  it('hands out the stored token while it is valid', async () => {
    expect(await page().accessToken()).to.deep.equal({ kind: 'token', token: 'refused' });
  });
});
