/**
 * ObjectLookup against the API server: the cross-object reads the admission rules need (name
 * uniqueness across namespaces, IdentityProviders, escalations).
 *
 * Reads are live (no informer cache) so a decision never rests on a stale view; lists are paged.
 * Failures throw a LookupError naming what could not be read; the admission app turns any
 * throw into a denial, so the webhook fails closed. Each lookup, pages and 429 retries included,
 * ends within a deadline shorter than the API server's webhook timeout, so a slow API server
 * gets a denial that says why instead of "context deadline exceeded".
 */
import { setTimeout as delay } from 'node:timers/promises';
import { ApiException, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { GROUP, VERSION, plurals, type BreakglassEscalation, type IdentityProvider } from '../../crds/index.ts';
import type { ObjectLookup } from '../../crds/validation/index.ts';
import { boundedRequest } from '../kube/request-options.ts';

type UniqueKind = 'BreakglassSession' | 'BreakglassEscalation' | 'ClusterConfig';

export class LookupError extends Error {
  override readonly name = 'LookupError';
}

interface KubeList {
  items?: unknown[];
  metadata?: { continue?: string };
}

interface KubeObject {
  metadata?: { name?: string; namespace?: string };
}

const PAGE_SIZE = 500;
/** 429 (API server busy or its storage still initialising) is retried like client-go does. */
const RETRIES_ON_429 = 3;
const MAX_RETRY_WAIT_MS = 1000;
/** Within the synthesized webhooks' 5 s timeout (infra), leaving time to answer. */
export const DEFAULT_LOOKUP_TIMEOUT_MS = 3500;

export class KubeObjectLookup implements ObjectLookup {
  private readonly api: CustomObjectsApi;
  private readonly timeoutMs: number;
  /** When set, every lookup ends by this time (Date.now() based): one review's budget. */
  private readonly deadline: number | undefined;

  constructor(source: KubeConfig | CustomObjectsApi, options: { timeoutMs?: number; deadline?: number } = {}) {
    this.api = source instanceof CustomObjectsApi ? source : source.makeApiClient(CustomObjectsApi);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_LOOKUP_TIMEOUT_MS;
    this.deadline = options.deadline;
  }

  /**
   * The lookups of one admission review, which may make several (a session: identity
   * providers, escalations, name uniqueness): all of them together end within the time limit.
   */
  forReview(): KubeObjectLookup {
    return new KubeObjectLookup(this.api, { timeoutMs: this.timeoutMs, deadline: Date.now() + this.timeoutMs });
  }

  async namespacesWithName(kind: UniqueKind, name: string): Promise<string[]> {
    const plural = plurals[kind];
    let items: unknown[];
    try {
      items = await this.listAll(plural, `metadata.name=${escapeFieldSelectorValue(name)}`);
    } catch (err) {
      // Older or unusual servers may refuse the field selector; the full list answers too.
      if (!(err instanceof ApiException) || err.code !== 400) throw lookupError(plural, err);
      items = await this.listAll(plural).catch((retryErr: unknown) => {
        throw lookupError(plural, retryErr);
      });
    }
    const namespaces = (items as KubeObject[])
      .filter((item) => item.metadata?.name === name)
      .map((item) => item.metadata?.namespace ?? '');
    return [...new Set(namespaces)];
  }

  async listIdentityProviders(): Promise<IdentityProvider[]> {
    const plural = plurals.IdentityProvider;
    // The API server validated these against the CRD schema when they were stored.
    return (await this.listAll(plural).catch((err: unknown) => {
      throw lookupError(plural, err);
    })) as IdentityProvider[];
  }

  async listEscalations(): Promise<BreakglassEscalation[]> {
    const plural = plurals.BreakglassEscalation;
    return (await this.listAll(plural).catch((err: unknown) => {
      throw lookupError(plural, err);
    })) as BreakglassEscalation[];
  }

  private listAll(plural: string, fieldSelector?: string): Promise<unknown[]> {
    const timeoutMs = this.deadline === undefined ? this.timeoutMs : Math.max(1, this.deadline - Date.now());
    return boundedRequest({ what: `LIST ${plural}`, timeoutMs }, async (config, signal) => {
      const items: unknown[] = [];
      let continueToken: string | undefined;
      do {
        const request = {
          group: GROUP,
          version: VERSION,
          plural,
          limit: PAGE_SIZE,
          ...(fieldSelector ? { fieldSelector } : {}),
          ...(continueToken ? { _continue: continueToken } : {}),
        };
        const page = (await retryOn429(() => this.api.listClusterCustomObject(request, config), RETRIES_ON_429, signal)) as KubeList;
        items.push(...(page.items ?? []));
        continueToken = page.metadata?.continue || undefined;
      } while (continueToken);
      return items;
    });
  }
}

/**
 * Retries a call answered with 429, waiting as Retry-After says (capped, since the API server
 * gives the whole webhook only its timeout); other errors and the last 429 are thrown.
 */
export async function retryOn429<T>(call: () => Promise<T>, retries = RETRIES_ON_429, signal?: AbortSignal): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (!(err instanceof ApiException) || err.code !== 429 || attempt >= retries) throw err;
      const header = Number((err.headers as Record<string, string> | undefined)?.['retry-after']);
      const waitMs = Number.isFinite(header) && header > 0 ? Math.min(header * 1000, MAX_RETRY_WAIT_MS) : 200 * (attempt + 1);
      await delay(waitMs, undefined, signal ? { signal } : undefined);
    }
  }
}

/** fields.EscapeValue of apimachinery: backslash, comma and equals sign are escaped. */
function escapeFieldSelectorValue(value: string): string {
  return value.replace(/[\\,=]/g, (char) => `\\${char}`);
}

function lookupError(plural: string, err: unknown): LookupError {
  return new LookupError(`could not list ${plural}.${GROUP} from the API server: ${describeApiError(err)}`);
}

function describeApiError(err: unknown): string {
  if (err instanceof ApiException) {
    const body: unknown = err.body;
    if (typeof body === 'string') {
      try {
        const status = JSON.parse(body) as { message?: unknown };
        if (typeof status.message === 'string') return `HTTP ${err.code}: ${status.message}`;
      } catch {
        // not a Status object; fall through to the code alone
      }
    }
    return `HTTP ${err.code}`;
  }
  return err instanceof Error ? err.message : String(err);
}
