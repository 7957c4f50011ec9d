/**
 * Least-privilege RBAC for the controller's ServiceAccount: exactly the verbs it uses, on the
 * objects and in the namespaces where it uses them. No namespace, RBAC or cluster-wide Secret
 * access.
 */
import { ApiObject, JsonPatch } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { optionDefinitions } from '../controller/options.ts';
import { plurals } from '../crds/index.ts';
import type { LeaseLocation } from './controller-options.ts';
import { BREAKGLASS_API_GROUP, checkInstanceName, commonLabels, DEFAULT_INSTANCE_NAME, DEFAULT_NAMESPACE, objectNames, uniqueNamespaces } from './naming.ts';

export interface ControllerRbacProps {
  /**
   * Prefix of the Role and ClusterRole names (a DNS-1035 label of at most 30 characters).
   * @default 'breakglass'
   */
  readonly name?: string;
  /**
   * Namespace the controller runs in.
   * @default 'breakglass-system'
   */
  readonly namespace?: string;
  /** The identity the controller runs as (e.g. `workload.serviceAccount`). */
  readonly serviceAccount: kplus.IServiceAccount;
  /**
   * The Lease the controller competes for, or false when leader election is disabled.
   * @default - 'breakglass.telekom.io' in the controller namespace
   */
  readonly lease?: LeaseLocation | false;
  /**
   * Namespaces holding Secrets the controller reads (ClusterConfig kubeconfigs, IdentityProvider
   * client secrets); one Role with `get` on secrets per namespace.
   * @default - the controller namespace
   */
  readonly secretNamespaces?: readonly string[];
  /**
   * Namespaces the controller records Events in: session audit Events go to each session's
   * namespace (its escalation's), ClusterConfig Events to the ClusterConfig's.
   * @default - the controller namespace
   */
  readonly eventNamespaces?: readonly string[];
}

/**
 * One ClusterRole rule set per breakglass kind: the verbs the controller uses today.
 * Sessions: the informer lists and watches, cleanup and the REST API re-read (get) and replace
 * the status (update), the REST API creates them (in the namespace of their escalation) and
 * deletes a session whose initial status could not be written, cleanup deletes retained ones.
 * ClusterConfigs: the checker lists them and replaces their status; the API watches them for
 * approval policy. Escalations and IdentityProviders: the API watches them, the admission
 * webhook lists them for cross-object rules; sessions, escalations and ClusterConfigs are also
 * listed for name uniqueness. The group
 * sync lists escalations and IdentityProviders and replaces their status (approver members,
 * GroupSyncHealthy); it reads the Keycloak client Secret through the `secretNamespaces` Roles.
 * The authorization webhook watches ClusterConfigs, escalations and DenyPolicies on every
 * replica, and writes session activity through the session status (update, above).
 */
export const BREAKGLASS_PERMISSIONS: ReadonlyArray<{ resource: string; verbs: readonly string[] }> = [
  { resource: plurals.BreakglassSession, verbs: ['get', 'list', 'watch', 'create', 'delete'] },
  { resource: `${plurals.BreakglassSession}/status`, verbs: ['update'] },
  { resource: plurals.BreakglassEscalation, verbs: ['list', 'watch'] },
  { resource: `${plurals.BreakglassEscalation}/status`, verbs: ['update'] },
  { resource: plurals.ClusterConfig, verbs: ['list', 'watch'] },
  { resource: `${plurals.ClusterConfig}/status`, verbs: ['update'] },
  { resource: plurals.IdentityProvider, verbs: ['list', 'watch'] },
  { resource: `${plurals.IdentityProvider}/status`, verbs: ['update'] },
  { resource: plurals.DenyPolicy, verbs: ['list', 'watch'] },
];

/**
 * Verbs on the one Lease, restricted by name. The Lease store reads, replaces and watches it;
 * the API server authorizes a watch with `fieldSelector=metadata.name=<id>` as `watch` on that
 * name, so no unrestricted list/watch is needed (proven against a real API server in
 * e2e/infra.e2e.ts).
 */
export const LEASE_NAMED_VERBS = ['get', 'watch', 'update'] as const;

export class ControllerRbac extends Construct {
  public readonly clusterRole: kplus.ClusterRole;
  public readonly leaderElectionRole?: kplus.Role;
  public readonly eventRoles: readonly kplus.Role[];
  public readonly secretRoles: readonly kplus.Role[];
  private readonly labels: Record<string, string>;

  constructor(scope: Construct, id: string, props: ControllerRbacProps) {
    super(scope, id);
    const instance = checkInstanceName(props.name ?? DEFAULT_INSTANCE_NAME);
    const namespace = props.namespace ?? DEFAULT_NAMESPACE;
    const names = objectNames(instance);
    const labels = commonLabels(instance);
    this.labels = labels;
    const lease = props.lease === undefined ? { id: optionDefinitions.leaderElectId.default, namespace } : props.lease;

    this.clusterRole = new kplus.ClusterRole(this, 'ClusterRole', { metadata: { name: names.clusterRole, labels } });
    BREAKGLASS_PERMISSIONS.forEach(({ resource, verbs }, index) => {
      this.clusterRole.allow([...verbs], kplus.ApiResource.custom({ apiGroup: BREAKGLASS_API_GROUP, resourceType: resource }));
      // cdk8s-plus writes `resourceNames: []` for unnamed ClusterRole rules (its Role omits it).
      // An empty list means the same as none, but it is noise in a GitOps diff and a review.
      ApiObject.of(this.clusterRole).addJsonPatch(JsonPatch.remove(`/rules/${index}/resourceNames`));
    });
    this.bind(new kplus.ClusterRoleBinding(this, 'ClusterRoleBinding', { metadata: { name: names.clusterRole, labels }, role: this.clusterRole }), props.serviceAccount);

    if (lease) {
      const role = this.role('LeaderElection', names.leaderElectionRole, lease.namespace, props.serviceAccount);
      role.allow([...LEASE_NAMED_VERBS], { apiGroup: 'coordination.k8s.io', resourceType: 'leases', resourceName: lease.id });
      // create cannot be restricted by name: the name is not known to RBAC before the object exists.
      role.allow(['create'], { apiGroup: 'coordination.k8s.io', resourceType: 'leases' });
      this.leaderElectionRole = role;
    }

    // Events are core/v1, created only (session audit, ClusterConfig checks); leader election records none.
    const eventNamespaces = props.eventNamespaces ?? [namespace];
    this.eventRoles = uniqueNamespaces(eventNamespaces).map((ns) => {
      const role = this.role(`Events-${ns}`, names.eventsRole, ns, props.serviceAccount);
      role.allow(['create'], { apiGroup: '', resourceType: 'events' });
      return role;
    });

    this.secretRoles = uniqueNamespaces(props.secretNamespaces ?? [namespace]).map((ns) => {
      const role = this.role(`Secrets-${ns}`, names.secretsRole, ns, props.serviceAccount);
      role.allow(['get'], { apiGroup: '', resourceType: 'secrets' });
      return role;
    });
  }

  private role(id: string, name: string, namespace: string, subject: kplus.IServiceAccount): kplus.Role {
    const labels = this.labels;
    const role = new kplus.Role(this, `${id}Role`, { metadata: { name, namespace, labels } });
    this.bind(new kplus.RoleBinding(this, `${id}RoleBinding`, { metadata: { name, namespace, labels }, role }), subject);
    return role;
  }

  private bind(binding: kplus.RoleBinding | kplus.ClusterRoleBinding, subject: kplus.IServiceAccount): void {
    binding.addSubjects(subject);
  }
}
