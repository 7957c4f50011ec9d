/**
 * The HTTPS server of the admission webhooks (port 9443): the reloading TLS server of http/
 * with its defaults (no client certificates; the API server authenticates by our CA bundle).
 */
export { startTlsServer as startAdmissionServer, type TlsServer as AdmissionServer, type TlsServerOptions as AdmissionServerOptions } from '../http/tls-server.ts';
