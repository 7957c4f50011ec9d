import { expect } from 'chai';
import { parseBindAddress } from './bind-address.ts';

describe('parseBindAddress', () => {
  it('reads host:port, :port and [ipv6]:port', () => {
    expect(parseBindAddress(':9443')).to.deep.equal({ host: undefined, port: 9443 });
    expect(parseBindAddress('127.0.0.1:0')).to.deep.equal({ host: '127.0.0.1', port: 0 });
    expect(parseBindAddress('[::1]:9443')).to.deep.equal({ host: '::1', port: 9443 });
  });

  it('refuses addresses without a valid port', () => {
    for (const address of ['9443', 'localhost', ':70000', 'host:port']) {
      expect(() => parseBindAddress(address), address).to.throw(/must be host:port or :port/);
    }
  });
});
