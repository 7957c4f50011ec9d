/**
 * The Pod Security Standard "restricted" (Kubernetes 1.28+, which includes "baseline"), as the
 * infra tests need it: the checks the admission controller makes on a pod spec, so that a
 * missing capability drop or seccomp profile fails a unit test instead of a rollout into a
 * namespace labelled `pod-security.kubernetes.io/enforce: restricted`.
 */

interface SecurityContext {
  privileged?: boolean;
  allowPrivilegeEscalation?: boolean;
  runAsNonRoot?: boolean;
  runAsUser?: number;
  procMount?: string;
  capabilities?: { add?: string[]; drop?: string[] };
  seccompProfile?: { type?: string };
  windowsOptions?: { hostProcess?: boolean };
}

interface Container {
  name: string;
  securityContext?: SecurityContext;
  ports?: Array<{ hostPort?: number }>;
}

export interface PodSpecForPss {
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  securityContext?: SecurityContext & { sysctls?: unknown[] };
  containers: Container[];
  initContainers?: Container[];
  ephemeralContainers?: Container[];
  volumes?: Array<Record<string, unknown> & { name: string }>;
}

/** Volume sources "restricted" allows. */
const RESTRICTED_VOLUME_TYPES = new Set(['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret']);
const SECCOMP_OK = new Set(['RuntimeDefault', 'Localhost']);

/** The violations of the "restricted" standard in a pod spec; empty when it is admitted. */
export function restrictedViolations(spec: PodSpecForPss): string[] {
  const problems: string[] = [];
  const pod = spec.securityContext ?? {};
  if (spec.hostNetwork || spec.hostPID || spec.hostIPC) problems.push('host namespaces');
  if (pod.windowsOptions?.hostProcess) problems.push('pod: hostProcess');
  if ((pod.sysctls ?? []).length > 0) problems.push('pod: sysctls');
  if (pod.runAsUser === 0) problems.push('pod: runAsUser 0');
  if (pod.seccompProfile?.type !== undefined && !SECCOMP_OK.has(pod.seccompProfile.type)) problems.push(`pod: seccompProfile ${pod.seccompProfile.type}`);
  for (const volume of spec.volumes ?? []) {
    const types = Object.keys(volume).filter((key) => key !== 'name');
    for (const type of types) if (!RESTRICTED_VOLUME_TYPES.has(type)) problems.push(`volume ${volume.name}: ${type}`);
  }
  for (const c of [...spec.containers, ...(spec.initContainers ?? []), ...(spec.ephemeralContainers ?? [])]) {
    const sc = c.securityContext ?? {};
    const where = `container ${c.name}`;
    if (sc.privileged) problems.push(`${where}: privileged`);
    if (sc.windowsOptions?.hostProcess) problems.push(`${where}: hostProcess`);
    if (sc.procMount !== undefined && sc.procMount !== 'Default') problems.push(`${where}: procMount ${sc.procMount}`);
    if ((c.ports ?? []).some((p) => (p.hostPort ?? 0) !== 0)) problems.push(`${where}: hostPort`);
    if (sc.allowPrivilegeEscalation !== false) problems.push(`${where}: allowPrivilegeEscalation must be false`);
    if ((sc.runAsNonRoot ?? pod.runAsNonRoot) !== true) problems.push(`${where}: runAsNonRoot must be true`);
    if (sc.runAsUser === 0) problems.push(`${where}: runAsUser 0`);
    const seccomp = sc.seccompProfile?.type ?? pod.seccompProfile?.type;
    if (seccomp === undefined || !SECCOMP_OK.has(seccomp)) problems.push(`${where}: seccompProfile must be RuntimeDefault or Localhost, got ${seccomp}`);
    if (!(sc.capabilities?.drop ?? []).includes('ALL')) problems.push(`${where}: capabilities must drop ALL`);
    const added = (sc.capabilities?.add ?? []).filter((cap) => cap !== 'NET_BIND_SERVICE');
    if (added.length > 0) problems.push(`${where}: adds capabilities ${added.join(', ')}`);
  }
  return problems;
}
