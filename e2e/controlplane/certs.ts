/**
 * Test PKI made with openssl: a CA, serving certificates with IP/DNS SANs, RSA key pairs.
 * Node has no X.509 issuing API, and openssl is on every Debian machine.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

async function openssl(args: string[], cwd: string): Promise<void> {
  await run('openssl', args, { cwd });
}

export interface CertificateFiles {
  certFile: string;
  keyFile: string;
}

/** A self-signed CA valid for a day (tests never outlive it). */
export async function createCa(dir: string, name = 'breakglass-test-ca'): Promise<CertificateFiles> {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  await openssl(
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile,
      '-days', '2', '-subj', `/CN=${name}`, '-addext', 'basicConstraints=critical,CA:TRUE',
      '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
    dir,
  );
  return { certFile, keyFile };
}

/** A serving certificate signed by `ca` for the given IPs and DNS names. */
export async function createServingCert(
  dir: string,
  ca: CertificateFiles,
  name: string,
  sans: { ips?: string[]; dns?: string[] },
): Promise<CertificateFiles> {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  const altNames = [...(sans.ips ?? []).map((ip) => `IP:${ip}`), ...(sans.dns ?? []).map((d) => `DNS:${d}`)];
  await writeFile(
    ext,
    `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=${altNames.join(',')}\n`,
  );
  await openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', csr, '-subj', `/CN=${name}`], dir);
  await openssl(
    ['x509', '-req', '-in', csr, '-CA', ca.certFile, '-CAkey', ca.keyFile, '-CAcreateserial', '-out', certFile,
      '-days', '2', '-extfile', ext],
    dir,
  );
  return { certFile, keyFile };
}

/** An RSA key pair (private key + public key PEM), e.g. for service-account token signing. */
export async function createKeyPair(dir: string, name: string): Promise<{ privateKeyFile: string; publicKeyFile: string }> {
  const privateKeyFile = join(dir, `${name}.key`);
  const publicKeyFile = join(dir, `${name}.pub`);
  await openssl(['genrsa', '-out', privateKeyFile, '2048'], dir);
  await openssl(['rsa', '-in', privateKeyFile, '-pubout', '-out', publicKeyFile], dir);
  return { privateKeyFile, publicKeyFile };
}
