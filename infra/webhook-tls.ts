/**
 * How the admission webhook server gets its serving certificate, and how the API server learns
 * the CA that signed it.
 */
import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { checkInstanceName, commonLabels, DEFAULT_INSTANCE_NAME, DEFAULT_NAMESPACE, objectNames } from './naming.ts';

/** cert-manager issues the serving certificate; its cainjector fills in the caBundle. */
export interface CertManagerWebhookTls {
  readonly mode: 'cert-manager';
  /**
   * An existing Issuer (in the controller namespace) or ClusterIssuer to sign the certificate.
   * @default - a self-signed CA chain created in the controller namespace
   */
  readonly issuerRef?: { readonly name: string; readonly kind?: 'Issuer' | 'ClusterIssuer' };
}

/** The serving certificate is provided by the user in a Secret; the caBundle is inlined. */
export interface SecretWebhookTls {
  readonly mode: 'secret';
  /** Secret in the controller namespace with `tls.crt` and `tls.key`. */
  readonly secretName: string;
  /** Base64 of the PEM CA certificate that signed the serving certificate. */
  readonly caBundle: string;
}

export type WebhookTls = CertManagerWebhookTls | SecretWebhookTls;

const CERT_MANAGER_API_VERSION = 'cert-manager.io/v1';

/** Checks that a caBundle is base64 of a PEM certificate (the API server stores any bytes). */
export function assertCaBundle(caBundle: string): void {
  const decoded = /^[A-Za-z0-9+/=\s]+$/.test(caBundle) ? Buffer.from(caBundle, 'base64').toString('utf8') : '';
  if (!decoded.includes('-----BEGIN CERTIFICATE-----')) {
    throw new Error('webhookTls.caBundle must be the base64 encoding of a PEM CA certificate');
  }
}

export interface CertManagerCertificateProps {
  /**
   * Prefix of the object names (a DNS-1035 label of at most 30 characters).
   * @default 'breakglass'
   */
  readonly name?: string;
  /**
   * Namespace of the Certificate, Issuers and Secrets.
   * @default 'breakglass-system'
   */
  readonly namespace?: string;
  /** Name of the webhook Service; the certificate is valid for its cluster DNS names. */
  readonly serviceName: string;
  /**
   * Issuer of the serving certificate.
   * @default - a self-signed Issuer signs a CA Certificate, and a CA Issuer over it signs the serving certificate
   */
  readonly issuerRef?: { readonly name: string; readonly kind?: 'Issuer' | 'ClusterIssuer' };
}

/**
 * The cert-manager objects of the webhook serving certificate. With the default issuer the
 * serving Secret's `ca.crt` is the private CA, which cainjector copies into the
 * ValidatingWebhookConfiguration named by `injectCaFrom`.
 */
export class CertManagerCertificate extends Construct {
  /** Secret the serving certificate is written to (`tls.crt`, `tls.key`, `ca.crt`). */
  public readonly secretName: string;
  /** Value of the `cert-manager.io/inject-ca-from` annotation: `<namespace>/<certificate>`. */
  public readonly injectCaFrom: string;
  public readonly certificate: ApiObject;

  constructor(scope: Construct, id: string, props: CertManagerCertificateProps) {
    super(scope, id);
    const instance = checkInstanceName(props.name ?? DEFAULT_INSTANCE_NAME);
    const namespace = props.namespace ?? DEFAULT_NAMESPACE;
    const names = objectNames(instance);
    const labels = commonLabels(instance);
    const object = (cid: string, kind: string, name: string, spec: Record<string, unknown>) =>
      new ApiObject(this, cid, { apiVersion: CERT_MANAGER_API_VERSION, kind, metadata: { name, namespace, labels }, spec });

    let issuerRef = props.issuerRef ? { kind: 'Issuer', ...props.issuerRef } : undefined;
    if (!issuerRef) {
      object('SelfSignedIssuer', 'Issuer', names.selfSignedIssuer, { selfSigned: {} });
      object('CaCertificate', 'Certificate', names.caCertificate, {
        isCA: true,
        commonName: names.caCertificate,
        secretName: names.caCertificate,
        duration: '87600h',
        privateKey: { algorithm: 'ECDSA', size: 256 },
        issuerRef: { group: 'cert-manager.io', kind: 'Issuer', name: names.selfSignedIssuer },
      });
      object('CaIssuer', 'Issuer', names.caIssuer, { ca: { secretName: names.caCertificate } });
      issuerRef = { kind: 'Issuer', name: names.caIssuer };
    }

    this.secretName = servingCertSecretName(instance, { mode: 'cert-manager' });
    this.certificate = object('ServingCertificate', 'Certificate', names.webhookServingCertificate, {
      secretName: this.secretName,
      dnsNames: [`${props.serviceName}.${namespace}.svc`, `${props.serviceName}.${namespace}.svc.cluster.local`],
      privateKey: { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always' },
      issuerRef: { group: 'cert-manager.io', ...issuerRef },
    });
    this.injectCaFrom = `${namespace}/${names.webhookServingCertificate}`;
  }
}

/** Name of the Secret holding the serving certificate for a TLS mode. */
export function servingCertSecretName(instance: string, tls: WebhookTls): string {
  return tls.mode === 'secret' ? tls.secretName : objectNames(instance).webhookServerCertSecret;
}
