/**
 * `npm run keycloak`: starts the test Keycloak with the breakglass realm and keeps it running
 * until Ctrl-C, printing its URL, issuer, users and CA file (one JSON line on stdout). Handy for
 * the demo and for poking at tokens by hand. E2E_KEYCLOAK_URL works here too.
 */
import { startKeycloak } from './keycloak.ts';

const kc = await startKeycloak();
const summary = {
  baseUrl: kc.baseUrl,
  issuer: kc.issuer,
  caFile: kc.caFile,
  uiClientId: kc.uiClientId,
  audience: kc.audience,
  users: Object.fromEntries(Object.values(kc.users).map((u) => [u.username, { email: u.email, password: u.password, groups: u.groups }])),
  groupSync: kc.groupSync,
  startToReadyS: Number((kc.timings.startToReadyMs / 1000).toFixed(1)),
  supervisorPid: kc.supervisorPid,
  logFile: kc.logFile,
};
console.log(JSON.stringify(summary));
const ca = kc.caFile ? ` --cacert ${kc.caFile}` : '';
console.error(
  `Keycloak running (Ctrl-C stops it); a token for alice:\n  curl -s${ca} ${kc.issuer}/protocol/openid-connect/token ` +
    `-d grant_type=password -d client_id=${kc.uiClientId} -d username=alice -d password=${kc.users.alice.password}`,
);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    void kc.stop().finally(() => process.exit(0));
  });
}
// Keep the event loop alive until a signal arrives.
setInterval(() => undefined, 1 << 30);
