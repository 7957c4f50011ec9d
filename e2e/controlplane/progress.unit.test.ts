/**
 * The build's progress output (progress.sh), tested in isolation with a fake long build: a
 * newcomer's first `npm test` must show what is being built and for how long, not go silent.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const PROGRESS_SH = join(HERE, 'progress.sh');

function runBash(script: string, env: Record<string, string> = {}, prelude = `source "${PROGRESS_SH}"\n`): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-euo', 'pipefail', '-c', `${prelude}${script}`], {
      env: { PATH: process.env.PATH, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr, ms: Date.now() - started }));
  });
}

/** A "build" that compiles one package a second, printing its name like `go build -v`. */
const FAKE_BUILD = `bash -c 'for p in k8s.io/a k8s.io/b k8s.io/c k8s.io/d; do echo "$p" >&2; sleep 1; done'`;

describe('build progress (e2e/controlplane/progress.sh)', function () {
  this.timeout(30_000);

  it('prints, at every interval, what is being built, the elapsed time and the last package', async () => {
    const result = await runBash(`run_with_progress "building kube-apiserver v0.0.0" "packages compiled" ${FAKE_BUILD}`, {
      BREAKGLASS_BUILD_PROGRESS_INTERVAL: '1',
    });
    expect(result.code).to.equal(0);
    const progress = result.stderr.split('\n').filter((l) => l.includes('elapsed'));
    expect(progress.length, result.stderr).to.be.at.least(2);
    for (const line of progress) {
      expect(line).to.match(/^\[controlplane-build\] building kube-apiserver v0\.0\.0: \d+s elapsed, \d+ packages compiled so far, last: k8s\.io\/[a-d]$/);
    }
    expect(result.stderr).to.match(/building kube-apiserver v0\.0\.0: done in \d+s/);
    // The command's own output goes to the progress lines, not to stdout (build.sh prints its cache dir there).
    expect(result.stdout).to.equal('');
  });

  it('stays quiet between intervals: the default interval is 30 s, so a 4 s step prints only its result', async () => {
    const result = await runBash(`run_with_progress "building etcd" "packages compiled" ${FAKE_BUILD}`);
    expect(result.code).to.equal(0);
    expect(result.stderr).to.match(/^\[controlplane-build\] building etcd: done in [45]s\n$/);
  });

  it('on failure passes the exit code through and shows the tail of the output', async () => {
    const result = await runBash(`run_with_progress "building kubectl" "packages compiled" bash -c 'echo "k8s.io/x" >&2; echo "cmd/x.go:1: syntax error" >&2; exit 3' || echo "rc=$?"`);
    expect(result.stdout.trim()).to.equal('rc=3');
    expect(result.stderr).to.match(/\[controlplane-build\] building kubectl failed \(exit 3\) after \d+s; last output:/);
    expect(result.stderr).to.contain('cmd/x.go:1: syntax error');
  });

  it('formats long builds in minutes', async () => {
    const result = await runBash('format_elapsed 5; format_elapsed 60; format_elapsed 485');
    expect(result.stdout.split('\n').filter(Boolean)).to.deep.equal(['5s', '1m0s', '8m5s']);
  });

  it('build.sh shows that progress for every binary it builds (fake go, throwaway cache)', async function () {
    // A stand-in for go: module commands do nothing, `go build -v -o OUT` names two packages a
    // second apart and writes an executable, so the real script runs end to end in seconds.
    const dir = await mkdtemp(join(tmpdir(), 'breakglass-build-progress-'));
    try {
      const fakeGo = join(dir, 'bin', 'go');
      await writeFile(join(dir, 'go.mod'), 'module fake\n');
      await mkdir(join(dir, 'bin'));
      await writeFile(
        fakeGo,
        [
          '#!/usr/bin/env bash',
          `if [ "$1 $2" = "mod download" ]; then echo '{"GoMod": "${join(dir, 'go.mod')}"}'; exit 0; fi`,
          'if [ "$1" = "mod" ]; then exit 0; fi',
          'out=""; prev=""; for a in "$@"; do [ "$prev" = "-o" ] && out=$a; prev=$a; done',
          'for p in example.com/one example.com/two; do echo "$p" >&2; sleep 1; done',
          'printf "#!/bin/sh\\n" >"$out"; chmod +x "$out"',
        ].join('\n'),
      );
      await chmod(fakeGo, 0o755);
      const cache = join(dir, 'cache');
      const result = await runBash(
        `bash "${join(HERE, 'build.sh')}"`,
        { PATH: `${join(dir, 'bin')}:${process.env.PATH}`, BREAKGLASS_E2E_CACHE: cache, BREAKGLASS_BUILD_PROGRESS_INTERVAL: '1', HOME: dir },
        '',
      );
      expect(result.code, result.stderr).to.equal(0);
      expect(result.stdout.trim().split('\n').at(-1)).to.match(new RegExp(`^${cache}/k8s-v[0-9.]+-etcd-v[0-9.]+$`));
      for (const binary of ['kube-apiserver', 'kubectl', 'etcd']) {
        expect(result.stderr, binary).to.match(new RegExp(`building ${binary} v[0-9.]+: \\d+s elapsed, \\d+ packages compiled so far, last: example\\.com/`));
        expect(result.stderr, binary).to.match(new RegExp(`building ${binary} v[0-9.]+: done in \\d+s`));
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
