/**
 * `cdk8s synth` entry point (see cdk8s.yaml): the default highly available install, written to
 * dist/breakglass.k8s.yaml. Set BREAKGLASS_IMAGE to point at your registry. Webhook TLS comes
 * from cert-manager unless BREAKGLASS_WEBHOOK_CA_FILE names the PEM CA of a certificate you put
 * into the Secret `breakglass-webhook-tls` yourself (e2e/kind/run.sh does that).
 */
import { readFileSync } from 'node:fs';
import { App, Chart } from 'cdk8s';
import { BreakglassController } from './index.ts';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

const app = new App();
// Chart id "breakglass" names the output file; object names are explicit, so no hashes.
const chart = new Chart(app, 'breakglass', { disableResourceNameHashes: true });
const caFile = process.env.BREAKGLASS_WEBHOOK_CA_FILE;
new BreakglassController(chart, 'Controller', {
  image: process.env.BREAKGLASS_IMAGE ?? `ghcr.io/telekom/breakglass:${version}`,
  ...(caFile
    ? { webhookTls: { mode: 'secret', secretName: 'breakglass-webhook-tls', caBundle: readFileSync(caFile).toString('base64') } }
    : {}),
});
app.synth();
