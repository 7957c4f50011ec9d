/**
 * `cdk8s synth` entry point (see cdk8s.yaml): the default highly available install, written to
 * dist/breakglass.k8s.yaml. BREAKGLASS_IMAGE is required: the project publishes no image, and a
 * default name would deploy whatever someone else pushed under it with our flags. Webhook TLS comes
 * from cert-manager unless BREAKGLASS_WEBHOOK_CA_FILE names the PEM CA of a certificate you put
 * into the Secret `breakglass-webhook-tls` yourself (e2e/kind/run.sh does that).
 */
import { readFileSync } from 'node:fs';
import { App, Chart } from 'cdk8s';
import { BreakglassController } from './index.ts';

const image = process.env.BREAKGLASS_IMAGE?.trim();
if (!image) {
  process.stderr.write(
    'BREAKGLASS_IMAGE is not set: name the controller image you built from the Dockerfile and pushed, ' +
      'e.g. BREAKGLASS_IMAGE=registry.example.com/breakglass:0.1.0 npm run synth\n',
  );
  process.exit(2);
}

const app = new App();
// Chart id "breakglass" names the output file; object names are explicit, so no hashes.
const chart = new Chart(app, 'breakglass', { disableResourceNameHashes: true });
const caFile = process.env.BREAKGLASS_WEBHOOK_CA_FILE;
new BreakglassController(chart, 'Controller', {
  image,
  ...(caFile
    ? { webhookTls: { mode: 'secret', secretName: 'breakglass-webhook-tls', caBundle: readFileSync(caFile).toString('base64') } }
    : {}),
});
app.synth();
