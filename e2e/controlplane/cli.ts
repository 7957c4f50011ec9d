/**
 * `npm run controlplane`: starts a local etcd + kube-apiserver and keeps it running until
 * Ctrl-C, printing where its kubeconfigs are. Handy for poking at the controller by hand.
 */
import { startControlPlane } from './controlplane.ts';

const cp = await startControlPlane();
const summary = {
  server: cp.server,
  version: cp.version,
  startToReadyS: Number((cp.startToReadyMs / 1000).toFixed(2)),
  kubeconfigs: Object.fromEntries(cp.identities.map((i) => [i.name, i.kubeconfigPath])),
  supervisorPids: cp.supervisorPids,
};
console.log(JSON.stringify(summary));
console.error(`control plane running; try: KUBECONFIG=${cp.identities[0]?.kubeconfigPath} ${cp.binaries.kubectl} get ns   (Ctrl-C stops it)`);
// Keep the event loop alive; the control plane's signal handlers stop it on SIGINT/SIGTERM.
setInterval(() => undefined, 1 << 30);
