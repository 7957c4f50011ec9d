/**
 * Test support: client certificates (and intermediate CAs) signed by a throwaway CA of
 * admission/certificates.test-support.ts, made with the openssl CLI. Used by the caller-auth
 * unit tests and the webhook e2e suite's spoke with client-certificate-data.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TestCertificateAuthority } from '../admission/certificates.test-support.ts';

const run = promisify(execFile);

export interface TestClientCertificate {
  certPem: string;
  keyPem: string;
  /** The certificate as a TLS peer sends it. */
  der: Buffer;
}

export interface IssueOptions {
  commonName: string;
  /** The extendedKeyUsage line; null leaves the extension out. @default 'clientAuth' */
  extendedKeyUsage?: string | null;
  /** Issue a CA certificate (an intermediate) instead of a leaf. */
  ca?: boolean;
}

async function issue(dir: string, issuer: TestCertificateAuthority, options: IssueOptions): Promise<{ keyPath: string; certPath: string }> {
  const id = randomBytes(4).toString('hex');
  const keyPath = join(dir, `client-${id}.key`);
  const csrPath = join(dir, `client-${id}.csr`);
  const certPath = join(dir, `client-${id}.crt`);
  const extPath = join(dir, `client-${id}.ext`);
  const usage = options.extendedKeyUsage === undefined ? 'clientAuth' : options.extendedKeyUsage;
  const lines = options.ca
    ? ['basicConstraints = critical, CA:TRUE', 'keyUsage = critical, keyCertSign, cRLSign', 'subjectKeyIdentifier = hash', 'authorityKeyIdentifier = keyid']
    : ['basicConstraints = critical, CA:FALSE', 'keyUsage = critical, digitalSignature', ...(usage === null ? [] : [`extendedKeyUsage = ${usage}`])];
  await writeFile(extPath, lines.join('\n') + '\n');
  await run('openssl', [
    'req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-subj', `/O=breakglass-test/CN=${options.commonName}`, '-keyout', keyPath, '-out', csrPath,
  ]);
  await run('openssl', [
    'x509', '-req', '-in', csrPath, '-CA', issuer.certPath, '-CAkey', issuer.keyPath,
    '-set_serial', `0x${randomBytes(8).toString('hex')}`, '-days', '2', '-extfile', extPath, '-out', certPath,
  ]);
  return { keyPath, certPath };
}

function der(pem: string): Buffer {
  const body = /-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/.exec(pem)?.[1] ?? '';
  return Buffer.from(body.replace(/\s+/g, ''), 'base64');
}

export async function issueClientCertificate(dir: string, issuer: TestCertificateAuthority, options: IssueOptions): Promise<TestClientCertificate> {
  const { keyPath, certPath } = await issue(dir, issuer, options);
  const certPem = await readFile(certPath, 'utf8');
  return { certPem, keyPem: await readFile(keyPath, 'utf8'), der: der(certPem) };
}

/** An intermediate CA signed by `issuer`, usable as the issuer of further certificates. */
export async function issueIntermediateCa(dir: string, issuer: TestCertificateAuthority, commonName: string): Promise<TestCertificateAuthority & { der: Buffer }> {
  const { keyPath, certPath } = await issue(dir, issuer, { commonName, ca: true });
  const certPem = await readFile(certPath, 'utf8');
  return { certPem, keyPath, certPath, der: der(certPem) };
}
