import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import type { ClusterConfig } from '../../crds/index.ts';
import { checkClusterConfig, probeVersion, type ReadyOutcome } from './cluster-config-check.ts';
import { KubeconfigRejectedError, loadInlineKubeconfig } from './inline-kubeconfig.ts';

const config: ClusterConfig = { metadata: { name: 'c' }, spec: { kubeconfigSecretRef: { name: 'kc', namespace: 'hub' } } };

function kubeconfig(user: string, cluster = "server: 'https://spoke.example:6443'"): string {
  return `apiVersion: v1
kind: Config
clusters:
- name: spoke
  cluster:
    ${cluster}
contexts:
- name: spoke
  context: {cluster: spoke, user: u}
current-context: spoke
users:
- name: other
  user: {token: fine}
- name: u
  user:
    ${user}
`;
}

/** Checks a ClusterConfig whose secret holds `text`; records whether the probe ran. */
async function check(
  text: string,
  probe: (kc: KubeConfig) => Promise<void> = async () => {},
): Promise<ReadyOutcome & { probed: boolean }> {
  let probed = false;
  const outcome = await checkClusterConfig(config, {
    readSecret: async () => ({ value: text }),
    probe: async (kc) => {
      probed = true;
      await probe(kc);
    },
  });
  return { ...outcome, probed };
}

const INLINE = 'kubeconfigs in Secrets must carry inline credentials (token, client-certificate-data/client-key-data)';

describe('kubeconfigs from Secrets', () => {
  const refusedUserFields: [string, string][] = [
    ['exec', 'exec: {apiVersion: client.authentication.k8s.io/v1, command: /bin/sh, args: [-c, "id"]}'],
    ['auth-provider', 'auth-provider: {name: tokenFile, config: {tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token}}'],
    ['token-file', 'token-file: /var/run/secrets/kubernetes.io/serviceaccount/token'],
    ['tokenFile', 'tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token'],
    ['client-certificate', 'client-certificate: /etc/ssl/private/cert.pem'],
    ['client-key', 'client-key: /etc/ssl/private/key.pem'],
  ];
  for (const [field, yaml] of refusedUserFields) {
    it(`refuses users[].user.${field} without probing`, async () => {
      const outcome = await check(kubeconfig(yaml));
      expect(outcome).to.include({ status: 'False', reason: 'KubeconfigParseFailed', probed: false });
      expect(outcome.message).to.equal(
        `kubeconfig in secret hub/kc key "value" is invalid: users[1].user.${field} is not allowed: ${INLINE}`,
      );
    });
  }

  it('refuses clusters[].cluster.certificate-authority (a file path)', async () => {
    const outcome = await check(kubeconfig('token: t', "server: 'https://spoke'\n    certificate-authority: /etc/ca.pem"));
    expect(outcome).to.include({ status: 'False', reason: 'KubeconfigParseFailed', probed: false });
    expect(outcome.message).to.contain(
      'clusters[0].cluster.certificate-authority is not allowed: kubeconfigs in Secrets must carry the CA inline (certificate-authority-data)',
    );
  });

  it('never reads the file a token-file names', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'breakglass-token-'));
    await writeFile(join(dir, 'token'), 'controller-secret-token');
    let error: unknown;
    try {
      loadInlineKubeconfig(kubeconfig(`token-file: ${join(dir, 'token')}`));
    } catch (err) {
      error = err;
    }
    expect(error).to.be.instanceOf(KubeconfigRejectedError);
  });

  it('never runs an exec plugin, even with the real probe', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'breakglass-exec-'));
    const marker = join(dir, 'ran');
    const exec = `exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: /bin/sh, args: [-c, "touch ${marker}"]}`;
    const outcome = await checkClusterConfig(config, {
      readSecret: async () => ({ value: kubeconfig(exec, "server: 'https://127.0.0.1:1'") }),
      probe: (kc) => probeVersion(kc, 1000),
    });
    expect(outcome.reason).to.equal('KubeconfigParseFailed');
    expect(existsSync(marker), 'the exec command ran').to.equal(false);
  });

  it('accepts inline credentials and hands client-node only inline fields', async () => {
    let seen: KubeConfig | undefined;
    const outcome = await check(
      kubeconfig(
        'client-certificate-data: Y2VydA==\n    client-key-data: a2V5\n    token: abc\n    exec: null',
        "server: 'https://spoke.example:6443'\n    certificate-authority-data: Y2E=\n    insecure-skip-tls-verify: false\n    extensions: [{name: x, extension: {}}]",
      ),
      async (kc) => {
        seen = kc;
      },
    );
    expect(outcome).to.include({ status: 'True', reason: 'KubeconfigValidated', probed: true });
    expect(seen?.getCurrentCluster()).to.include({ server: 'https://spoke.example:6443', caData: 'Y2E=', skipTLSVerify: false });
    expect(seen?.getCurrentUser()).to.include({ name: 'u', token: 'abc', certData: 'Y2VydA==', keyData: 'a2V5' });
    expect(seen?.getCurrentUser()?.exec).to.equal(undefined);
  });

  it('reports YAML that is not a kubeconfig as a parse failure', async () => {
    const outcome = await check('users: [');
    expect(outcome).to.include({ status: 'False', reason: 'KubeconfigParseFailed', probed: false });
  });
});
