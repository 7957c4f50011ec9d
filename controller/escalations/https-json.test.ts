import { expect } from 'chai';
import { rootCertificates } from 'node:tls';
import { trustedCertificateAuthorities } from './https-json.ts';

describe('HttpsJsonClient TLS trust', () => {
  const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----';

  it('trusts only the configured CA, never the public roots, before sending the client secret', () => {
    const cas = trustedCertificateAuthorities(`  ${pem}\n`);
    expect(cas).to.deep.equal([pem]);
    expect(cas?.some((c) => rootCertificates.includes(c))).to.equal(false);
  });

  it('uses the system roots (no ca option) when no CA is configured', () => {
    expect(trustedCertificateAuthorities(undefined)).to.equal(undefined);
    expect(trustedCertificateAuthorities('  ')).to.equal(undefined);
  });
});
