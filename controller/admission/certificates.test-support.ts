/**
 * Test support: a throwaway CA and a serving certificate signed by it, made with the openssl
 * CLI (Node has no X.509 generation API). Used by the admission unit tests and the e2e suite;
 * the controller itself never generates certificates.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestCertificateAuthority {
  certPem: string;
  keyPath: string;
  certPath: string;
}

export interface TestServingCertificate {
  certPem: string;
  keyPem: string;
}

const CA_CONFIG = `[req]
distinguished_name = dn
x509_extensions = ca
prompt = no
[dn]
CN = breakglass-test-ca
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
`;

/** Creates a CA (key and certificate files) in dir. */
export async function createTestCa(dir: string, commonName = 'breakglass-test-ca'): Promise<TestCertificateAuthority> {
  const id = randomBytes(4).toString('hex');
  const configPath = join(dir, `ca-${id}.cnf`);
  const keyPath = join(dir, `ca-${id}.key`);
  const certPath = join(dir, `ca-${id}.crt`);
  await writeFile(configPath, CA_CONFIG.replace('breakglass-test-ca', commonName));
  await run('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-days', '2', '-config', configPath, '-keyout', keyPath, '-out', certPath,
  ]);
  return { certPem: await readFile(certPath, 'utf8'), keyPath, certPath };
}

/**
 * Issues a serving certificate for the given IP addresses and DNS names, signed by ca.
 * Files are written in dir under unique names; the PEM text is returned.
 */
export async function issueServingCertificate(
  dir: string,
  ca: TestCertificateAuthority,
  sans: { ips?: string[]; dnsNames?: string[] },
): Promise<TestServingCertificate> {
  const id = randomBytes(4).toString('hex');
  const keyPath = join(dir, `serving-${id}.key`);
  const csrPath = join(dir, `serving-${id}.csr`);
  const certPath = join(dir, `serving-${id}.crt`);
  const extPath = join(dir, `serving-${id}.ext`);
  const altNames = [...(sans.ips ?? []).map((ip) => `IP:${ip}`), ...(sans.dnsNames ?? []).map((dns) => `DNS:${dns}`)];
  await writeFile(
    extPath,
    [
      'basicConstraints = critical, CA:FALSE',
      'keyUsage = critical, digitalSignature, keyEncipherment',
      'extendedKeyUsage = serverAuth',
      `subjectAltName = ${altNames.join(', ')}`,
      '',
    ].join('\n'),
  );
  await run('openssl', [
    'req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-subj', `/CN=${sans.dnsNames?.[0] ?? sans.ips?.[0] ?? 'breakglass-webhook'}`,
    '-keyout', keyPath, '-out', csrPath,
  ]);
  await run('openssl', [
    'x509', '-req', '-in', csrPath, '-CA', ca.certPath, '-CAkey', ca.keyPath,
    '-set_serial', `0x${randomBytes(8).toString('hex')}`, '-days', '2', '-extfile', extPath, '-out', certPath,
  ]);
  return { certPem: await readFile(certPath, 'utf8'), keyPem: await readFile(keyPath, 'utf8') };
}
