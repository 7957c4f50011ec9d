/**
 * What the caches keep of an object: everything the code reads, minus the bookkeeping that
 * only the API server and `kubectl apply` use. Like controller-runtime's
 * `cache.TransformStripManagedFields`, this drops `metadata.managedFields` (often the largest
 * part of a small object) and, in addition, the client-side-apply copy of the whole object in
 * the `kubectl.kubernetes.io/last-applied-configuration` annotation.
 *
 * Safe because no cached object is ever written back whole: status writes go to the status
 * subresource, where the API server keeps the stored metadata and takes only the status.
 */
import type { KubernetesObject } from '@kubernetes/client-node';

export const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';

/** Removes server-side bookkeeping from a freshly decoded object, in place, and returns it. */
export function stripForCache<T extends KubernetesObject>(object: T): T {
  const metadata = object.metadata as (KubernetesObject['metadata'] & { managedFields?: unknown }) | undefined;
  if (metadata === undefined) return object;
  delete metadata.managedFields;
  const annotations = metadata.annotations;
  if (annotations !== undefined && LAST_APPLIED_ANNOTATION in annotations) {
    delete annotations[LAST_APPLIED_ANNOTATION];
    if (Object.keys(annotations).length === 0) delete metadata.annotations;
  }
  return object;
}
