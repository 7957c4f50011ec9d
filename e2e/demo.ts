/**
 * `npm run demo`: the breakglass user journey on real parts, nothing to install but Node, Go and
 * a JDK: a local kube-apiserver + etcd, a real Keycloak with the test realm, three controller
 * replicas. alice (developers) asks for a group, bob (approvers) approves it on another replica,
 * alice drops it, the leader cleans it up; every HTTP call is printed as a curl line with its
 * answer, so a person can follow along and try the same calls while it runs.
 *
 * After the journey the replicas serve the web UI (built first when build/ui is missing or
 * stale) and the demo keeps everything running until Ctrl-C, printing the UI's URL and the users
 * to log in as; the deny link kubectl prints on the spoke points at that UI.
 *
 * DEMO_SECONDS=n stops n seconds after the journey; unset, it runs until Ctrl-C.
 * DEMO_CHECK=1 stops right after the journey and a check that every printed UI URL serves the app
 * (the e2e test of this script uses it). Any answer other than the one the journey expects stops the demo with exit code 1.
 */
import { CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { decodeJwt } from 'jose';
import { API_VERSION, GROUP, VERSION, plurals, type BreakglassEscalation } from '../crds/index.ts';
import { installCrds } from '../crds/install.ts';
import { freePort, startControlPlane } from './controlplane/controlplane.ts';
import { startKeycloak, type KeycloakHandle } from './keycloak/keycloak.ts';
import type { KeycloakUserName } from './keycloak/realm.ts';
import { currentLeader, Replica, type LogLine } from './harness/replicas.ts';
import { allowWebOrigins } from './harness/keycloak-clients.ts';
import { ensureUiBuilt, uiBuildIsStale } from './harness/ui-build.ts';
import { startDemoSpoke, type DemoSpoke, type KubectlResult } from './demo-spoke.ts';

const NAMESPACE = 'breakglass-system';
const IDP_NAME = 'keycloak';
const ESCALATION = 'prod-admin';
const CLUSTER = 'prod-eu1';
const ESCALATED_GROUP = 'prod-cluster-admin';
const CHECK = process.env.DEMO_CHECK === '1';
/** Replica log lines worth a person's attention, printed as they happen. */
const SHOWN = new Set([
  'is now the leader',
  'lost leader status',
  'released leader lease',
  'escalation approver group members updated',
  'Session state transition',
  'Deleted ended breakglass session',
]);

function say(text: string): void {
  process.stdout.write(`[demo] ${text}\n`);
}
function step(text: string): void {
  process.stdout.write(`\n[demo] == ${text}\n`);
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const replicas: Replica[] = [];
let keycloak: KeycloakHandle | undefined;
let stopControlPlane: (() => Promise<void>) | undefined;
let spoke: DemoSpoke | undefined;
let stopping = false;

async function stopAll(code: number): Promise<never> {
  if (stopping) process.exit(code);
  stopping = true;
  say('stopping the replicas, Keycloak and the control plane');
  await Promise.all(replicas.map((r) => r.stop()));
  await spoke?.stop().catch(() => undefined);
  await keycloak?.stop().catch(() => undefined);
  await stopControlPlane?.().catch(() => undefined);
  process.exit(code);
}
process.once('SIGINT', () => void stopAll(0));
process.once('SIGTERM', () => void stopAll(0));

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- API answers are printed and spot-checked, not typed
type Json = any;

/** One API call as a person would type it, its answer, and a check that it is the one expected. */
async function api(replica: Replica, who: KeycloakUserName, method: string, path: string, expected: number, body?: unknown, quiet = false): Promise<Json> {
  const url = `http://127.0.0.1:${replica.ports.api}${path}`;
  const data = body === undefined ? '' : ` -H 'content-type: application/json' -d '${JSON.stringify(body)}'`;
  if (!quiet) say(`$ curl -s${method === 'GET' ? '' : ` -X ${method}`} -H "authorization: Bearer $${who.toUpperCase()}_TOKEN"${data} '${url}'   # ${who} on ${replica.name}`);
  const token = await keycloak!.accessToken(who);
  const response = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  const parsed: Json = text === '' ? undefined : JSON.parse(text);
  if (response.status !== expected) throw new Error(`${method} ${path} as ${who}: expected ${expected}, got ${response.status} ${text}`);
  return Object.assign(parsed ?? {}, { httpStatus: response.status });
}

function sessionLine(s: Json): string {
  const st = s.status ?? {};
  return `${s.metadata?.name}: ${s.spec?.user} -> ${s.spec?.grantedGroup} on ${s.spec?.cluster}, state ${st.state ?? 'Pending'}${st.approver ? `, approver ${st.approver}` : ''}${st.expiresAt ? `, expiresAt ${st.expiresAt}` : ''}`;
}

try {
  step('1. the platform: a local control plane, Keycloak, the CRDs and three controller replicas');
  // The replicas serve the web UI from build/ui; on a fresh clone nothing has built it yet.
  if (uiBuildIsStale()) say('building the web UI (npm run build:ui) into build/ui');
  const uiBuilt = ensureUiBuilt();
  const cp = await startControlPlane({ log: say });
  stopControlPlane = () => cp.stop();
  const admin = cp.identities.find((i) => i.name === 'admin');
  if (!admin) throw new Error('no admin identity');
  const kc = new KubeConfig();
  kc.loadFromFile(admin.kubeconfigPath);

  say('starting Keycloak with the test realm "breakglass" (the first start takes a minute or two; the very first run');
  say('fetches the Keycloak distribution from Maven Central once into ~/.cache/breakglass-e2e/keycloak)');
  keycloak = await startKeycloak({ log: (line) => say(`keycloak: ${line}`) });
  const idpKc = keycloak;

  await installCrds(kc);
  const core = kc.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: NAMESPACE } } });
  const objects = kc.makeApiClient(CustomObjectsApi);
  await core.createNamespacedSecret({ namespace: NAMESPACE, body: idpKc.groupSyncSecret({ secretNamespace: NAMESPACE }) });
  const idp = idpKc.identityProviderObject({ name: IDP_NAME, secretNamespace: NAMESPACE });
  idp.spec.primary = true; // the one the web UI logs in with (GET /api/config)
  await objects.createClusterCustomObject({ group: GROUP, version: VERSION, plural: plurals.IdentityProvider, body: idp });
  const escalation: BreakglassEscalation = {
    apiVersion: API_VERSION,
    kind: 'BreakglassEscalation',
    metadata: { name: ESCALATION, namespace: NAMESPACE },
    spec: {
      escalatedGroup: ESCALATED_GROUP,
      allowed: { clusters: ['prod-*'], groups: ['developers'] },
      // alice is named as an approver too, so what stops her approving her own request is the
      // self-approval rule, the refusal a real on-call developer meets.
      approvers: { groups: ['approvers'], users: ['alice@example.com'] },
      maxValidFor: '1h',
      // Ended sessions are deleted 10 s later, so the leader's cleanup shows within the demo.
      retainFor: '10s',
    },
  };
  await objects.createNamespacedCustomObject({ group: GROUP, version: VERSION, plural: plurals.BreakglassEscalation, namespace: NAMESPACE, body: escalation });
  say(`CRDs installed; IdentityProvider ${IDP_NAME} (issuer ${idpKc.issuer}, Keycloak group sync) and BreakglassEscalation`);
  say(`  ${NAMESPACE}/${ESCALATION}: developers may request ${ESCALATED_GROUP} on clusters prod-*, approvers approve`);

  await uiBuilt;
  // Fixed API ports (free ones chosen now), so the deny link can name the UI of breakglass-0
  // and a replica stopped by the handoff comes back on the same URL.
  const apiPorts = await Promise.all([0, 1, 2].map(() => freePort()));
  const uiUrl = `http://127.0.0.1:${apiPorts[0]}/`;
  // The UI's token requests are cross-origin: Keycloak must name these origins in CORS answers.
  await allowWebOrigins(idpKc.admin, idpKc.uiClientId, apiPorts.map((port) => `http://127.0.0.1:${port}`));
  const replicaOptions = [0, 1, 2].map((i) => ({
    name: `breakglass-${i}`,
    kubeconfigPath: admin.kubeconfigPath,
    args: [`--api-bind-address=127.0.0.1:${apiPorts[i]}`],
    env: {
      POD_NAMESPACE: NAMESPACE,
      ENABLE_WEBHOOKS: 'false',
      CLEANUP_INTERVAL: '2s',
      ESCALATION_STATUS_UPDATE_INTERVAL: '5s',
      LEADER_ELECT_LEASE_DURATION: '5s',
      LEADER_ELECT_RENEW_DEADLINE: '3s',
      LEADER_ELECT_RETRY_PERIOD: '1s',
      // The spoke prefixes token groups with oidc: (its AuthenticationConfiguration).
      OIDC_PREFIXES: 'oidc:',
      SAR_GRANT_CACHE_TTL: '1s',
      // Denials on the spoke link to the web UI of breakglass-0.
      FRONTEND_BASE_URL: uiUrl,
    },
  }));
  const started = await Replica.startMany(replicaOptions);
  replicas.push(...started);
  for (const r of replicas) say(`replica ${r.name}: API http://127.0.0.1:${r.ports.api}, metrics :${r.ports.metrics}, probes :${r.ports.probes}`);

  // Echo the lines operators grep for, as they happen.
  const printed = new Map<Replica, number>();
  setInterval(() => {
    for (const r of replicas) {
      const from = printed.get(r) ?? 0;
      for (const line of r.logs.slice(from).filter((l: LogLine) => SHOWN.has(l.msg))) {
        const detail = line.session
          ? ` ${String(line.session)}${line.from ? ` ${String(line.from)} -> ${String(line.to)}` : ''}`
          : line.escalation
            ? ` ${String(line.escalation)} (${String(line.reason)}, ${String(line.groups)} approver group)`
            : '';
        say(`  [${r.name}] ${line.msg}${detail}`);
      }
      printed.set(r, r.logs.length);
    }
  }, 200).unref();

  const [a, b] = replicas as [Replica, Replica, Replica];

  say(`starting the spoke cluster ${CLUSTER}: a second kube-apiserver trusting Keycloak tokens, asking the replicas' authorization webhook after RBAC`);
  spoke = await startDemoSpoke({
    hub: kc,
    namespace: NAMESPACE,
    cluster: CLUSTER,
    escalatedGroup: ESCALATED_GROUP,
    keycloak: idpKc,
    apiPorts: replicas.map((r) => r.ports.api),
  });
  const theSpoke = spoke;
  const authDeadline = Date.now() + 60_000;
  // The spoke fetches Keycloak's keys after it is ready: wait until alice's token is accepted.
  while ((await theSpoke.asAlice(['auth', 'whoami'])).code !== 0) {
    if (Date.now() > authDeadline) throw new Error('the spoke does not accept alice\'s Keycloak token after 60 s');
    await sleep(500);
  }
  say(`spoke ${CLUSTER} at ${theSpoke.server}; ClusterConfig ${NAMESPACE}/${CLUSTER} on the hub`);
  const kubectlLine = `${theSpoke.kubectlBinary} --kubeconfig ${theSpoke.aliceKubeconfig} get pods -n payments`;
  const showKubectl = (r: KubectlResult): void => {
    for (const line of (r.code === 0 ? r.stdout : r.stderr).trim().split('\n')) say(`-> ${line}`);
  };
  /** kubectl as alice until the expected outcome shows (the hub's caches follow within a moment). */
  const kubectlUntil = async (allowed: boolean): Promise<void> => {
    say(`$ ${kubectlLine}   # alice, with her Keycloak token`);
    let result = await theSpoke.asAlice(['get', 'pods', '-n', 'payments']);
    for (let i = 0; i < 40 && (result.code === 0) !== allowed; i++) {
      await sleep(500);
      result = await theSpoke.asAlice(['get', 'pods', '-n', 'payments']);
    }
    if ((result.code === 0) !== allowed) throw new Error(`kubectl as alice: expected ${allowed ? 'allowed' : 'forbidden'}, got ${result.code} ${result.stderr}`);
    showKubectl(result);
  };
  // Every replica must trust the IdentityProvider and see the escalation before the journey.
  const deadline = Date.now() + 120_000;
  for (const r of replicas) {
    for (;;) {
      const token = await idpKc.accessToken('alice');
      const res = await fetch(`http://127.0.0.1:${r.ports.api}/api/breakglassEscalations`, { headers: { authorization: `Bearer ${token}` } });
      if (res.status === 200 && ((await res.json()) as Json).total === 1) break;
      if (Date.now() > deadline) throw new Error(`${r.name} does not offer the escalation after 120 s (last answer ${res.status})`);
      await sleep(500);
    }
  }

  step('try it yourself while the demo runs');
  const ca = idpKc.caFile ? ` --cacert ${idpKc.caFile}` : '';
  say(`Keycloak:  ${idpKc.baseUrl}  (realm ${idpKc.realm}, issuer ${idpKc.issuer}${idpKc.caFile ? `, CA ${idpKc.caFile}` : ''})`);
  say(`API:       ${replicas.map((r) => `http://127.0.0.1:${r.ports.api}/api`).join('  ')}  (OpenAPI at /api/openapi.json)`);
  for (const u of Object.values(idpKc.users)) say(`user ${u.username.padEnd(6)} password ${u.password.padEnd(10)} ${u.email.padEnd(18)} groups: ${u.groups.join(', ') || '(none)'}`);
  say(`a token:   ALICE_TOKEN=$(curl -s${ca} ${idpKc.issuer}/protocol/openid-connect/token -d grant_type=password \\`);
  say(`             -d client_id=${idpKc.uiClientId} -d username=alice -d password=${idpKc.users.alice.password} | jq -r .access_token)`);
  say(`spoke:     ${theSpoke.kubectlBinary} --kubeconfig ${theSpoke.aliceKubeconfig} get pods -n payments   (as alice; the token in it lasts 300 s)`);
  say(`kubectl:   KUBECONFIG=${admin.kubeconfigPath} ${cp.binaries.kubectl} get bgs,bge -n ${NAMESPACE}`);

  step('2. alice logs in at Keycloak (password grant with the demo client)');
  say(`$ curl -s${ca} ${idpKc.issuer}/protocol/openid-connect/token -d grant_type=password -d client_id=${idpKc.uiClientId} -d username=alice -d password=${idpKc.users.alice.password}`);
  const claims = decodeJwt(await idpKc.accessToken('alice'));
  say(`-> access token for ${String(claims.email)} (groups: ${JSON.stringify(claims.groups)}, aud: ${JSON.stringify(claims.aud)}, valid ${Number(claims.exp) - Number(claims.iat)} s)`);

  step('3. alice lists what she may request');
  const offered = await api(a, 'alice', 'GET', '/api/breakglassEscalations', 200);
  for (const e of offered.items as Json[]) say(`-> 200: ${e.spec?.escalatedGroup} (escalation ${e.metadata?.namespace}/${e.metadata?.name}, clusters ${JSON.stringify(e.spec?.allowed?.clusters)}, approvers ${JSON.stringify(e.spec?.approvers)}, maxValidFor ${e.spec?.maxValidFor})`);

  step(`3b. alice tries kubectl on the spoke ${CLUSTER} without a session`);
  await kubectlUntil(false);

  step(`4. alice requests ${ESCALATED_GROUP} on ${CLUSTER} with a reason`);
  const created = await api(a, 'alice', 'POST', '/api/breakglassSessions', 201, { cluster: CLUSTER, group: ESCALATED_GROUP, reason: 'INC-4711 payments down' });
  const name = String(created.metadata.name);
  say(`-> 201: ${sessionLine(created)}`);

  step('5. alice tries to approve her own request');
  const self = await api(b, 'alice', 'POST', `/api/breakglassSessions/${name}/approve`, 403);
  say(`-> 403: ${String(self.error)}`);

  step('6. bob logs in and sees the request among his pending approvals');
  const pending = await api(b, 'bob', 'GET', '/api/breakglassSessions?approver=true&state=pending', 200);
  if (!(pending.items as Json[]).some((s) => s.metadata?.name === name)) throw new Error(`bob's pending approvals lack ${name}: ${JSON.stringify(pending)}`);
  for (const s of pending.items as Json[]) say(`-> 200: ${sessionLine(s)}, reason "${String(s.spec?.requestReason ?? '')}"`);

  step(`7. bob approves it on another replica (${b.name})`);
  const approved = await api(b, 'bob', 'POST', `/api/breakglassSessions/${name}/approve`, 200, { reason: 'go ahead' });
  say(`-> 200: ${sessionLine(approved)}`);

  step('8. alice sees it approved');
  // Each replica answers from its own watch cache, which follows the approval written through
  // breakglass-1 within a moment: a person would refresh, so the demo does (quietly).
  // The answer is { session, approvalMeta }.
  let mine: Json = await api(a, 'alice', 'GET', `/api/breakglassSessions/${name}`, 200);
  for (let i = 0; i < 40 && mine.session?.status?.state !== 'Approved'; i++) {
    await sleep(250);
    mine = await api(a, 'alice', 'GET', `/api/breakglassSessions/${name}`, 200, undefined, true);
  }
  if (mine.session?.status?.state !== 'Approved' || !mine.session?.status?.expiresAt) throw new Error(`alice sees ${JSON.stringify(mine)} after 10 s`);
  say(`-> 200: ${sessionLine(mine.session)} (approvalMeta ${JSON.stringify(mine.approvalMeta)})`);

  step('8b. alice runs kubectl on the spoke again: the approved session allows it');
  await kubectlUntil(true);

  step('9. the leader keeps the approver list in sync with Keycloak (group sync)');
  const syncDeadline = Date.now() + 60_000;
  const syncedBy = (): Replica | undefined => replicas.find((r) => r.linesWith('escalation approver group members updated').length > 0);
  while (!syncedBy()) {
    if (Date.now() > syncDeadline) throw new Error('no group sync line from the leader within 60 s');
    await sleep(250);
  }
  const syncLine = syncedBy()!.linesWith('escalation approver group members updated')[0]!;
  say(`the leader ${syncedBy()!.name} logged: ${JSON.stringify({ msg: syncLine.msg, escalation: syncLine.escalation, reason: syncLine.reason, groups: syncLine.groups })}`);
  const synced = (await objects.getNamespacedCustomObject({ group: GROUP, version: VERSION, plural: plurals.BreakglassEscalation, namespace: NAMESPACE, name: ESCALATION })) as BreakglassEscalation;
  say(`status.approverGroupMembers of ${ESCALATION}: ${JSON.stringify(synced.status?.approverGroupMembers ?? {})}`);

  step('10. alice is done and drops the session');
  const dropped = await api(a, 'alice', 'POST', `/api/breakglassSessions/${name}/drop`, 200);
  say(`-> 200: ${sessionLine(dropped)}`);
  step('10b. kubectl as alice after the drop');
  await kubectlUntil(false);
  say('the leader deletes the ended session once its retainFor (10 s) has passed:');
  const gone = Date.now() + 60_000;
  while (!replicas.some((r) => r.linesWith('Deleted ended breakglass session').some((l) => String(l.session).endsWith(name)))) {
    if (Date.now() > gone) throw new Error(`${name} not deleted within 60 s`);
    await sleep(250);
  }
  await sleep(300); // let the echo print the line

  step('11. one leader handoff: the leader stops (SIGTERM), releases its Lease, another takes over');
  const leader = currentLeader(replicas);
  if (leader) {
    say(`stopping the leader ${leader.name}`);
    const before = Date.now();
    await leader.stop();
    for (let i = 0; i < 40 && !currentLeader(replicas); i++) await sleep(250);
    say(`the leader is now ${currentLeader(replicas)?.name ?? 'nobody yet'} (${((Date.now() - before) / 1000).toFixed(1)} s)`);
  }

  step('journey complete');

  // Bring the replica the handoff stopped back (as a follower), so every URL printed works.
  for (const [i, r] of replicas.entries()) {
    if (r.running) continue;
    say(`restarting ${r.name} on its port: it rejoins as a follower`);
    replicas[i] = await Replica.start(replicaOptions[i]!);
  }
  step('the web UI: open it in a browser and do the same journey by hand');
  say(`UI:        ${uiUrl}   (every replica serves it: ${replicas.map((r) => `http://127.0.0.1:${r.ports.api}/`).join('  ')})`);
  say(`deny link: ${uiUrl}?search=${CLUSTER}&group=${ESCALATED_GROUP}   (what kubectl on the spoke prints for alice)`);
  say(`log in at Keycloak as alice (requests), then in another browser or a private window as bob or carol (approve):`);
  for (const u of Object.values(idpKc.users)) say(`  ${u.username.padEnd(6)} / ${u.password.padEnd(19)} groups: ${u.groups.join(', ') || '(none)'}`);
  if (idpKc.caFile) {
    say(`Keycloak (${idpKc.baseUrl}) has a certificate of the demo's own CA: the browser warns once; accept it,`);
    say(`  or trust ${idpKc.caFile} in the browser first.`);
  }
  if (CHECK) {
    // What a newcomer opens next: every printed URL answers with the app (checked, then stop).
    for (const url of [uiUrl, ...replicas.map((r) => `http://127.0.0.1:${r.ports.api}/?search=${CLUSTER}&group=${ESCALATED_GROUP}`)]) {
      const res = await fetch(url);
      const html = await res.text();
      if (res.status !== 200 || !html.includes('<div id="app">')) throw new Error(`${url} answered ${res.status} without the web UI`);
      say(`checked: ${url} serves the web UI`);
    }
    await stopAll(0);
  }
  const seconds = Number(process.env.DEMO_SECONDS ?? 0);
  if (seconds > 0) {
    say(`stopping in ${seconds} s (DEMO_SECONDS)`);
    await sleep(seconds * 1000);
    await stopAll(0);
  }
  say('still running: try the UI and the calls above yourself; Ctrl-C stops everything');
  setInterval(() => undefined, 1 << 30);
} catch (err) {
  process.stderr.write(`[demo] failed: ${err instanceof Error ? err.message : String(err)}\n`);
  await stopAll(1);
}
