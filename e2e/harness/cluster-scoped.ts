/**
 * Cluster-scoped breakglass objects (IdentityProviders, DenyPolicies) outlive a suite's namespace:
 * a suite deletes the ones it created, or a later suite would find, for example, its primary
 * IdentityProvider taken by a leftover one.
 */
import { CustomObjectsApi, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { GROUP, VERSION, plurals } from '../../crds/index.ts';

const CLUSTER_SCOPED = ['IdentityProvider', 'DenyPolicy'] as const;

/**
 * Deletes every cluster-scoped breakglass object whose name `mine` accepts; returns their names.
 * Best effort, as cleanup: an identity that may not list a kind (the external run's users) leaves
 * it, with a line on stderr, instead of failing the suite that already passed.
 */
export async function deleteClusterScoped(kc: KubeConfig, mine: (name: string) => boolean): Promise<string[]> {
  const api = kc.makeApiClient(CustomObjectsApi);
  const deleted: string[] = [];
  for (const kind of CLUSTER_SCOPED) {
    const plural = plurals[kind];
    const list = (await api.listClusterCustomObject({ group: GROUP, version: VERSION, plural }).catch((err: unknown) => {
      process.stderr.write(`[e2e] could not list ${plural} to clean up: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}\n`);
      return { items: [] };
    })) as { items: KubernetesObject[] };
    for (const name of list.items.map((o) => o.metadata?.name ?? '').filter((n) => n !== '' && mine(n))) {
      await api.deleteClusterCustomObject({ group: GROUP, version: VERSION, plural, name }).catch(() => undefined);
      deleted.push(`${kind}/${name}`);
    }
  }
  return deleted;
}
