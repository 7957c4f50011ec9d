/**
 * Calls the REST API of a replica and checks every answer against the OpenAPI document the
 * replica serves (fetched once per client).
 */
import type { JsonObject } from '../../crds/index.ts';
import { OpenApiValidator } from '../../controller/api/testing/openapi-validator.ts';
import type { Replica } from './replicas.ts';

export interface ApiAnswer {
  status: number;
  headers: Headers;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- checked against the OpenAPI document
}

export class ApiClient {
  private constructor(private readonly validator: OpenApiValidator) {}

  static async forReplica(replica: Replica): Promise<ApiClient> {
    const response = await fetch(`http://127.0.0.1:${replica.ports.api}/api/openapi.json`);
    return new ApiClient(new OpenApiValidator((await response.json()) as JsonObject));
  }

  async call(replica: Replica, method: string, path: string, token?: string, body?: unknown): Promise<ApiAnswer> {
    const response = await fetch(`http://127.0.0.1:${replica.ports.api}${path}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    const parsed: unknown = text === '' ? undefined : JSON.parse(text);
    this.validator.check(method, path, response.status, parsed, response.headers);
    return { status: response.status, headers: response.headers, body: parsed };
  }
}
