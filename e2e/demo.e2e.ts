/**
 * The README's first command, `npm run demo`, run in its short mode (DEMO_CHECK=1: stop after
 * the journey) as a child process, so the demo cannot rot: it must exit 0 and print the
 * journey's steps in order, with the answers a person would see (kubectl on the spoke included). The demo starts its own
 * control plane and Keycloak (the cached binaries make that about a minute).
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { requireLocalControlPlane } from './harness/local-only.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** What a person following the demo must see, in this order. */
const JOURNEY: RegExp[] = [
  /Keycloak: {2}https:\/\/127\.0\.0\.1:\d+ {2}\(realm breakglass/,
  /API: {7}http:\/\/127\.0\.0\.1:\d+\/api/,
  /user alice {2}password \S+ +alice@example\.com +groups: developers/,
  /user bob {4}password \S+ +bob@example\.com +groups: approvers/,
  /\$ curl -s --cacert \S+ https:\/\/127\.0\.0\.1:\d+\/realms\/breakglass\/protocol\/openid-connect\/token -d grant_type=password/,
  /-> access token for alice@example\.com \(groups: \["developers"\]/,
  /\$ curl -s -H "authorization: Bearer \$ALICE_TOKEN" 'http:\/\/127\.0\.0\.1:\d+\/api\/breakglassEscalations'/,
  /-> 200: prod-cluster-admin \(escalation breakglass-system\/prod-admin/,
  /kubectl --kubeconfig \S+ get pods -n payments {3}# alice/,
  /-> Error from server \(Forbidden\): pods is forbidden: User "alice@example\.com" .*request escalation "prod-admin" \(group prod-cluster-admin\)/,
  /\$ curl -s -X POST .* -d '\{"cluster":"prod-eu1","group":"prod-cluster-admin","reason":"INC-4711 payments down"\}' 'http:\/\/127\.0\.0\.1:\d+\/api\/breakglassSessions'/,
  /-> 201: (\S+): alice@example\.com -> prod-cluster-admin on prod-eu1, state Pending/,
  /-> 403: Self-approval is not allowed/,
  /\/api\/breakglassSessions\?approver=true&state=pending'\s+# bob on breakglass-1/,
  /-> 200: \S+: alice@example\.com -> prod-cluster-admin on prod-eu1, state Pending, reason "INC-4711 payments down"/,
  /-> 200: \S+: .*state Approved, approver bob@example\.com, expiresAt \d{4}-\d\d-\d\dT/,
  /# alice on breakglass-0/,
  /state Approved, approver bob@example\.com, expiresAt .*"isRequester":true/,
  /get pods -n payments {3}# alice/,
  /-> web +0\/1 +Pending/,
  /logged: \{"msg":"escalation approver group members updated","escalation":"breakglass-system\/prod-admin","reason":"GroupMembersResolved"/,
  /approverGroupMembers of prod-admin: \{"approvers":\["bob@example\.com","carol@example\.com"\]\}/,
  /\/drop'\s+# alice on breakglass-0/,
  /-> 200: \S+: .*state Expired/,
  /get pods -n payments {3}# alice/,
  /-> Error from server \(Forbidden\): pods is forbidden: User "alice@example\.com"/,
  /\[breakglass-\d\] Deleted ended breakglass session breakglass-system\//,
  /stopping the leader breakglass-\d/,
  /the leader is now breakglass-\d/,
  /== journey complete/,
  /UI: +http:\/\/127\.0\.0\.1:\d+\//,
  /alice +\/ alice-e2e-password/,
  /checked: http:\/\/127\.0\.0\.1:\d+\/ serves the web UI/,
  /checked: http:\/\/127\.0\.0\.1:\d+\/\?search=prod-eu1&group=prod-cluster-admin serves the web UI/,
];

describe('npm run demo (DEMO_CHECK=1)', function () {
  // Keycloak's first start on a loaded machine can take minutes; a warm run is about one.
  this.timeout(15 * 60_000);

  it('walks the whole journey on real parts and stops by itself', async function () {
    // The demo starts its own control plane either way: once per `npm test` is enough.
    requireLocalControlPlane(this, 'the demo brings its own control plane; the local run covers it');
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'e2e', 'demo.ts')], {
      cwd: root,
      env: { ...process.env, DEMO_CHECK: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    expect(code, `demo exited ${code}\n--- stdout\n${out}\n--- stderr\n${err.slice(-4000)}`).to.equal(0);

    let from = 0;
    for (const pattern of JOURNEY) {
      const rest = out.slice(from);
      const match = pattern.exec(rest);
      expect(match, `after offset ${from}, no line matching ${pattern}\n--- stdout\n${out}`).to.not.equal(null);
      from += match!.index + match![0].length;
    }
    // The session alice created is the one bob approved and she dropped.
    const name = /-> 201: (\S+):/.exec(out)![1]!;
    expect(out).to.include(`/api/breakglassSessions/${name}/approve`);
    expect(out).to.include(`/api/breakglassSessions/${name}/drop`);
    expect(out).to.include(`Deleted ended breakglass session breakglass-system/${name}`);
  });
});
