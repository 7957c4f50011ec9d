import { expect } from 'chai';
import { Api, ApiError, errorMessage, LoginError, type Fetch, type TokenOutcome, type TokenSource } from './api.ts';
import { API_UNREACHABLE, IDP_UNREACHABLE } from './logic/failures.ts';
import { PollLoop, type PollEnvironment } from './logic/poll-loop.ts';

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

const REFUSED = { error: 'token audience mismatch', code: 'UNAUTHORIZED' };

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

/** An Auth stand-in: hands out tokens and counts renewals. */
class FakeAuth implements TokenSource {
  renewals = 0;
  current: TokenOutcome = { kind: 'token', token: 't0' };
  renewal: () => Promise<TokenOutcome> = async () => ({ kind: 'token', token: `t${this.renewals}` });

  async accessToken(): Promise<TokenOutcome> {
    return this.current;
  }
  async renewOrLogin(): Promise<TokenOutcome> {
    this.renewals++;
    this.current = await this.renewal();
    return this.current;
  }
}

function client(answer: (token: string) => Response | Promise<Response>) {
  const auth = new FakeAuth();
  const tokens: string[] = [];
  const fetcher: Fetch = async (_path, init) => {
    const token = String((init.headers as Record<string, string>).Authorization).replace('Bearer ', '');
    tokens.push(token);
    return answer(token);
  };
  const api = new Api(auth, fetcher);
  const refusals: string[] = [];
  api.onLoginRefused((m) => refusals.push(m));
  return { auth, api, tokens, refusals };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('ui API client and the login', () => {
  it('renews a refused token once and repeats the request', async () => {
    const { api, auth, tokens, refusals } = client((token) => (token === 't0' ? json(401, REFUSED) : json(200, { ok: true })));
    expect(await api.get('/api/x')).to.deep.equal({ ok: true });
    expect(tokens).to.deep.equal(['t0', 't1']);
    expect(auth.renewals).to.equal(1);
    expect(refusals).to.deep.equal([]);
  });

  it('gives up when the freshly renewed token is refused too, with what the API said', async () => {
    const { api, auth, tokens, refusals } = client(() => json(401, REFUSED));
    const err = await rejection(api.get('/api/x'));
    expect(err).to.be.instanceOf(LoginError);
    expect((err as LoginError).message).to.equal('The API refused your login: token audience mismatch');
    expect((err as LoginError).redirecting).to.equal(false);
    expect(tokens).to.have.length(2);
    expect(auth.renewals).to.equal(1);
    expect(refusals).to.deep.equal(['The API refused your login: token audience mismatch']);
  });

  it('does not poll on after the refusal: no refresh storm', async () => {
    const { api, auth, tokens } = client(() => json(401, REFUSED));
    const timers: (() => void)[] = [];
    const env: PollEnvironment = {
      setInterval: (tick) => timers.push(tick),
      clearInterval: (id) => void (timers[id - 1] = () => undefined),
      hidden: () => false,
      onVisibilityChange: () => () => undefined,
    };
    const errors: unknown[] = [];
    const loop = new PollLoop({ load: () => api.get('/api/x'), data: () => undefined, error: (e) => errors.push(e), isFinal: (e) => e instanceof LoginError }, env, 3000);
    loop.start();
    for (let i = 0; i < 10; i++) {
      await new Promise((resolve) => setImmediate(resolve));
      for (const t of timers) t();
    }
    expect(auth.renewals, 'one renewal, not one per tick').to.equal(1);
    expect(tokens).to.have.length(2);
    expect(errors).to.have.length(1);
    expect(loop.active).to.equal(false);
  });

  it('says the API refused the login when no automatic login may follow (one just happened)', async () => {
    const { api, auth, tokens, refusals } = client(() => json(401, REFUSED));
    auth.renewal = async () => ({ kind: 'suppressed' });
    const err = await rejection(api.get('/api/x'));
    expect(err).to.be.instanceOf(LoginError);
    expect((err as LoginError).message).to.equal('The API refused your login: token audience mismatch');
    expect(tokens).to.have.length(1);
    expect(refusals).to.have.length(1);
  });

  it('reports a redirect to the IdP under way without offering a manual login', async () => {
    const { api, auth, refusals } = client(() => json(401, REFUSED));
    auth.renewal = async () => ({ kind: 'redirecting' });
    const err = await rejection(api.get('/api/x'));
    expect(err).to.be.instanceOf(LoginError);
    expect((err as LoginError).redirecting).to.equal(true);
    expect(refusals).to.deep.equal([]);
  });

  it('says so when an expired login could not be renewed and no redirect may follow', async () => {
    const { api, auth, tokens } = client(() => json(200, {}));
    auth.current = { kind: 'suppressed' };
    const err = await rejection(api.get('/api/x'));
    expect((err as LoginError).message).to.equal('Your login has expired and could not be renewed.');
    expect(tokens).to.deep.equal([]);
  });

  it("replaces the browser's bare network failure by a clear text", async () => {
    const { api } = client(() => {
      throw new TypeError('Failed to fetch');
    });
    const err = await rejection(api.post('/api/x', {}));
    expect(err).to.be.instanceOf(ApiError);
    expect((err as ApiError).message).to.equal(API_UNREACHABLE);
    const idp = client(() => json(401, REFUSED));
    idp.auth.renewal = async () => {
      throw new TypeError('Failed to fetch');
    };
    expect(((await rejection(idp.api.get('/api/x'))) as Error).message).to.equal(IDP_UNREACHABLE);
  });

  it('keeps the API error of other answers', async () => {
    const { api } = client(() => json(403, { error: 'not an approver', code: 'FORBIDDEN' }));
    const err = await rejection(api.get('/api/x'));
    expect(err).to.be.instanceOf(ApiError).and.not.instanceOf(LoginError);
    expect((err as ApiError).status).to.equal(403);
    expect((err as ApiError).message).to.equal('not an approver');
  });
});
