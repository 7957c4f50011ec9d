import { expect } from 'chai';
import { Agent, request } from 'node:http';
import { listen } from './listen.ts';

function get(port: number, agent: Agent): Promise<{ status: number; connection: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('listen', () => {
  it('closes at once even while a keep-alive client keeps sending: a closing server answers with Connection: close', async () => {
    const server = await listen((_req, res) => setTimeout(() => res.end('ok'), 20), '127.0.0.1:0');
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      expect((await get(server.port, agent)).connection).to.equal('keep-alive');
      // A request in flight when close() starts, and the client's next one right behind it.
      const inFlight = get(server.port, agent);
      await new Promise((resolve) => setTimeout(resolve, 5));
      const started = performance.now();
      const closed = server.close();
      expect(await inFlight).to.deep.equal({ status: 200, connection: 'close' });
      await closed;
      expect(performance.now() - started, 'ms until closed (keep-alive timeout is 65 s)').to.be.below(5_000);
    } finally {
      agent.destroy();
    }
  });
});
