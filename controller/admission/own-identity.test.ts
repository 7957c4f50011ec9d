import { expect } from 'chai';
import pino from 'pino';
import { OwnIdentity } from './own-identity.ts';

function recordingLogger() {
  const lines: Array<Record<string, unknown>> = [];
  return { lines, logger: pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) }) };
}

describe('OwnIdentity', () => {
  it('knows the name once the API server has said it, and says so', async () => {
    const { lines, logger } = recordingLogger();
    const identity = new OwnIdentity(async () => 'system:serviceaccount:bg:breakglass', logger);
    expect(identity.get()).to.equal(undefined);
    await identity.start();
    expect(identity.get()).to.equal('system:serviceaccount:bg:breakglass');
    expect(lines.map((l) => l['msg'])).to.deep.equal(['own identity learned; status writes restricted to it']);
  });

  it('while the API server cannot say, leaves status writes open, warns once and asks again', async () => {
    const { lines, logger } = recordingLogger();
    let calls = 0;
    const identity = new OwnIdentity(async () => {
      calls++;
      if (calls === 1) throw new Error('connect ECONNREFUSED');
      return 'system:serviceaccount:bg:breakglass';
    }, logger);
    try {
      await identity.start();
      expect(identity.get()).to.equal(undefined);
      expect(lines.map((l) => [l['msg'], l['err']])).to.deep.equal([['own identity unknown; status writes are not restricted until it is', 'connect ECONNREFUSED']]);
      await new Promise((resolve) => setTimeout(resolve, 1200));
      expect(identity.get()).to.equal('system:serviceaccount:bg:breakglass');
      expect(calls).to.equal(2);
    } finally {
      identity.stop();
    }
  });
});
