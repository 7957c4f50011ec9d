/**
 * Tests that need powers only a control plane started by the harness gives (its processes, its
 * static-token users) say so here. Against E2E_KUBECONFIG (kind, or the second control plane
 * `npm run test:e2e:external` starts) they are skipped, with the reason in the test title, so
 * the run shows what it did not cover instead of passing them silently.
 */
import type { ControlPlane } from '../controlplane/controlplane.ts';
import { testCluster } from './cluster.ts';

export function requireLocalControlPlane(ctx: Mocha.Context, reason: string): ControlPlane {
  const cluster = testCluster();
  if (cluster.local && cluster.controlPlane) return cluster.controlPlane;
  if (ctx.test) ctx.test.title += ` [skipped against E2E_KUBECONFIG: ${reason}]`;
  ctx.skip();
}
