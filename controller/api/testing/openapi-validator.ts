/**
 * Checks responses against the served OpenAPI document: the operation must be documented, the
 * status must be one of its responses, and the body must match that response's schema. Tests
 * use it on every response they receive, which is what keeps the document true.
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { JsonObject } from '../../../crds/index.ts';

// ajv-formats is CommonJS; its default export arrives as the module object under some loaders.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule) as unknown as (
  ajv: Ajv2020,
) => void;

interface HeaderObject {
  required?: boolean;
  schema?: object;
}

interface ResponseObject {
  content?: { 'application/json'?: { schema?: object } };
  headers?: Record<string, HeaderObject>;
}

/** A header value as the JSON value its schema describes (headers are text on the wire). */
function headerValue(raw: string, schema: object | undefined): unknown {
  const type = (schema as { type?: string } | undefined)?.type;
  if (type === 'integer' || type === 'number') return /^-?\d+(\.\d+)?$/.test(raw.trim()) ? Number(raw) : raw;
  return raw;
}

export class OpenApiValidator {
  private readonly ajv: Ajv2020;
  private readonly cache = new Map<string, ValidateFunction>();

  constructor(private readonly document: JsonObject) {
    // strict: false because the CRD schemas carry Kubernetes extensions (x-kubernetes-*), which
    // JSON Schema ignores as unknown keywords; types, required fields and formats are checked.
    this.ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(this.ajv);
    const components = (document['components'] as { schemas: Record<string, object> }).schemas;
    this.ajv.addSchema({ $id: 'openapi', components: { schemas: components } });
  }

  /**
   * Throws with a readable message when `body` (status `status`) is not what the document
   * promises; with `headers`, also when a documented response header is missing or malformed.
   */
  check(method: string, path: string, status: number, body: unknown, headers?: Headers): void {
    const template = this.template(path);
    const operation = (this.document['paths'] as unknown as Record<string, Record<string, { responses: Record<string, ResponseObject> }>>)[template]?.[
      method.toLowerCase()
    ];
    if (operation === undefined) throw new Error(`${method} ${path} is not documented`);
    const response = operation.responses[String(status)];
    if (response === undefined) {
      throw new Error(`${method} ${template} answered ${status}, which is not documented (${Object.keys(operation.responses).join(', ')}): ${JSON.stringify(body).slice(0, 300)}`);
    }
    if (headers !== undefined) this.checkHeaders(`${method} ${template} ${status}`, response, headers);
    const schema = response.content?.['application/json']?.schema;
    if (schema === undefined) return;
    const key = `${method} ${template} ${status}`;
    const validate = this.compile(key, schema);
    if (!validate(body)) {
      throw new Error(`${key}: body does not match the document: ${this.ajv.errorsText(validate.errors)}; body: ${JSON.stringify(body).slice(0, 500)}`);
    }
  }

  private checkHeaders(key: string, response: ResponseObject, headers: Headers): void {
    for (const [name, header] of Object.entries(response.headers ?? {})) {
      const raw = headers.get(name);
      if (raw === null) {
        if (header.required) throw new Error(`${key}: the documented header ${name} is missing`);
        continue;
      }
      if (header.schema === undefined) continue;
      const validate = this.compile(`${key} header ${name}`, header.schema);
      if (!validate(headerValue(raw, header.schema))) {
        throw new Error(`${key}: header ${name}: "${raw}" does not match the document: ${this.ajv.errorsText(validate.errors)}`);
      }
    }
  }

  private compile(key: string, schema: object): ValidateFunction {
    let validate = this.cache.get(key);
    if (validate === undefined) {
      const rewritten = JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"openapi#/components/')) as object;
      validate = this.ajv.compile(rewritten);
      this.cache.set(key, validate);
    }
    return validate;
  }

  /** The documented path template a concrete path belongs to. */
  private template(path: string): string {
    const paths = Object.keys(this.document['paths'] as object);
    const bare = path.split('?')[0] as string;
    return (
      paths.find((t) => new RegExp(`^${t.replace(/\{\w+\}/g, '[^/]+')}$`).test(bare) && !t.includes('{')) ??
      paths.find((t) => new RegExp(`^${t.replace(/\{\w+\}/g, '[^/]+')}$`).test(bare)) ??
      bare
    );
  }
}
