/**
 * One keep-alive HTTPS agent for the API calls made through a KubeConfig.
 *
 * client-node 1.4 builds a new https.Agent for every API call (KubeConfig's
 * applySecurityAuthentication), so every list page, create and status write opened its own TCP
 * and TLS connection: a handshake per call, and a fresh OpenSSL context per call (CA, client
 * certificate and key parsed again). That native memory is released only when V8 collects the
 * connection's JavaScript objects, which it does late because it cannot see that memory; under
 * API load the process's malloc heap grew by about 50 MiB, mostly free but never returned
 * (npm run bench:api, 10,000 sessions). client-go shares one transport per config; this does
 * the same: the TLS options client-node computed are kept, only the agent is shared.
 *
 * Watches are not affected: they get their agent through applyToFetchOptions, one per watch
 * request, which BoundedWatch destroys to end a stuck watch.
 */
import { Agent, type AgentOptions } from 'node:https';
import type { KubeConfig, RequestContext } from '@kubernetes/client-node';

/** The agent options client-node sets from the kubeconfig (cluster CA, client credentials, TLS checks). */
const TLS_OPTIONS = ['ca', 'cert', 'key', 'pfx', 'passphrase', 'rejectUnauthorized', 'servername'] as const;
type TlsOptions = Pick<AgentOptions, (typeof TLS_OPTIONS)[number]>;

/**
 * Idle connections are closed after this long: before the API server closes them (its idle
 * timeout is 90 s), so a request is not sent on a connection the server is just closing.
 */
export const IDLE_SOCKET_TIMEOUT_MS = 30_000;
/** An agent replaced by new credentials is destroyed this much later, after its requests ended. */
const RETIRE_AFTER_MS = 10 * 60_000;

function sameValue(a: unknown, b: unknown): boolean {
  if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) return a.equals(b);
  return a === b;
}

function sameTls(a: TlsOptions, b: TlsOptions): boolean {
  return TLS_OPTIONS.every((name) => sameValue(a[name], b[name]));
}

/**
 * One keep-alive agent for as long as the TLS options stay the same; new options (a rotated CA
 * or client certificate) get a new agent, and the old one is destroyed later, after its requests.
 */
export class SharedTlsAgent {
  private shared: { tls: TlsOptions; agent: Agent } | undefined;

  /** The agent for requests with these TLS options (the ones client-node derives from a kubeconfig). */
  agentFor(options: Pick<AgentOptions, (typeof TLS_OPTIONS)[number]>): Agent {
    const tls: TlsOptions = Object.fromEntries(TLS_OPTIONS.map((name) => [name, options[name]]));
    if (this.shared === undefined || !sameTls(this.shared.tls, tls)) {
      const retired = this.shared?.agent;
      if (retired !== undefined) setTimeout(() => retired.destroy(), RETIRE_AFTER_MS).unref();
      this.shared = { tls, agent: new Agent({ ...tls, keepAlive: true, timeout: IDLE_SOCKET_TIMEOUT_MS }) };
    }
    return this.shared.agent;
  }
}

/**
 * Makes every API call of `kubeConfig` reuse one keep-alive agent while the TLS options stay the
 * same (a rotated CA or client certificate gets a new agent). Proxy and plain-HTTP agents are
 * left as client-node made them. Returns `kubeConfig`.
 */
export function shareConnections(kubeConfig: KubeConfig): KubeConfig {
  const apply = kubeConfig.applySecurityAuthentication.bind(kubeConfig);
  const shared = new SharedTlsAgent();
  kubeConfig.applySecurityAuthentication = async (context: RequestContext): Promise<void> => {
    await apply(context);
    const fresh = context.getAgent();
    // Exactly https.Agent: proxy agents are subclasses with their own connection logic.
    if (fresh === undefined || Object.getPrototypeOf(fresh) !== Agent.prototype) return;
    context.setAgent(shared.agentFor((fresh as Agent).options));
  };
  return kubeConfig;
}
