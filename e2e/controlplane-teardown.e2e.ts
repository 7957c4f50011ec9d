/**
 * The local control plane never outlives the process that started it: not after Ctrl-C, not
 * after SIGTERM, and not even after SIGKILL (the supervisors watch their parent).
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireLocalControlPlane } from './harness/local-only.ts';
import { waitGone } from './harness/wait.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

interface Started {
  pid: number;
  supervisorPids: number[];
}

/** The etcd / kube-apiserver child of a supervisor (not its polling `sleep`). */
function childrenOf(pid: number): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(pid), '-f', 'etcd|kube-apiserver'], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}


async function startCli(): Promise<Started> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'e2e/controlplane/cli.ts')], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(out.slice(0, nl));
    });
    child.once('exit', (code) => reject(new Error(`control plane cli exited early (${code})`)));
  });
  const summary = JSON.parse(line) as { supervisorPids: number[] };
  return { pid: child.pid as number, supervisorPids: summary.supervisorPids };
}


describe('local control plane teardown', function () {
  this.timeout(120_000);

  for (const signal of ['SIGINT', 'SIGTERM', 'SIGKILL'] as const) {
    it(`leaves no kube-apiserver or etcd behind after ${signal}`, async function () {
      requireLocalControlPlane(this, 'it kills the processes of a control plane this run starts itself');
      const started = await startCli();
      const binaries = started.supervisorPids.flatMap(childrenOf);
      expect(binaries, 'etcd and kube-apiserver are running').to.have.length(2);
      process.kill(started.pid, signal);
      const survivors = await waitGone([...started.supervisorPids, ...binaries], 15_000);
      expect(survivors, `processes still alive after ${signal}`).to.deep.equal([]);
    });
  }
});
