/**
 * The CRDs on a real API server: they install (twice, as several test files do), the samples
 * apply, the server applies our defaults and enforces the CEL rules with messages naming the
 * field, field selectors work, and kubectl prints the printer columns.
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { GROUP, VERSION, crdSources, plurals, type KindName } from '../crds/index.ts';
import { installCrds } from '../crds/install.ts';
import { loadSamples, type SampleObject } from '../crds/samples/load.ts';
import { testCluster } from './harness/cluster.ts';
import { deleteClusterScoped } from './harness/cluster-scoped.ts';

interface ApiFailure {
  code?: number;
  body?: unknown;
}

/** The HTTP status and the API server's message of a failed call. */
async function failureOf(promise: Promise<unknown>): Promise<{ code: number | undefined; message: string }> {
  try {
    await promise;
  } catch (err) {
    const failure = err as ApiFailure;
    let message = String(err);
    if (typeof failure.body === 'string') {
      try {
        message = (JSON.parse(failure.body) as { message?: string }).message ?? failure.body;
      } catch {
        message = failure.body;
      }
    }
    return { code: failure.code, message };
  }
  expect.fail('expected the API server to reject the request, but it succeeded');
}

const suffix = randomBytes(3).toString('hex');
const isNamespaced = (kind: KindName): boolean => crdSources.find((s) => s.kind === kind)?.scope === 'Namespaced';

describe('CRDs on a real API server', function () {
  let api: CustomObjectsApi;
  let namespace: string;

  function create(object: SampleObject | Record<string, unknown>): Promise<Record<string, unknown>> {
    const kind = (object as SampleObject).kind;
    const plural = plurals[kind];
    const body: Record<string, unknown> = { apiVersion: `${GROUP}/${VERSION}`, ...(object as Record<string, unknown>) };
    return isNamespaced(kind)
      ? api.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural, body })
      : api.createClusterCustomObject({ group: GROUP, version: VERSION, plural, body });
  }

  before(async () => {
    const cluster = testCluster();
    // Installing twice proves it is idempotent (other test files install too).
    await installCrds(cluster.admin.kubeConfig);
    await installCrds(cluster.admin.kubeConfig);
    api = cluster.admin.kubeConfig.makeApiClient(CustomObjectsApi);
    namespace = await cluster.createNamespace('crds');
  });

  after(async () => {
    // The samples include a primary IdentityProvider: later suites pick the primary one by name.
    await deleteClusterScoped(testCluster().admin.kubeConfig, (name) => name.endsWith(`-${suffix}`));
  });

  it('accepts every sample, namespaced ones in a fresh namespace', async () => {
    for (const { file, object } of loadSamples()) {
      // Cluster-scoped names get a suffix so repeated runs against one cluster do not collide.
      const named = isNamespaced(object.kind) ? object : { ...object, metadata: { ...object.metadata, name: `${object.metadata.name}-${suffix}` } };
      const created = await create(named).catch((err: ApiFailure) => expect.fail(`${file}: ${String(err.body ?? err)}`));
      expect((created['metadata'] as { uid?: string }).uid, file).to.be.a('string');
    }
  });

  it('applies the CRD defaults', async () => {
    const created = await create({
      kind: 'BreakglassEscalation',
      metadata: { name: 'defaults' },
      spec: { escalatedGroup: 'ops', allowed: { clusters: ['*'], groups: ['ops'] }, approvers: { groups: ['leads'] } },
    });
    expect(created['spec']).to.include({ maxValidFor: '1h', approvalTimeout: '1h' });
    const session = await create({
      kind: 'BreakglassSession',
      metadata: { name: 'defaults-session' },
      spec: { cluster: 'c1', user: 'u@example.com', grantedGroup: 'ops' },
    });
    expect(session['spec']).to.include({ maxValidFor: '1h', retainFor: '720h' });
  });

  describe('CEL rules enforced by the API server', () => {
    const cases: Array<{ title: string; object: Record<string, unknown>; expected: RegExp }> = [
      {
        title: 'an escalation without approvers',
        object: { kind: 'BreakglassEscalation', metadata: { name: 'no-approvers' }, spec: { escalatedGroup: 'ops', allowed: { groups: ['ops'] } } },
        expected: /spec\.approvers: Required value: at least one approver user or group must be specified/,
      },
      {
        title: 'blockSelfApproval with the escalated group as approver group',
        object: {
          kind: 'BreakglassEscalation',
          metadata: { name: 'self-approval' },
          spec: { escalatedGroup: 'ops', allowed: { groups: ['ops'] }, approvers: { groups: ['ops'] }, blockSelfApproval: true },
        },
        expected: /spec\.escalatedGroup: Invalid value: .*escalatedGroup must not be an approver group when blockSelfApproval is true/,
      },
      {
        title: 'a ClusterConfig with two auth methods',
        object: {
          kind: 'ClusterConfig',
          metadata: { name: 'two-methods' },
          spec: {
            kubeconfigSecretRef: { name: 'k', namespace: 'breakglass-system' },
            oidcFromIdentityProvider: { name: 'corp', server: 'https://api.example.com' },
          },
        },
        expected: /exactly one of kubeconfigSecretRef, oidcAuth or oidcFromIdentityProvider must be specified/,
      },
      {
        title: 'a ClusterConfig whose webhookAuthentication names neither a token nor a client certificate',
        object: {
          kind: 'ClusterConfig',
          metadata: { name: 'no-webhook-credential' },
          spec: { kubeconfigSecretRef: { name: 'k', namespace: 'breakglass-system' }, webhookAuthentication: {} },
        },
        expected: /spec\.webhookAuthentication: Invalid value: .*at least one of tokenSecretRef or clientCertificate must be specified/,
      },
      {
        title: 'an empty DenyPolicy',
        object: { kind: 'DenyPolicy', metadata: { name: `empty-${suffix}` }, spec: { precedence: 5 } },
        expected: /at least one of rules, podSecurityRules or impersonationRules must be specified/,
      },
      {
        title: 'an IdentityProvider with Keycloak group sync but no keycloak block',
        object: {
          kind: 'IdentityProvider',
          metadata: { name: `no-keycloak-${suffix}` },
          spec: { groupSyncProvider: 'Keycloak', oidc: { authority: 'https://sso.example.com', clientID: 'ui', expectedAudience: 'bg' } },
        },
        expected: /spec\.keycloak: Invalid value: .*keycloak is required when groupSyncProvider is Keycloak/,
      },
      {
        title: 'an IdentityProvider with an http authority',
        object: {
          kind: 'IdentityProvider',
          metadata: { name: `http-${suffix}` },
          spec: { oidc: { authority: 'http://sso.example.com', clientID: 'ui', expectedAudience: 'bg' } },
        },
        expected: /spec\.oidc\.authority: Invalid value: "http:\/\/sso\.example\.com"/,
      },
      {
        title: 'a session with a malformed duration',
        object: {
          kind: 'BreakglassSession',
          metadata: { name: 'bad-duration' },
          spec: { cluster: 'c1', user: 'u@example.com', grantedGroup: 'ops', maxValidFor: 'one hour' },
        },
        expected: /spec\.maxValidFor: Invalid value: "one hour"/,
      },
    ];

    for (const { title, object, expected } of cases) {
      it(`rejects ${title}`, async () => {
        const failure = await failureOf(create(object));
        expect(failure.code).to.equal(422);
        expect(failure.message).to.match(expected);
      });
    }

    it('rejects a change of a session spec', async () => {
      const name = 'immutable';
      await create({ kind: 'BreakglassSession', metadata: { name }, spec: { cluster: 'c1', user: 'u@example.com', grantedGroup: 'ops' } });
      const current = (await api.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: plurals.BreakglassSession, name })) as {
        spec: Record<string, unknown>;
      };
      const changed = { ...current, spec: { ...current.spec, grantedGroup: 'cluster-admin' } };
      const failure = await failureOf(
        api.replaceNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: plurals.BreakglassSession, name, body: changed }),
      );
      expect(failure.code).to.equal(422);
      expect(failure.message).to.match(/spec: Invalid value: .*spec is immutable/);
    });
  });

  it('ignores status changes sent to the main resource: only the status subresource moves the state', async () => {
    const name = 'status-guard';
    const ref = { group: GROUP, version: VERSION, namespace, plural: plurals.BreakglassSession, name };
    await create({ kind: 'BreakglassSession', metadata: { name }, spec: { cluster: 'c1', user: 'u@example.com', grantedGroup: 'ops' } });
    const created = (await api.getNamespacedCustomObject(ref)) as Record<string, unknown>;
    await api.replaceNamespacedCustomObjectStatus({ ...ref, body: { ...created, status: { state: 'Approved', activityCount: 3 } } });
    const approved = (await api.getNamespacedCustomObject(ref)) as { metadata: Record<string, unknown> };

    // A main-resource update that also rewrites the status: the API server keeps the label, drops the status.
    const replaced = (await api.replaceNamespacedCustomObject({
      ...ref,
      body: { ...approved, metadata: { ...approved.metadata, labels: { edited: 'yes' } }, status: { state: 'Pending', activityCount: 0 } },
    })) as { metadata: { labels?: Record<string, string> }; status?: Record<string, unknown> };
    expect(replaced.metadata.labels).to.deep.equal({ edited: 'yes' });
    expect(replaced.status).to.deep.equal({ state: 'Approved', activityCount: 3 });
    const stored = (await api.getNamespacedCustomObject(ref)) as { status?: Record<string, unknown> };
    expect(stored.status).to.deep.equal({ state: 'Approved', activityCount: 3 });
  });

  it('serves the status subresource, field selectors and the printer columns', async () => {
    const cluster = testCluster();
    const name = 'printed';
    await create({ kind: 'BreakglassSession', metadata: { name }, spec: { cluster: 'edge-7', user: 'ann@example.com', grantedGroup: 'ops' } });
    const current = (await api.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: plurals.BreakglassSession, name })) as Record<
      string,
      unknown
    >;
    await api.replaceNamespacedCustomObjectStatus({
      group: GROUP,
      version: VERSION,
      namespace,
      plural: plurals.BreakglassSession,
      name,
      body: { ...current, status: { state: 'Pending', timeoutAt: '2030-01-01T00:00:00Z' } },
    });
    const afterStatus = (await api.getNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace,
      plural: plurals.BreakglassSession,
      name,
    })) as Record<string, unknown>;
    expect(afterStatus['status']).to.include({ state: 'Pending' });
    const badState = await failureOf(
      api.replaceNamespacedCustomObjectStatus({
        group: GROUP,
        version: VERSION,
        namespace,
        plural: plurals.BreakglassSession,
        name,
        body: { ...afterStatus, status: { state: 'Dropped' } },
      }),
    );
    expect(badState.message).to.match(/status\.state: Unsupported value: "Dropped"/);

    const selected = await cluster.kubectl(['get', 'bgs', '-n', namespace, '--field-selector', 'spec.cluster=edge-7', '-o', 'name']);
    expect(selected.stderr).to.equal('');
    expect(selected.stdout.trim()).to.equal(`breakglasssession.${GROUP}/${name}`);

    const table = await cluster.kubectl(['get', 'bgs,bge,ccfg', '-n', namespace]);
    expect(table.code, table.stderr).to.equal(0);
    for (const header of ['STATE', 'USER', 'CLUSTER', 'GRANTED GROUP', 'EXPIRES AT', 'CLUSTERS', 'GROUPS', 'TENANT', 'CLUSTERID', 'READY']) {
      expect(table.stdout).to.contain(header);
    }
    expect(table.stdout).to.match(/printed\s+Pending\s+ann@example\.com\s+edge-7\s+ops/);
    expect(table.stdout).to.match(/prod-eu-1\s+payments\s+prod-eu-1/);

    const clusterScoped = await cluster.kubectl(['get', 'dpolicy,identityproviders']);
    expect(clusterScoped.code, clusterScoped.stderr).to.equal(0);
    for (const header of ['PRECEDENCE', 'ISSUER', 'GROUPSYNC']) expect(clusterScoped.stdout).to.contain(header);
    expect(clusterScoped.stdout).to.match(new RegExp(`corp-keycloak-${suffix}\\s+https://keycloak\\.example\\.com/realms/corp\\s+Keycloak`));
  });
});
