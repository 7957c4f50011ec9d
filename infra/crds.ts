/**
 * The CustomResourceDefinitions of every breakglass kind, rendered from the schemas in crds/.
 */
import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { allCrdManifests, type JsonObject } from '../crds/index.ts';

export interface CrdsProps {
  /**
   * The CRD manifests to install (plain `apiextensions.k8s.io/v1` JSON).
   * @default allCrdManifests() from crds/
   */
  readonly manifests?: readonly JsonObject[];
}

export class Crds extends Construct {
  public readonly customResourceDefinitions: readonly ApiObject[];

  constructor(scope: Construct, id: string, props: CrdsProps = {}) {
    super(scope, id);
    // A plain ApiObject passes the schema through untouched; the typed L1 would drop the
    // `x-kubernetes-*` keys its JSON mapper does not know.
    this.customResourceDefinitions = (props.manifests ?? allCrdManifests()).map((manifest) => {
      const { apiVersion, kind, metadata, ...rest } = manifest;
      const name = (metadata as { name?: unknown } | undefined)?.name;
      if (apiVersion !== 'apiextensions.k8s.io/v1' || kind !== 'CustomResourceDefinition' || typeof name !== 'string') {
        throw new Error(`Crds: every manifest must be an apiextensions.k8s.io/v1 CustomResourceDefinition with metadata.name`);
      }
      return new ApiObject(this, name, { apiVersion, kind, metadata: metadata as { name: string }, ...rest });
    });
  }
}
