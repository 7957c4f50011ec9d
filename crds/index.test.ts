import { expect } from 'chai';
import { API_VERSION, allCrdManifests, crdManifest, crdSources, plurals, type JsonObject, type JsonValue } from './index.ts';

type Visit = (schema: JsonObject, path: string) => void;

function walkSchemas(schema: JsonObject, path: string, visit: Visit): void {
  visit(schema, path);
  const properties = schema['properties'] as JsonObject | undefined;
  for (const [key, child] of Object.entries(properties ?? {})) walkSchemas(child as JsonObject, `${path}.${key}`, visit);
  const items = schema['items'] as JsonObject | undefined;
  if (items) walkSchemas(items, `${path}[]`, visit);
  const additional = schema['additionalProperties'];
  if (typeof additional === 'object' && additional !== null) walkSchemas(additional as JsonObject, `${path}{}`, visit);
}

function openApiOf(manifest: JsonObject): JsonObject {
  const versions = (manifest['spec'] as JsonObject)['versions'] as JsonObject[];
  return ((versions[0] as JsonObject)['schema'] as JsonObject)['openAPIV3Schema'] as JsonObject;
}

describe('CRD manifests', () => {
  it('renders one CRD per kind with group, version, names and scope of the reference', () => {
    const summary = allCrdManifests().map((m) => {
      const spec = m['spec'] as JsonObject;
      const names = spec['names'] as JsonObject;
      return [(m['metadata'] as JsonObject)['name'], spec['scope'], names['shortNames'] ?? []];
    });
    expect(summary).to.deep.equal([
      ['breakglasssessions.breakglass.t-caas.telekom.com', 'Namespaced', ['bgs']],
      ['breakglassescalations.breakglass.t-caas.telekom.com', 'Namespaced', ['bge']],
      ['clusterconfigs.breakglass.t-caas.telekom.com', 'Namespaced', ['ccfg']],
      ['identityproviders.breakglass.t-caas.telekom.com', 'Cluster', []],
      ['denypolicies.breakglass.t-caas.telekom.com', 'Cluster', ['dpolicy']],
    ]);
    expect(API_VERSION).to.equal('breakglass.t-caas.telekom.com/v1alpha1');
    expect(plurals.DenyPolicy).to.equal('denypolicies');
  });

  it('produces structural schemas: every node typed, no anyOf/const/patternProperties, no closed objects', () => {
    for (const manifest of allCrdManifests()) {
      walkSchemas(openApiOf(manifest), '', (schema, path) => {
        expect(schema['type'], `${path} has no type`).to.be.a('string');
        for (const forbidden of ['anyOf', 'oneOf', 'allOf', 'const', 'patternProperties', '$id', '$schema']) {
          expect(schema, `${path} uses ${forbidden}`).not.to.have.property(forbidden);
        }
        expect(schema['additionalProperties'], `${path} closes an object`).not.to.equal(false);
        if (schema['properties'] !== undefined) expect(schema, `${path} mixes properties and additionalProperties`).not.to.have.property('additionalProperties');
      });
    }
  });

  it('types timestamps as date-time strings and counters as int64', () => {
    const session = openApiOf(crdManifest(crdSources[0]!));
    const status = (session['properties'] as JsonObject)['status'] as JsonObject;
    const fields = status['properties'] as Record<string, JsonObject>;
    expect(fields['expiresAt']).to.deep.equal({ description: 'access ends at this time.', format: 'date-time', type: 'string' });
    expect(fields['activityCount']).to.include({ type: 'integer', format: 'int64' });
    expect(fields['conditions']).to.include({ 'x-kubernetes-list-type': 'map' });
  });

  it('applies the CRD defaults of the reference', () => {
    const defaults = (kind: string, field: string): JsonValue | undefined => {
      const source = crdSources.find((s) => s.kind === kind)!;
      const spec = (openApiOf(crdManifest(source))['properties'] as JsonObject)['spec'] as JsonObject;
      return ((spec['properties'] as JsonObject)[field] as JsonObject)['default'];
    };
    expect(defaults('BreakglassSession', 'maxValidFor')).to.equal('1h');
    expect(defaults('BreakglassSession', 'retainFor')).to.equal('720h');
    expect(defaults('BreakglassEscalation', 'approvalTimeout')).to.equal('1h');
    expect(defaults('ClusterConfig', 'authType')).to.equal('Kubeconfig');
    expect(defaults('DenyPolicy', 'precedence')).to.equal(100);
  });

  it('renders identically twice (deterministic key order)', () => {
    expect(JSON.stringify(allCrdManifests())).to.equal(JSON.stringify(allCrdManifests()));
  });
});
