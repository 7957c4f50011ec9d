/**
 * Changes to the realm's OIDC clients that browser tests and the demo need at run time, through
 * the admin API (by clientId, never Keycloak ids).
 *
 * Web origins: the UI's token requests (code exchange, refresh) are cross-origin fetches, which
 * Keycloak answers with CORS headers only for the client's web origins. The realm file lists none: "+"
 * derives them from the redirect URIs, but those are port wildcards (`http://127.0.0.1:*`), and
 * Keycloak has no wildcard origins short of "*", which would let any page use the client. The
 * replicas' ports are known only once they run, so their exact origins are added then.
 */
import type { KeycloakAdmin } from '../keycloak/admin.ts';

type ClientRepresentation = Record<string, unknown> & {
  id?: string;
  clientId?: string;
  webOrigins?: string[];
  attributes?: Record<string, string>;
  protocolMappers?: (Record<string, unknown> & { id?: string })[];
};

async function findClient(admin: KeycloakAdmin, clientId: string): Promise<ClientRepresentation> {
  const res = await admin.request('GET', `/clients?clientId=${encodeURIComponent(clientId)}`);
  if (res.status !== 200) throw new Error(`Keycloak: listing client ${clientId} answered ${res.status}: ${res.body}`);
  const [client] = JSON.parse(res.body) as ClientRepresentation[];
  if (!client?.id) throw new Error(`Keycloak: no client ${clientId}`);
  return client;
}

/** Adds `origins` (e.g. `http://127.0.0.1:41234`) to the client's web origins. */
export async function allowWebOrigins(admin: KeycloakAdmin, clientId: string, origins: readonly string[]): Promise<void> {
  const client = await findClient(admin, clientId);
  const webOrigins = [...new Set([...(client.webOrigins ?? []), ...origins])];
  const res = await admin.request('PUT', `/clients/${client.id}`, { ...client, webOrigins });
  if (res.status !== 204) throw new Error(`Keycloak: updating web origins of ${clientId} answered ${res.status}: ${res.body}`);
}

/**
 * Creates `clientId` as a copy of `fromClientId` (flows, redirect URIs, web origins, mappers),
 * with `attributes` merged in, e.g. `{ 'access.token.lifespan': '70' }`.
 */
export async function copyClient(admin: KeycloakAdmin, fromClientId: string, clientId: string, attributes: Record<string, string>): Promise<void> {
  const { id: _id, ...source } = await findClient(admin, fromClientId);
  const res = await admin.request('POST', '/clients', {
    ...source,
    clientId,
    protocolMappers: (source.protocolMappers ?? []).map(({ id: _mapperId, ...mapper }) => mapper),
    attributes: { ...source.attributes, ...attributes },
  });
  if (res.status !== 201) throw new Error(`Keycloak: creating client ${clientId} answered ${res.status}: ${res.body}`);
}

/** Deletes the client; a missing one is fine. */
export async function deleteClient(admin: KeycloakAdmin, clientId: string): Promise<void> {
  const res = await admin.request('GET', `/clients?clientId=${encodeURIComponent(clientId)}`);
  const [client] = res.status === 200 ? (JSON.parse(res.body) as ClientRepresentation[]) : [];
  if (client?.id) await admin.request('DELETE', `/clients/${client.id}`);
}
