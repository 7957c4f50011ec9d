/**
 * Installs the breakglass CRDs into a cluster: create, or replace when present, then wait until
 * the API server reports every CRD Established. Safe to call from several test files.
 */
import { ApiextensionsV1Api, loadYaml, type KubeConfig, type V1CustomResourceDefinition } from '@kubernetes/client-node';
import { allCrdManifests } from './index.ts';

export interface InstallCrdsOptions {
  /** How long to wait for Established, per CRD. Default 60 s. */
  timeoutMs?: number;
}

function statusCode(err: unknown): number | undefined {
  return typeof err === 'object' && err !== null ? (err as { code?: number }).code : undefined;
}

function isEstablished(crd: V1CustomResourceDefinition): boolean {
  return (crd.status?.conditions ?? []).some((c) => c.type === 'Established' && c.status === 'True');
}

/** Why a CRD is not established yet (NamesAccepted=False carries the conflict). */
function pendingReason(crd: V1CustomResourceDefinition): string {
  const conditions = crd.status?.conditions ?? [];
  const failed = conditions.find((c) => c.status === 'False');
  return failed ? `${failed.type}=False: ${failed.message ?? failed.reason ?? ''}` : 'not yet Established';
}

async function createOrReplace(api: ApiextensionsV1Api, body: V1CustomResourceDefinition): Promise<void> {
  const name = body.metadata?.name ?? '';
  for (let attempt = 0; ; attempt++) {
    try {
      await api.createCustomResourceDefinition({ body });
      return;
    } catch (err) {
      if (statusCode(err) !== 409) throw err;
    }
    try {
      const existing = await api.readCustomResourceDefinition({ name });
      const replacement = { ...body, metadata: { ...body.metadata, resourceVersion: existing.metadata?.resourceVersion } };
      await api.replaceCustomResourceDefinition({ name, body: replacement });
      return;
    } catch (err) {
      // Another test file installed or changed it between our read and write: try again.
      if ((statusCode(err) !== 409 && statusCode(err) !== 404) || attempt >= 5) throw err;
    }
  }
}

async function waitEstablished(api: ApiextensionsV1Api, name: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let crd = await api.readCustomResourceDefinition({ name });
  while (!isEstablished(crd)) {
    if (Date.now() > deadline) throw new Error(`CRD ${name} ${pendingReason(crd)} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
    crd = await api.readCustomResourceDefinition({ name });
  }
}

/** Creates or updates every breakglass CRD and resolves once all are Established. */
export async function installCrds(kubeConfig: KubeConfig, options: InstallCrdsOptions = {}): Promise<void> {
  const api = kubeConfig.makeApiClient(ApiextensionsV1Api);
  // The typed client serializes model property names (`_default`, `x_kubernetes_validations`);
  // loadYaml maps the wire JSON onto the model, so nothing of the schema is dropped on the way.
  const manifests = allCrdManifests().map((m) => loadYaml<V1CustomResourceDefinition>(JSON.stringify(m)));
  for (const manifest of manifests) await createOrReplace(api, manifest);
  const timeoutMs = options.timeoutMs ?? 60_000;
  await Promise.all(manifests.map((m) => waitEstablished(api, m.metadata?.name ?? '', timeoutMs)));
}
