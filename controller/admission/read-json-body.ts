/**
 * Reads a JSON request body with a hard size limit, without a body-parser dependency.
 * Every failure is an HttpRequestError with a 4xx status; nothing here can produce a 5xx.
 */
import type { IncomingMessage } from 'node:http';

export class HttpRequestError extends Error {
  override readonly name = 'HttpRequestError';
  constructor(
    readonly status: 400 | 404 | 405 | 413 | 415,
    message: string,
  ) {
    super(message);
  }
}

export async function readJsonBody(req: IncomingMessage, limitBytes: number): Promise<unknown> {
  const contentType = req.headers['content-type'];
  const mediaType = contentType?.split(';')[0]?.trim().toLowerCase();
  if (mediaType !== 'application/json') {
    throw new HttpRequestError(415, `Content-Type must be application/json, got ${contentType ? JSON.stringify(contentType.slice(0, 100)) : 'none'}`);
  }
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') {
    throw new HttpRequestError(415, `Content-Encoding ${JSON.stringify(encoding.slice(0, 100))} is not supported`);
  }
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limitBytes) {
    req.resume(); // discard, so the connection can still carry the answer
    throw new HttpRequestError(413, `request body of ${declared} bytes exceeds the limit of ${limitBytes} bytes`);
  }

  const raw = await readLimited(req, limitBytes);
  if (raw.length === 0) throw new HttpRequestError(400, 'request body is empty');
  try {
    return JSON.parse(raw.toString('utf8')) as unknown;
  } catch (err) {
    throw new HttpRequestError(400, `request body is not valid JSON: ${(err as Error).message.slice(0, 200)}`);
  }
}

function readLimited(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let overflowed = false;
    req.on('data', (chunk: Buffer) => {
      if (overflowed) return; // keep draining so the 413 answer can be delivered
      size += chunk.length;
      if (size > limitBytes) {
        overflowed = true;
        chunks.length = 0;
        reject(new HttpRequestError(413, `request body exceeds the limit of ${limitBytes} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', (err) => reject(new HttpRequestError(400, `request body could not be read: ${err.message}`)));
    req.on('close', () => {
      if (!req.complete) reject(new HttpRequestError(400, 'request body was not received completely'));
    });
  });
}
