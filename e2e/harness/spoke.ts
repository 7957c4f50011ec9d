/**
 * A spoke cluster for the e2e suite and the demo: a second kube-apiserver + etcd from the cached
 * binaries that trusts the test Keycloak's JWTs (username = email, groups prefixed `oidc:`) and
 * asks the hub's authorization webhook after RBAC (failurePolicy Deny, no caching, `system:`
 * users skipped), plus the TLS terminator that stands in for the hub's ingress. The spoke's
 * webhook kubeconfig presents a bearer token (through the terminator) or a client certificate
 * (straight to the controller's --sar-tls listener: a terminator would hide it).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import { stringify } from 'yaml';
import { createCa, createServingCert } from '../controlplane/certs.ts';
import { startControlPlane, type ControlPlane } from '../controlplane/controlplane.ts';
import type { KeycloakHandle } from '../keycloak/keycloak.ts';

export interface TlsTerminator {
  port: number;
  caPem: string;
  stop(): Promise<void>;
}

/**
 * TLS in front of the replicas' plain-HTTP API ports, as an ingress terminates it in production:
 * kube-apiserver sends the webhook kubeconfig's bearer token only over TLS. Connections go round
 * robin to the replicas and skip one that refuses, so a stopped replica (the demo's leader
 * handoff) does not take the webhook down.
 */
export async function startTlsTerminator(targetPorts: number[]): Promise<TlsTerminator> {
  const dir = await mkdtemp(join(tmpdir(), 'breakglass-ingress-tls-'));
  const ca = await createCa(dir, 'ingress-ca');
  const serving = await createServingCert(dir, ca, 'ingress', { ips: ['127.0.0.1'] });
  const sockets = new Set<Socket>();
  let next = 0;
  const server = createTlsServer({ cert: await readFile(serving.certFile), key: await readFile(serving.keyFile) }, (client) => {
    sockets.add(client);
    client.on('error', () => client.destroy()).on('close', () => sockets.delete(client));
    const attempt = (left: number): void => {
      const port = targetPorts[next++ % targetPorts.length]!;
      const upstream = connect(port, '127.0.0.1');
      sockets.add(upstream);
      const refused = (): void => {
        upstream.destroy();
        sockets.delete(upstream);
        if (left > 1 && !client.destroyed) attempt(left - 1);
        else client.destroy();
      };
      upstream.once('error', refused);
      upstream.once('connect', () => {
        upstream.off('error', refused);
        const close = () => {
          client.destroy();
          upstream.destroy();
          sockets.delete(upstream);
        };
        client.pipe(upstream).pipe(client);
        client.on('close', close);
        upstream.on('error', close).on('close', close);
      });
    };
    attempt(targetPorts.length);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    caPem: await readFile(ca.certFile, 'utf8'),
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}


export interface SpokeOptions {
  keycloak: KeycloakHandle;
  /** The hub's webhook URL for this spoke: `https://<ingress>/api/breakglass/webhook/authorize/<cluster>`. */
  webhookUrl: string;
  /** The CA that signed the ingress's serving certificate. */
  webhookCaPem: string;
  /** The bearer token the spoke presents (the ClusterConfig's webhookAuthentication.tokenSecretRef Secret holds it). */
  webhookToken?: string;
  /**
   * Or the client certificate it presents (client-certificate-data; the ClusterConfig's
   * webhookAuthentication.clientCertificate names the CA); the hub's TLS listener sees it.
   */
  webhookClientCertificate?: { certPem: string; keyPem: string };
  log?: (line: string) => void;
}

function webhookUser(options: SpokeOptions): Record<string, string> {
  const certificate = options.webhookClientCertificate;
  if (certificate !== undefined) {
    return {
      'client-certificate-data': Buffer.from(certificate.certPem).toString('base64'),
      'client-key-data': Buffer.from(certificate.keyPem).toString('base64'),
    };
  }
  if (options.webhookToken === undefined) throw new Error('a spoke needs webhookToken or webhookClientCertificate');
  return { token: options.webhookToken };
}

/** Starts the spoke; stop it with `stop()` like any control plane of the harness. */
export async function startSpokeControlPlane(options: SpokeOptions): Promise<ControlPlane> {
  const { keycloak } = options;
  const authorization = {
    apiVersion: 'apiserver.config.k8s.io/v1',
    kind: 'AuthorizationConfiguration',
    authorizers: [
      { type: 'RBAC', name: 'rbac' },
      {
        type: 'Webhook',
        name: 'breakglass',
        webhook: {
          timeout: '3s',
          subjectAccessReviewVersion: 'v1',
          matchConditionSubjectAccessReviewVersion: 'v1',
          failurePolicy: 'Deny',
          // Tests and the demo watch a session start and stop granting: no decision caching.
          authorizedTTL: '1s',
          unauthorizedTTL: '1s',
          cacheAuthorizedRequests: false,
          cacheUnauthorizedRequests: false,
          connectionInfo: { type: 'KubeConfigFile', kubeConfigFile: '{workDir}/breakglass-webhook.kubeconfig' },
          matchConditions: [{ expression: "!request.user.startsWith('system:')" }, { expression: "'system:authenticated' in request.groups" }],
        },
      },
    ],
  };
  const webhookKubeconfig = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'breakglass-hub',
        cluster: { server: options.webhookUrl, 'certificate-authority-data': Buffer.from(options.webhookCaPem).toString('base64') },
      },
    ],
    users: [{ name: 'spoke', user: webhookUser(options) }],
    contexts: [{ name: 'webhook', context: { cluster: 'breakglass-hub', user: 'spoke' } }],
    'current-context': 'webhook',
  };
  const authentication = {
    apiVersion: 'apiserver.config.k8s.io/v1',
    kind: 'AuthenticationConfiguration',
    jwt: [
      {
        issuer: { url: keycloak.issuer, audiences: [keycloak.kubernetesAudience], ...(keycloak.caPem ? { certificateAuthority: keycloak.caPem } : {}) },
        claimMappings: { username: { claim: 'email', prefix: '' }, groups: { claim: 'groups', prefix: 'oidc:' } },
      },
    ],
  };
  return startControlPlane({
    files: {
      'authz.yaml': stringify(authorization),
      'authn.yaml': stringify(authentication),
      'breakglass-webhook.kubeconfig': stringify(webhookKubeconfig),
    },
    authorizationArgs: ['--authorization-config={workDir}/authz.yaml'],
    extraApiServerArgs: ['--authentication-config={workDir}/authn.yaml'],
    log: options.log ?? (() => {}),
  });
}

/** A random bearer token for a spoke's webhook kubeconfig. */
export const newWebhookToken = (): string => randomBytes(24).toString('hex');
