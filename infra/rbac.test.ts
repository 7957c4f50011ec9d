import { Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { expect } from 'chai';
import { ControllerRbac } from './index.ts';
import { CONFIGURATIONS, findAll, findOne, synthesize, type KubeObject } from './test/configurations.ts';

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

function rules(object: KubeObject): Rule[] {
  return object.rules as Rule[];
}

/** Every (group, resource, verb, name-restriction) the rules grant, as readable strings. */
function grants(object: KubeObject): string[] {
  return rules(object).flatMap((r) =>
    r.apiGroups.flatMap((g) =>
      r.resources.flatMap((res) => r.verbs.map((v) => `${g || 'core'}/${res}:${v}${r.resourceNames?.length ? `[${r.resourceNames.join(',')}]` : ''}`)),
    ),
  );
}

describe('ControllerRbac', function () {
  this.timeout(20_000); // synthesis takes ~0.1 s, but the machine is shared
  it('restricts the Lease verbs to the configured Lease by name, with create as a separate rule', () => {
    const { objects } = synthesize(CONFIGURATIONS['custom-namespace']());
    const role = findOne(objects, 'Role', 'bg-leader-election');
    expect(role.metadata.namespace).to.equal('platform-leases');
    expect(rules(role)).to.deep.equal([
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: ['breakglass-platform-leader'], verbs: ['get', 'watch', 'update'] },
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
    ]);
    const binding = findOne(objects, 'RoleBinding', 'bg-leader-election');
    expect(binding.subjects).to.deep.equal([{ apiGroup: '', kind: 'ServiceAccount', name: 'bg', namespace: 'platform-breakglass' }]);
    expect(binding.roleRef).to.deep.equal({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'bg-leader-election' });
  });

  it('grants exactly the controller verbs on the breakglass kinds, cluster-wide, and nothing else', () => {
    const clusterRole = findOne(synthesize(CONFIGURATIONS['ha-production']()).objects, 'ClusterRole');
    const g = 'breakglass.t-caas.telekom.com';
    // Written out rather than taken from BREAKGLASS_PERMISSIONS, so an added permission fails here.
    expect(grants(clusterRole)).to.have.members([
      ...['get', 'list', 'watch', 'create', 'delete'].map((v) => `${g}/breakglasssessions:${v}`),
      `${g}/breakglasssessions/status:update`,
      ...['list', 'watch'].map((v) => `${g}/breakglassescalations:${v}`),
      `${g}/breakglassescalations/status:update`,
      ...['list', 'watch'].map((v) => `${g}/clusterconfigs:${v}`),
      // The authorization webhook's DenyPolicy cache.
      ...['list', 'watch'].map((v) => `${g}/denypolicies:${v}`),
      `${g}/clusterconfigs/status:update`,
      ...['list', 'watch'].map((v) => `${g}/identityproviders:${v}`),
      `${g}/identityproviders/status:update`,
    ]);
  });

  it('never grants wildcards, RBAC writes, namespace access or cluster-wide Secrets', () => {
    for (const name of ['single-instance', 'ha-production', 'custom-namespace'] as const) {
      const { objects } = synthesize(CONFIGURATIONS[name]());
      for (const object of [...findAll(objects, 'Role'), ...findAll(objects, 'ClusterRole')]) {
        for (const grant of grants(object)) {
          expect(grant, `${object.kind} ${object.metadata.name}`).to.not.match(/\*|rbac\.authorization\.k8s\.io|core\/namespaces|serviceaccounts/);
        }
      }
      const clusterGrants = findAll(objects, 'ClusterRole').flatMap(grants);
      expect(clusterGrants.filter((g) => g.startsWith('core/'))).to.deep.equal([]);
    }
  });

  it('reads Secrets only with get and only in the configured namespaces', () => {
    const { objects } = synthesize(CONFIGURATIONS['custom-namespace']());
    const secretRoles = findAll(objects, 'Role').filter((r) => r.metadata.name === 'bg-secrets');
    expect(secretRoles.map((r) => r.metadata.namespace)).to.deep.equal(['platform-breakglass', 'spoke-kubeconfigs']);
    for (const role of secretRoles) expect(grants(role)).to.deep.equal(['core/secrets:get']);
    const defaults = findAll(synthesize(CONFIGURATIONS['ha-production']()).objects, 'Role').filter((r) => r.metadata.name === 'breakglass-secrets');
    expect(defaults.map((r) => r.metadata.namespace)).to.deep.equal(['breakglass-system']);
  });

  it('records core Events in the controller namespace by default, not in the Lease namespace (leader election records none)', () => {
    const { objects } = synthesize(CONFIGURATIONS['custom-namespace']());
    const eventRoles = findAll(objects, 'Role').filter((r) => r.metadata.name === 'bg-events');
    expect(eventRoles.map((r) => r.metadata.namespace)).to.deep.equal(['platform-breakglass']);
    expect(grants(eventRoles[0] as KubeObject)).to.deep.equal(['core/events:create']);
  });

  it('writes no empty lists into rules (an empty resourceNames means the same as none; it is diff noise)', () => {
    for (const name of ['single-instance', 'ha-production', 'custom-namespace'] as const) {
      const { objects } = synthesize(CONFIGURATIONS[name]());
      for (const object of [...findAll(objects, 'Role'), ...findAll(objects, 'ClusterRole')]) {
        for (const rule of object.rules as Record<string, unknown>[]) {
          const empty = Object.entries(rule).filter(([, value]) => Array.isArray(value) && value.length === 0).map(([key]) => key);
          expect(empty, `${name}: ${object.kind} ${object.metadata.name} rule ${JSON.stringify(rule)}`).to.deep.equal([]);
        }
      }
    }
  });

  it('used alone: binds any ServiceAccount and honours explicit namespaces', () => {
    const chart = Testing.chart();
    const sa = kplus.ServiceAccount.fromServiceAccountName(chart, 'Sa', 'ops-breakglass', { namespaceName: 'ops' });
    new ControllerRbac(chart, 'Rbac', { name: 'ops', namespace: 'ops', serviceAccount: sa, lease: false, eventNamespaces: ['ops', 'audit'], secretNamespaces: [] });
    const objects = Testing.synth(chart) as KubeObject[];
    expect(findAll(objects, 'Role').map((r) => `${r.metadata.namespace}/${r.metadata.name}`)).to.deep.equal(['audit/ops-events', 'ops/ops-events']);
    expect(findOne(objects, 'ClusterRoleBinding').subjects).to.deep.equal([{ apiGroup: '', kind: 'ServiceAccount', name: 'ops-breakglass', namespace: 'ops' }]);
  });
});
