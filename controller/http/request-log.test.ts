import { expect } from 'chai';
import Router from '@koa/router';
import { capturingLogger } from '../kube/capturing-logger.ts';
import { createApiApp } from './api-app.ts';
import { listen, type ListeningServer } from './listen.ts';

describe('request log', () => {
  let server: ListeningServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  async function start(level: string) {
    const { logger, records } = capturingLogger(level);
    const router = new Router();
    router.post('/routine', (ctx) => {
      ctx.state.accessLog = 'debug'; // as the authorization webhook marks its decisions
      ctx.body = { ok: true };
    });
    router.get('/plain', (ctx) => {
      ctx.body = { ok: true };
    });
    server = await listen(createApiApp({ logger, version: 't', routers: [router] }).callback(), '127.0.0.1:0');
    const base = `http://127.0.0.1:${server.port}`;
    return { records, base, lines: () => records.filter((r) => r.msg === 'http_request') };
  }

  it('writes routine answers at debug and every other request at info, echoing the request id', async () => {
    const { base, lines } = await start('info');
    const routine = await fetch(`${base}/routine`, { method: 'POST', headers: { 'X-Request-Id': 'abc-1' } });
    expect(routine.headers.get('x-request-id')).to.equal('abc-1');
    expect(routine.headers.get('x-content-type-options')).to.equal('nosniff');
    const plain = await fetch(`${base}/plain`, { headers: { 'X-Request-Id': 'not valid!' } });
    const generated = plain.headers.get('x-request-id') ?? '';
    expect(generated).to.match(/^[0-9a-f-]{36}$/);
    await fetch(`${base}/missing`);
    expect(lines().map((r) => [r.path, r.status, r.level])).to.deep.equal([
      ['/plain', 200, 'info'],
      ['/missing', 404, 'info'],
    ]);
    expect(lines()[0]?.requestId).to.equal(generated);
  });

  it('at debug level the routine answers are logged too', async () => {
    const { base, lines } = await start('debug');
    await fetch(`${base}/routine`, { method: 'POST' });
    expect(lines().map((r) => [r.path, r.status, r.level])).to.deep.equal([['/routine', 200, 'debug']]);
  });
});
