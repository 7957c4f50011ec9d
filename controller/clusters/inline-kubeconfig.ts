/**
 * Loads a kubeconfig that came from a Secret, which anyone who may create a ClusterConfig and a
 * Secret controls. client-node would act on everything a kubeconfig can say: `exec` runs a
 * process inside the controller, `auth-provider` runs plugins or reads a token file,
 * `token-file` and the certificate/key/CA file paths read local files (for example the
 * controller's own ServiceAccount token, which the probe would then send to the `server` the
 * attacker named). So the text is parsed here first, any such field is refused with its path,
 * and client-node only ever sees a rebuilt copy holding the inline fields listed below.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { parse } from 'yaml';

/** A kubeconfig that uses something other than inline data; the message names the field. */
export class KubeconfigRejectedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KubeconfigRejectedError';
  }
}

const INLINE_CREDENTIALS = 'kubeconfigs in Secrets must carry inline credentials (token, client-certificate-data/client-key-data)';

/** User fields that run something or read local files, with why they are refused. */
const REFUSED_USER_FIELDS: Readonly<Record<string, string>> = {
  exec: INLINE_CREDENTIALS,
  'auth-provider': INLINE_CREDENTIALS,
  'token-file': INLINE_CREDENTIALS,
  tokenFile: INLINE_CREDENTIALS,
  'client-certificate': INLINE_CREDENTIALS,
  'client-key': INLINE_CREDENTIALS,
};

const REFUSED_CLUSTER_FIELDS: Readonly<Record<string, string>> = {
  'certificate-authority': 'kubeconfigs in Secrets must carry the CA inline (certificate-authority-data)',
};

/** The only fields passed on to client-node; everything else is dropped. */
const USER_FIELDS = ['token', 'client-certificate-data', 'client-key-data', 'username', 'password', 'as'] as const;
const CLUSTER_FIELDS = [
  'server',
  'certificate-authority-data',
  'insecure-skip-tls-verify',
  'tls-server-name',
  'proxy-url',
] as const;
const CONTEXT_FIELDS = ['cluster', 'user', 'namespace'] as const;

type Mapping = Record<string, unknown>;

function isMapping(value: unknown): value is Mapping {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function pick(source: Mapping, fields: readonly string[]): Mapping {
  const out: Mapping = {};
  for (const field of fields) {
    if (Object.hasOwn(source, field)) out[field] = source[field];
  }
  return out;
}

function refuse(body: Mapping, path: string, refused: Readonly<Record<string, string>>): void {
  for (const [field, why] of Object.entries(refused)) {
    if (Object.hasOwn(body, field) && body[field] !== null && body[field] !== undefined) {
      throw new KubeconfigRejectedError(`${path}.${field} is not allowed: ${why}`);
    }
  }
}

/**
 * Rebuilds entries of `list` (clusters, users or contexts): checks `entry[bodyKey]` against
 * `refused` and keeps only `allowed` of it. Entries that are not mappings are passed on as they
 * are (client-node reports them as invalid; they cannot carry any field).
 */
function rebuild(list: unknown, kind: string, bodyKey: string, allowed: readonly string[], refused: Readonly<Record<string, string>>): unknown {
  if (!Array.isArray(list)) return list;
  return list.map((entry: unknown, index) => {
    if (!isMapping(entry)) return entry;
    const body = entry[bodyKey];
    if (!isMapping(body)) return { name: entry.name, [bodyKey]: body };
    refuse(body, `${kind}[${index}].${bodyKey}`, refused);
    return { name: entry.name, [bodyKey]: pick(body, allowed) };
  });
}

/**
 * Parses kubeconfig text from a Secret into a KubeConfig holding only inline data. Throws
 * KubeconfigRejectedError for a field that would run a process or read a local file, and a
 * plain Error when the text is not a kubeconfig at all.
 */
export function loadInlineKubeconfig(text: string): KubeConfig {
  const document: unknown = parse(text);
  if (!isMapping(document)) throw new Error('not a kubeconfig: expected a YAML mapping');
  const safe: Mapping = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: rebuild(document.clusters, 'clusters', 'cluster', CLUSTER_FIELDS, REFUSED_CLUSTER_FIELDS),
    users: rebuild(document.users, 'users', 'user', USER_FIELDS, REFUSED_USER_FIELDS),
    contexts: rebuild(document.contexts, 'contexts', 'context', CONTEXT_FIELDS, {}),
    'current-context': document['current-context'],
  };
  const kubeConfig = new KubeConfig();
  // JSON is YAML: client-node's own parser reads exactly the object checked above.
  kubeConfig.loadFromString(JSON.stringify(safe));
  return kubeConfig;
}
