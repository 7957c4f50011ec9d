/**
 * Test support: an EscalationStore in memory with the API server's resourceVersion rules
 * (a write at an old resourceVersion is a conflict, each write bumps it).
 */
import type { BreakglassEscalation, BreakglassEscalationStatus, IdentityProvider, IdentityProviderStatus } from '../../crds/index.ts';
import { ConflictError } from '../kube/errors.ts';
import type { EscalationStore } from './escalation-store.ts';

export class InMemoryEscalationStore implements EscalationStore {
  readonly escalations = new Map<string, BreakglassEscalation>();
  readonly providers = new Map<string, IdentityProvider>();
  readonly secrets = new Map<string, Record<string, string>>();
  readonly writes: string[] = [];
  private revision = 1;

  putEscalation(escalation: BreakglassEscalation): void {
    const key = `${escalation.metadata?.namespace}/${escalation.metadata?.name}`;
    this.escalations.set(key, structuredClone({ ...escalation, metadata: { generation: 1, ...escalation.metadata, resourceVersion: String(this.revision++) } }));
  }

  putProvider(provider: IdentityProvider): void {
    this.providers.set(provider.metadata?.name ?? '', structuredClone({ ...provider, metadata: { generation: 1, ...provider.metadata, resourceVersion: String(this.revision++) } }));
  }

  escalation(namespace: string, name: string): BreakglassEscalation {
    return this.escalations.get(`${namespace}/${name}`)!;
  }

  async listEscalations(): Promise<BreakglassEscalation[]> {
    return [...this.escalations.values()].map((e) => structuredClone(e));
  }

  async listIdentityProviders(): Promise<IdentityProvider[]> {
    return [...this.providers.values()].map((p) => structuredClone(p));
  }

  async readSecret(namespace: string, name: string): Promise<Record<string, string> | undefined> {
    const data = this.secrets.get(`${namespace}/${name}`);
    return data === undefined ? undefined : { ...data };
  }

  async writeEscalationStatus(escalation: BreakglassEscalation, status: BreakglassEscalationStatus, resourceVersion: string): Promise<void> {
    const key = `${escalation.metadata?.namespace}/${escalation.metadata?.name}`;
    const current = this.escalations.get(key);
    if (!current) throw new ConflictError('', key, { detail: 'was deleted concurrently' });
    if (current.metadata?.resourceVersion !== resourceVersion) throw new ConflictError('', key);
    this.writes.push(`escalation ${key}`);
    this.escalations.set(key, structuredClone({ ...current, metadata: { ...current.metadata, resourceVersion: String(this.revision++) }, status }));
  }

  async writeIdentityProviderStatus(provider: IdentityProvider, status: IdentityProviderStatus, resourceVersion: string): Promise<void> {
    const key = provider.metadata?.name ?? '';
    const current = this.providers.get(key);
    if (!current) throw new ConflictError('', key, { detail: 'was deleted concurrently' });
    if (current.metadata?.resourceVersion !== resourceVersion) throw new ConflictError('', key);
    this.writes.push(`identityprovider ${key}`);
    this.providers.set(key, structuredClone({ ...current, metadata: { ...current.metadata, resourceVersion: String(this.revision++) }, status }));
  }
}
