import { expect } from 'chai';
import { AUTO_LOGIN_WINDOW_MS, LOGIN_REDIRECT_KEY, LoginRedirectGuard } from './login-guard.ts';

function memoryStore(): Storage {
  const map = new Map<string, string>();
  return {
    getItem: (k: string) => map.get(k) ?? null,
    setItem: (k: string, v: string) => void map.set(k, v),
    removeItem: (k: string) => void map.delete(k),
  } as Storage;
}

describe('UI login redirect guard', () => {
  it('allows one automatic redirect within the window, then again once it has passed', () => {
    const store = memoryStore();
    let now = 1_000_000;
    const guard = new LoginRedirectGuard(store, () => now);
    expect(guard.mayRedirectAutomatically(), 'nothing recorded').to.equal(true);
    guard.record();
    now += 1000;
    // The IdP sent the browser straight back and the API refused again: no second redirect.
    expect(new LoginRedirectGuard(store, () => now).mayRedirectAutomatically(), 'after the round trip (a new page)').to.equal(false);
    now += AUTO_LOGIN_WINDOW_MS - 1001;
    expect(guard.mayRedirectAutomatically()).to.equal(false);
    now += 1;
    expect(guard.mayRedirectAutomatically()).to.equal(true);
  });

  it('does not count a redirect that never happened', () => {
    const store = memoryStore();
    const guard = new LoginRedirectGuard(store, () => 5_000_000);
    const at = guard.record();
    guard.forget(at);
    expect(guard.mayRedirectAutomatically()).to.equal(true);
    // A newer redirect is not forgotten by an older attempt.
    const newer = new LoginRedirectGuard(store, () => 5_000_100).record();
    guard.forget(at);
    expect(store.getItem(LOGIN_REDIRECT_KEY)).to.equal(String(newer));
  });

  it('ignores garbage and times far off (a changed clock)', () => {
    const store = memoryStore();
    const guard = new LoginRedirectGuard(store, () => 10_000_000);
    store.setItem(LOGIN_REDIRECT_KEY, 'x');
    expect(guard.mayRedirectAutomatically()).to.equal(true);
    store.setItem(LOGIN_REDIRECT_KEY, String(10_000_000 + 3_600_000));
    expect(guard.mayRedirectAutomatically()).to.equal(true);
    store.setItem(LOGIN_REDIRECT_KEY, String(10_000_000 + 10_000));
    expect(guard.mayRedirectAutomatically(), 'a little ahead still counts').to.equal(false);
  });
});
