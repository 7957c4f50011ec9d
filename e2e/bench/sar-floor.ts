/**
 * The machine's floor for `npm run bench:sar`: a plain Node HTTP server that reads each review,
 * parses it and answers it from the user name alone (a session user is allowed, as in the bench
 * server's caches), with no decision pipeline, metrics or logging. The same vegeta load against
 * it shows what the shared machine and the loopback path alone add to a tail, at the time of the
 * run. Its argument (BENCH_FLOOR_WORK_US, default 0) adds that many microseconds of synchronous
 * work per request, to show how the tail grows with a server's CPU time per request alone.
 * Sends its port over IPC; ends when the bench disconnects.
 */
import { createServer } from 'node:http';

const WORK_MS = Number(process.argv[2] ?? 0) / 1000;

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { apiVersion?: string; kind?: string; spec?: { user?: string } };
    // Busy, not waiting: the thread stays on its core as a decision's JavaScript would.
    for (const until = performance.now() + WORK_MS; performance.now() < until; );
    const allowed = review.spec?.user?.startsWith('user-') === true;
    const body = JSON.stringify({ apiVersion: review.apiVersion, kind: review.kind, status: { allowed } });
    res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as { port: number }).port }));
process.on('disconnect', () => process.exit(0));
