/**
 * supervise.sh keeps Keycloak from outliving the test runner. Keycloak itself takes minutes to
 * start here, so this proves the mechanism with a stand-in: a "kc.sh" that forwards TERM to a
 * "JVM" which ignores it (as a JVM still starting up does).
 */
import { expect } from 'chai';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { alive, eventually, waitGone } from '../harness/wait.ts';

const supervise = join(dirname(fileURLToPath(import.meta.url)), 'supervise.sh');

function groupMembers(pgid: number): number[] {
  try {
    return execFileSync('pgrep', ['-g', String(pgid)], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

describe('e2e/keycloak/supervise.sh', function () {
  this.timeout(60_000);
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'breakglass-supervise-'));
    // Like kc.sh: runs the "JVM" in the background and forwards TERM to it, then waits for it.
    await writeFile(
      join(dir, 'fake-kc.sh'),
      `#!/usr/bin/env bash
bash -c 'trap "" TERM; while :; do sleep 0.2; done' &
jvm=$!
trap 'kill -TERM $jvm; wait $jvm' TERM INT
wait $jvm
`,
      { mode: 0o755 },
    );
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('kills its whole process group, a JVM ignoring TERM included, once the parent is SIGKILLed', async () => {
    // The "test runner": starts the supervisor detached (as keycloak.ts does), prints its pid, waits.
    const parentScript = `
      const { spawn } = require('node:child_process');
      const s = spawn(${JSON.stringify(supervise)}, [String(process.pid), ${JSON.stringify(join(dir, 'log'))}, ${JSON.stringify(join(dir, 'fake-kc.sh'))}],
        { detached: true, stdio: 'ignore', env: { ...process.env, SUPERVISE_GRACE_SECONDS: '2' } });
      s.unref();
      console.log(s.pid);
      setInterval(() => {}, 1000);`;
    const parent = spawn(process.execPath, ['-e', parentScript], { stdio: ['ignore', 'pipe', 'inherit'] });
    const supervisorPid = await new Promise<number>((resolve) => parent.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
    // supervisor, fake kc.sh, the TERM-ignoring "JVM", its sleep.
    const members = await eventually('the fake Keycloak to run', 10_000, () => {
      const pids = groupMembers(supervisorPid);
      return pids.length >= 3 ? pids : undefined;
    });
    expect(members).to.include(supervisorPid);

    parent.kill('SIGKILL');
    // Parent noticed within 0.5 s, 2 s grace for the stop, then KILL of the group.
    const left = await waitGone(members, 15_000);
    expect(left, `still alive: ${left.join(', ')}`).to.deep.equal([]);
    expect(alive(supervisorPid)).to.equal(false);
    expect(groupMembers(supervisorPid)).to.deep.equal([]);
  });
});
