/**
 * Reason texts of the authorization webhook (reference §6.3, §6.5) and the "say what to request"
 * hint (issue 9 item 4). Reasons never name sessions: the webhook answers whoever calls it, and
 * session names are not the caller's to learn (spec README, "deliberately better" 6).
 */

export interface RequestableEscalation {
  readonly name: string;
  readonly escalatedGroup: string;
}

/** `<frontend base URL without trailing />?search=<cluster>`, or '' without a base URL. */
export function clusterLink(baseUrl: string | undefined, cluster: string): string {
  if (baseUrl === undefined || baseUrl === '') return '';
  return `${baseUrl.replace(/\/+$/, '')}?search=${encodeURIComponent(cluster)}`;
}

/** The deep link of one escalation: `<clusterLink>&group=<group>`. */
export function escalationLink(baseUrl: string | undefined, cluster: string, group: string): string {
  const link = clusterLink(baseUrl, cluster);
  return link === '' ? '' : `${link}&group=${encodeURIComponent(group)}`;
}

export function requestAccessMessage(link: string): string {
  return (
    `Access denied. To request temporary access via Breakglass, visit ${link} and open a new request. ` +
    'Include the reason for access, the target cluster, and the requested group(s). If you need help, contact your platform admins.'
  );
}

/** §6.5 finalizeReason. */
export function finalizeReason(reason: string, allowed: boolean, link: string): string {
  if (link === '' || reason.includes(link)) return reason;
  if (reason === '') return allowed ? `Allowed; view details or sessions at ${link}` : requestAccessMessage(link);
  return `${reason}; see ${link}`;
}

export function clusterMissingReason(cluster: string, action: string): string {
  return (
    `Cluster "${cluster}" is not registered with Breakglass, so ${action} cannot be authorized yet. ` +
    'Ask your platform administrators to onboard the cluster or choose one of the onboarded clusters.'
  );
}

export function sessionAllowedReason(session: string, group: string): string {
  return `Allowed by breakglass session (session=${session} sessionGroup=${group})`;
}

/** The escalations that a dry run showed would allow the request, each with its deep link. */
export function wouldAllowHint(escalations: readonly RequestableEscalation[], baseUrl: string | undefined, cluster: string): string {
  const items = escalations.map((e) => {
    const link = escalationLink(baseUrl, cluster, e.escalatedGroup);
    return link === '' ? `"${e.name}" (group ${e.escalatedGroup})` : `"${e.name}" (group ${e.escalatedGroup}) at ${link}`;
  });
  const which = items.length === 1 ? `escalation ${items[0]}` : `one of these escalations: ${items.join(', ')}`;
  return (
    `Access denied. To get temporary access via Breakglass, request ${which}; it would allow this request. ` +
    'Include the reason for access. If you need help, contact your platform admins.'
  );
}

export function noneWouldAllowHint(cluster: string, action: string): string {
  return (
    `Access denied. None of the breakglass escalations you may request on cluster "${cluster}" would allow ${action}. ` +
    'If you need this access, contact your platform admins.'
  );
}

export function nothingRequestableHint(cluster: string): string {
  return `Access denied. You may not request any breakglass escalation on cluster "${cluster}". If you need access, contact your platform admins.`;
}

export function hintUnavailable(link: string): string {
  return link === ''
    ? 'Access denied. Breakglass could not check which escalations would allow this request.'
    : `Access denied. Breakglass could not check which escalations would allow this request; see ${link}`;
}

export function sessionsDoNotAllowNote(count: number, action: string): string {
  return `Your ${count} active breakglass session(s) on this cluster do not allow ${action}.`;
}

export function sessionChecksSkippedNote(count: number, error: string): string {
  return (
    `Note: ${count} active breakglass session(s) found. Session-level authorization checks were skipped due to cluster validation error: ` +
    `${error}. If you believe you have valid access, ensure the platform has the cluster kubeconfig configured.`
  );
}

export function idpMismatchNote(count: number, providers: readonly string[]): string {
  return (
    `Note: ${count} breakglass session(s) found but from different identity provider(s): ${providers.join(', ')}. ` +
    'Your current token is from a different identity provider. For access with your current identity provider, open a new breakglass request.'
  );
}

export function policyDeniedReason(policy: string, detail: string): string {
  return detail === '' ? `Denied by policy ${policy}` : `Denied by policy ${policy}: ${detail}`;
}
