/**
 * The audit trail of lifecycle actions taken through the API: one Kubernetes Event on the
 * session (visible in `kubectl describe bgs`) and one structured log line with a stable message
 * per action. Recording never fails the action it records: the state change is already stored,
 * and a missing Event is logged as a warning instead.
 */
import { CoreV1Api, type ConfigurationOptions, type CoreV1Event, type KubeConfig } from '@kubernetes/client-node';
import { API_VERSION, type BreakglassSession } from '../../crds/index.ts';
import { boundedRequest } from '../kube/request-options.ts';
import type { Logger } from '../observability/logger.ts';

export type AuditAction = 'requested' | 'approved' | 'rejected' | 'withdrawn' | 'dropped' | 'canceled';

/** Event reasons by action (CamelCase as Kubernetes Event reasons are). */
export const AUDIT_EVENT_REASONS: Readonly<Record<AuditAction, string>> = {
  requested: 'SessionRequested',
  approved: 'SessionApproved',
  rejected: 'SessionRejected',
  withdrawn: 'SessionWithdrawn',
  dropped: 'SessionDropped',
  canceled: 'SessionCanceled',
};

export interface AuditRecord {
  action: AuditAction;
  session: BreakglassSession;
  /** Who did it (e-mail or user identifier). */
  actor: string;
  /** The reason the actor gave, sanitized. */
  reason?: string;
  /** The identity provider that authenticated the actor. */
  identityProvider?: string;
}

export interface SessionAudit {
  record(entry: AuditRecord): Promise<void>;
}

export interface EventRecorder {
  create(namespace: string, event: CoreV1Event, signal?: AbortSignal): Promise<void>;
}

export const AUDIT_COMPONENT = 'breakglass-controller';

export function auditMessage(entry: AuditRecord): string {
  const { session } = entry;
  const what = `${session.spec.grantedGroup} on ${session.spec.cluster} for ${session.spec.user}`;
  const reason = entry.reason ? `: ${entry.reason}` : '';
  return `${entry.actor} ${entry.action} ${what}${reason}`.slice(0, 1024);
}

export class EventSessionAudit implements SessionAudit {
  constructor(
    private readonly recorder: EventRecorder,
    private readonly logger: Logger,
    private readonly reportingInstance: string,
  ) {}

  async record(entry: AuditRecord): Promise<void> {
    const { session } = entry;
    const namespace = session.metadata?.namespace ?? '';
    const name = session.metadata?.name ?? '';
    this.logger.info(
      {
        audit: true,
        action: entry.action,
        session: `${namespace}/${name}`,
        actor: entry.actor,
        reason: entry.reason,
        identityProvider: entry.identityProvider,
        cluster: session.spec.cluster,
        user: session.spec.user,
        group: session.spec.grantedGroup,
        state: session.status?.state,
      },
      `session ${entry.action}`,
    );
    const now = new Date();
    const event: CoreV1Event = {
      metadata: { generateName: `${name}.`, namespace },
      involvedObject: {
        apiVersion: API_VERSION,
        kind: 'BreakglassSession',
        name,
        namespace,
        uid: session.metadata?.uid,
        resourceVersion: session.metadata?.resourceVersion,
      },
      type: 'Normal',
      reason: AUDIT_EVENT_REASONS[entry.action],
      message: auditMessage(entry),
      action: entry.action,
      source: { component: AUDIT_COMPONENT },
      reportingComponent: AUDIT_COMPONENT,
      reportingInstance: this.reportingInstance,
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    };
    try {
      await this.recorder.create(namespace, event);
    } catch (err) {
      this.logger.warn({ err: err instanceof Error ? err.message : String(err), session: `${namespace}/${name}`, action: entry.action }, 'session audit event not recorded');
    }
  }
}

export class KubernetesEventRecorder implements EventRecorder {
  private readonly core: CoreV1Api;

  constructor(
    kubeConfig: KubeConfig,
    private readonly requestTimeoutMs = 10_000,
  ) {
    this.core = kubeConfig.makeApiClient(CoreV1Api);
  }

  async create(namespace: string, body: CoreV1Event, signal?: AbortSignal): Promise<void> {
    await boundedRequest(
      { what: `POST event in ${namespace}`, timeoutMs: this.requestTimeoutMs, signal },
      (config: ConfigurationOptions) => this.core.createNamespacedEvent({ namespace, body }, config),
    );
  }
}
