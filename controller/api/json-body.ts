/**
 * Strict JSON request bodies: at most 1 MiB (413), JSON only (415), parsed and validated
 * against the route's schema with unknown fields refused (422, naming the field).
 */
import type { IncomingMessage } from 'node:http';
import type { TSchema } from '@sinclair/typebox';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { ApiError } from './api-error.ts';

export const BODY_LIMIT_BYTES = 1024 * 1024;
const DECODE_FAILED = 'failed to decode JSON request body (invalid JSON or unknown fields)';

const ajv = new Ajv2020({ allErrors: false, strict: true });
const compiled = new WeakMap<TSchema, ValidateFunction>();

function validator(schema: TSchema): ValidateFunction {
  let validate = compiled.get(schema);
  if (validate === undefined) {
    validate = ajv.compile(JSON.parse(JSON.stringify(schema)) as object);
    compiled.set(schema, validate);
  }
  return validate;
}

function readRaw(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return Promise.reject(new ApiError(413, `request body exceeds the limit of ${limit} bytes`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let overflowed = false;
    req.on('data', (chunk: Buffer) => {
      if (overflowed) return; // keep draining, so the answer can still be sent
      size += chunk.length;
      if (size > limit) {
        overflowed = true;
        chunks.length = 0;
        reject(new ApiError(413, `request body exceeds the limit of ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', (err) => reject(new ApiError(400, `request body could not be read: ${err.message}`)));
  });
}

/**
 * Reads and validates the body. An absent or empty body is `{}` when `optional`, else 422.
 * The result has been checked against `schema` (so the cast is sound).
 */
export async function readBody<T>(req: IncomingMessage, schema: TSchema, optional: boolean, limit = BODY_LIMIT_BYTES): Promise<T> {
  const raw = await readRaw(req, limit);
  const text = raw.toString('utf8');
  let value: unknown;
  if (text.trim() === '') {
    if (!optional) throw new ApiError(422, DECODE_FAILED, 'the request body is empty');
    value = {};
  } else {
    const mediaType = req.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
    if (mediaType !== 'application/json') {
      throw new ApiError(415, 'Content-Type must be application/json', `got ${JSON.stringify((req.headers['content-type'] ?? 'none').slice(0, 100))}`);
    }
    try {
      value = JSON.parse(text) as unknown;
    } catch (err) {
      throw new ApiError(422, DECODE_FAILED, (err as Error).message.slice(0, 200));
    }
  }
  const validate = validator(schema);
  if (!validate(value)) {
    const error = validate.errors?.[0];
    const where = error?.instancePath ? `body${error.instancePath.replace(/\//g, '.')}` : 'body';
    const what =
      error?.keyword === 'additionalProperties'
        ? `unknown field "${String((error.params as { additionalProperty?: string }).additionalProperty)}"`
        : (error?.message ?? 'is invalid');
    throw new ApiError(422, DECODE_FAILED, `${where}: ${what}`);
  }
  return value as T;
}
