/**
 * Labels and names of sessions created by the API (reference §2.1): values reduced to an
 * RFC 1123 label so any cluster, user or group name can be used in a label selector.
 */
import { GROUP } from '../../crds/index.ts';

export const CLUSTER_LABEL = `${GROUP}/cluster`;
export const USER_LABEL = `${GROUP}/user`;
export const GROUP_LABEL = `${GROUP}/group`;

/** Lower case, invalid characters to `-`, runs collapsed, trimmed, at most 63 characters, empty -> `x`. */
export function labelValue(text: string): string {
  const value = text
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return value === '' ? 'x' : value;
}

export function sessionLabels(cluster: string, user: string, group: string): Record<string, string> {
  return { [CLUSTER_LABEL]: labelValue(cluster), [USER_LABEL]: labelValue(user), [GROUP_LABEL]: labelValue(group) };
}

/** The label selector that finds the candidates for a (cluster, user, group) duplicate check. */
export function tripleSelector(cluster: string, user: string, group: string): string {
  return Object.entries(sessionLabels(cluster, user, group))
    .map(([key, value]) => `${key}=${value}`)
    .join(',');
}

/** generateName `<cluster>-<group>-`, short enough for the API server's random suffix. */
export function sessionGenerateName(cluster: string, group: string): string {
  return `${labelValue(cluster).slice(0, 100)}-${labelValue(group).slice(0, 100)}-`;
}
