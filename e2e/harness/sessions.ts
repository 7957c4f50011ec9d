/**
 * Test helpers for BreakglassSessions on a real API server: create sessions in a given state
 * (spec through the main resource, status through the status subresource, as the controller
 * writes it) and record every state change the API server reports through a watch.
 */
import { CustomObjectsApi, Watch, type KubeConfig } from '@kubernetes/client-node';
import { GROUP, VERSION, type BreakglassSession, type SessionState } from '../../crds/index.ts';

const PLURAL = 'breakglasssessions';

export function isoSeconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

export interface SessionSeed {
  name: string;
  state: SessionState;
  /** Status fields besides state (approvedAt, expiresAt, timeoutAt, ...). */
  status?: Record<string, unknown>;
  spec?: Record<string, unknown>;
}

export async function createSession(kc: KubeConfig, namespace: string, seed: SessionSeed): Promise<BreakglassSession> {
  const api = kc.makeApiClient(CustomObjectsApi);
  const created = (await api.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace,
    plural: PLURAL,
    body: {
      apiVersion: `${GROUP}/${VERSION}`,
      kind: 'BreakglassSession',
      metadata: { name: seed.name },
      spec: { cluster: 'prod-eu', user: `${seed.name}@example.com`, grantedGroup: 'cluster-admin', ...seed.spec },
    },
  })) as BreakglassSession;
  return (await api.replaceNamespacedCustomObjectStatus({
    group: GROUP,
    version: VERSION,
    namespace,
    plural: PLURAL,
    name: seed.name,
    body: { ...created, status: { state: seed.state, ...seed.status } },
  })) as BreakglassSession;
}

export async function listSessions(kc: KubeConfig, namespace: string): Promise<BreakglassSession[]> {
  const api = kc.makeApiClient(CustomObjectsApi);
  const list = (await api.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURAL })) as {
    items: BreakglassSession[];
  };
  return list.items;
}

export interface StateChange {
  name: string;
  from: string;
  to: string;
  resourceVersion: string;
  /** Wall-clock ms in the test process when the watch delivered the change. */
  seenAt: number;
}

/**
 * Records, from the API server's own watch stream, every write that changed a session's status
 * after it was seeded. This is the ground truth of "who wrote what, how often".
 */
export class SessionWriteRecorder {
  readonly changes: StateChange[] = [];
  /** Status writes that left the state as it was (e.g. a second Expired write). */
  readonly rewrites: StateChange[] = [];
  private readonly last = new Map<string, { state: string; status: string }>();
  private request: { abort(): void } | undefined;
  private stopped = false;
  /** How often the watch stream ended and was resumed, and why. */
  restarts = 0;
  readonly errors: string[] = [];

  constructor(
    private readonly kc: KubeConfig,
    private readonly namespace: string,
  ) {}

  async start(): Promise<void> {
    await this.watchFrom(undefined);
  }

  /** Watches from `resourceVersion`, and resumes from the last seen one when the stream ends. */
  private async watchFrom(resourceVersion: string | undefined): Promise<void> {
    if (this.stopped) return;
    let lastSeen = resourceVersion;
    const watch = new Watch(this.kc);
    this.request = await watch.watch(
      `/apis/${GROUP}/${VERSION}/namespaces/${this.namespace}/${PLURAL}`,
      { allowWatchBookmarks: true, ...(resourceVersion ? { resourceVersion } : {}) },
      (type: string, obj: BreakglassSession) => {
        lastSeen = obj.metadata?.resourceVersion ?? lastSeen;
        if (type === 'BOOKMARK') return;
        this.record(type, obj);
      },
      (err: unknown) => {
        if (this.stopped) return;
        this.restarts++;
        if (err) this.errors.push(String(err));
        setTimeout(() => void this.watchFrom(lastSeen).catch((e: unknown) => this.errors.push(String(e))), 100);
      },
    );
  }

  private record(type: string, obj: BreakglassSession): void {
    const name = obj.metadata?.name ?? '';
    const state = obj.status?.state ?? '';
    const status = JSON.stringify(obj.status ?? {});
    const before = this.last.get(name);
    this.last.set(name, { state, status });
    if (type !== 'MODIFIED' || !before || before.state === '') return;
    const change = { name, from: before.state, to: state, resourceVersion: obj.metadata?.resourceVersion ?? '', seenAt: Date.now() };
    if (before.state !== state) this.changes.push(change);
    else if (before.status !== status) this.rewrites.push(change);
  }

  stop(): void {
    this.stopped = true;
    this.request?.abort();
  }
}
