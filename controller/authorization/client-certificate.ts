/**
 * Verifies a TLS client certificate against one ClusterConfig's CA bundle (issue 9 item 3, the
 * client-certificate option of `spec.webhookAuthentication`). The TLS listener only asks for a
 * certificate (which CA applies depends on the cluster in the URL), so the chain is checked here
 * with node:crypto's X509Certificate: the leaf, through intermediates the client sent, up to a
 * certificate of the bundle; every signature, every validity window, CA flags on issuers, the
 * clientAuth extended key usage when the leaf restricts its usages, and the expected subject CN.
 * Revocation (CRL, OCSP) is not checked: short-lived certificates are the remedy.
 */
import { X509Certificate } from 'node:crypto';

/** The extended key usage OID of TLS client authentication. */
const CLIENT_AUTH_OID = '1.3.6.1.5.5.7.3.2';
/** Longest chain followed from the leaf to an anchor (leaf, intermediates, anchor). */
const MAX_DEPTH = 5;
const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

export type CertificateCheck = { readonly ok: true; readonly commonName: string | undefined } | { readonly ok: false; readonly reason: string };

/** The certificates of a PEM bundle; blocks that do not parse are skipped (an empty result means no usable CA). */
export function parseCaBundle(pem: string): X509Certificate[] {
  const out: X509Certificate[] = [];
  for (const block of pem.match(PEM_BLOCK) ?? []) {
    try {
      out.push(new X509Certificate(block));
    } catch {
      // Not a certificate; the bundle's other blocks still count.
    }
  }
  return out;
}

/** The subject CN, when the subject has exactly one. */
export function subjectCommonName(certificate: X509Certificate): string | undefined {
  const names = certificate.subject
    .split('\n')
    .filter((line) => line.startsWith('CN='))
    .map((line) => line.slice(3));
  return names.length === 1 ? names[0] : undefined;
}

function validAt(certificate: X509Certificate, nowMs: number): boolean {
  const from = Date.parse(certificate.validFrom);
  const to = Date.parse(certificate.validTo);
  return Number.isFinite(from) && Number.isFinite(to) && from <= nowMs && nowMs <= to;
}

function issuedBy(child: X509Certificate, issuer: X509Certificate): boolean {
  // checkIssued compares names (and key identifiers); verify proves the signature.
  return child.checkIssued(issuer) && child.verify(issuer.publicKey);
}

export interface VerifyOptions {
  /** DER certificates the client sent, leaf first. */
  readonly presented: readonly Buffer[];
  readonly anchors: readonly X509Certificate[];
  readonly nowMs: number;
  /** The subject CN the leaf must carry; undefined: any. */
  readonly commonName?: string;
}

export function verifyClientCertificate(options: VerifyOptions): CertificateCheck {
  const [leafDer, ...rest] = options.presented;
  if (leafDer === undefined) return { ok: false, reason: 'a client certificate is required' };
  let leaf: X509Certificate;
  let intermediates: X509Certificate[];
  try {
    leaf = new X509Certificate(leafDer);
    intermediates = rest.map((der) => new X509Certificate(der));
  } catch {
    return { ok: false, reason: 'the client certificate cannot be parsed' };
  }
  if (!validAt(leaf, options.nowMs)) return { ok: false, reason: 'the client certificate is expired or not yet valid' };
  if (leaf.ca) return { ok: false, reason: 'the client certificate is a CA certificate' };
  // Node 20 exposes the extended key usages as `keyUsage`; absent means unrestricted.
  const usages = leaf.keyUsage as string[] | undefined;
  if (usages !== undefined && !usages.includes(CLIENT_AUTH_OID)) {
    return { ok: false, reason: 'the client certificate is not valid for client authentication (extended key usage)' };
  }
  let current = leaf;
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    const anchor = options.anchors.find((ca) => validAt(ca, options.nowMs) && issuedBy(current, ca));
    if (anchor !== undefined) {
      const commonName = subjectCommonName(leaf);
      if (options.commonName !== undefined && commonName !== options.commonName) {
        return { ok: false, reason: 'the client certificate subject CN is not the one this cluster expects' };
      }
      return { ok: true, commonName };
    }
    const next = intermediates.find((i) => i !== current && i.ca && validAt(i, options.nowMs) && issuedBy(current, i));
    if (next === undefined) break;
    current = next;
  }
  return { ok: false, reason: 'the client certificate was not issued by the CA this cluster trusts' };
}
