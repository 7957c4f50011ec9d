/**
 * `npm run test:e2e:external [-- e2e/x.e2e.ts ...]`: the e2e suite the way a kind user runs it,
 * against a cluster it did not start. A second local control plane stands in for the external
 * cluster: the suite only gets its admin kubeconfig (inline token and CA, as the ClusterConfig
 * checker requires) through E2E_KUBECONFIG, so it takes the external path of the harness
 * (ServiceAccount identities with TokenRequest tokens, no control-plane processes to touch), and
 * tests that need a local control plane are skipped with their reason. `npm test` runs this
 * after the local run, so the kind path cannot rot unseen.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startControlPlane } from '../controlplane/controlplane.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const say = (line: string): void => void process.stderr.write(`[e2e:external] ${line}\n`);

const specs = process.argv.slice(2);
/** Suites the default external run leaves out, each with the reason it prints. */
const leftOut: Record<string, string> = {
  // Never touches a cluster: it would only repeat itself here.
  'e2e/package-consumer.e2e.ts': 'no cluster involved',
  // About 4.5 of the run's minutes measuring the controller processes' handover: the cluster only
  // stores the Lease, and leader-election.e2e.ts covers that on the external cluster too.
  'e2e/failover.e2e.ts': 'measures controller processes; leader-election.e2e.ts covers the Lease here',
  'e2e/browser-harness.e2e.ts': 'tests the browser harness only, no cluster involved',
  // About a minute (the fuzzed replica's per-address limit is raised): it fuzzes one replica's HTTP API,
  // for which the cluster only fills the informers that every other suite here exercises.
  'e2e/api-fuzz.e2e.ts': "fuzzes a replica's HTTP API; the cluster only fills its informers",
  // The browser talks to the replicas, not to the cluster; what the replicas do in the cluster
  // for the UI (sessions requested, approved and dropped through the REST API with Keycloak
  // tokens) is what session-api-keycloak.e2e.ts checks on the external cluster.
  'e2e/ui.e2e.ts': 'browser against the replicas; session-api-keycloak.e2e.ts covers their cluster use here',
};
const cp = await startControlPlane({ log: say });
const admin = cp.identities.find((i) => i.name === 'admin');
let code = 1;
try {
  if (!admin) throw new Error('the control plane has no admin identity');
  say(`running the e2e suite with E2E_KUBECONFIG=${admin.kubeconfigPath} (server ${cp.server})`);
  if (specs.length === 0) for (const [spec, reason] of Object.entries(leftOut)) say(`left out: ${spec} (${reason})`);
  const started = performance.now();
  code = await new Promise<number>((resolve, reject) => {
    const child = spawn(
      join(root, 'node_modules', '.bin', 'mocha'),
      [
        '--config',
        '.mocharc.e2e.json',
        ...(specs.length > 0 ? specs : ['e2e/**/*.e2e.ts', ...Object.keys(leftOut).flatMap((spec) => ['--ignore', spec])]),
      ],
      {
        cwd: root,
        stdio: 'inherit',
        // KUBECTL: the harness runs kubectl for tests; a kind user has it on PATH, CI has the cached build.
        env: { ...process.env, E2E_KUBECONFIG: admin.kubeconfigPath, KUBECTL: process.env.KUBECTL ?? cp.binaries.kubectl },
      },
    );
    child.once('error', reject);
    child.once('exit', (exitCode, signal) => resolve(exitCode ?? (signal ? 1 : 0)));
  });
  say(`e2e suite against E2E_KUBECONFIG finished in ${((performance.now() - started) / 1000).toFixed(0)} s with exit code ${code}`);
} finally {
  await cp.stop();
}
process.exit(code);
