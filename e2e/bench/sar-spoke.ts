/**
 * The fake spoke of `npm run bench:sar`, in a process of its own so that answering grant checks
 * does not stall the load generator's event loop (its delays would count as the server's
 * latency): an HTTPS SubjectAccessReview endpoint, what the hub's spoke clients call, where team
 * groups may get pods and nothing else is allowed. argv: certificate and key files; sends its
 * port over IPC, then counts the reviews it answered on each `count` message.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';

const [certFile, keyFile] = process.argv.slice(2) as [string, string];
let answered = 0;
const server = createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const review = JSON.parse(Buffer.concat(chunks).toString()) as { spec: { groups?: string[]; resourceAttributes?: { resource?: string } } };
    const allowed = (review.spec.groups ?? []).some((g) => g.startsWith('team-')) && review.spec.resourceAttributes?.resource === 'pods';
    answered++;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec: review.spec, status: { allowed } }));
  });
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as { port: number }).port }));
process.on('message', (message) => {
  if (message === 'count') process.send?.({ answered });
});
process.on('disconnect', () => process.exit(0));
