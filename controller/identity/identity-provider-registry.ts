/**
 * The IdentityProvider objects of the cluster, on every replica: a restarting informer over the
 * cluster-scoped kind, read as IdentityProviderConfig. Every read goes to the cache, so a created,
 * changed, disabled or deleted provider takes effect on the next token without a restart (the
 * verifier drops cached keys when authority, issuer or CA change, see keysFingerprint).
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { GROUP, VERSION, plurals } from '../../crds/index.ts';
import type { IdentityProvider } from '../../crds/identity-provider.ts';
import { CustomObjectCache, type CustomObjectCacheOptions, type ObjectSource } from '../kube/custom-object-cache.ts';
import type { Logger } from '../observability/logger.ts';
import { parseIdentityProvider, primaryOf, resolveIssuer, sharedIssuers, type IdentityProviderConfig } from './identity-provider-config.ts';

export const IDENTITY_PROVIDERS_WATCH_PATH = `/apis/${GROUP}/${VERSION}/${plurals.IdentityProvider}`;

/** What the verifier needs: the enabled provider a token's `iss` selects. */
export interface IdentityProviderSource {
  resolveIssuer(iss: string): IdentityProviderConfig | undefined;
}

/** The read model behind `GET /api/config`, `/api/identity-provider` and `/api/config/idps`. */
export interface IdentityProviderDirectory extends IdentityProviderSource {
  /** Providers sorted by name; disabled ones only with `includeDisabled`. Invalid objects are left out. */
  list(options?: { includeDisabled?: boolean }): readonly IdentityProviderConfig[];
  get(name: string): IdentityProviderConfig | undefined;
  /** First enabled provider with `primary: true`, else the first enabled one (reference §2.4). */
  primary(): IdentityProviderConfig | undefined;
  hasSynced(): boolean;
}

export interface IdentityProviderRegistryOptions {
  logger: Logger;
  informer?: Omit<NonNullable<CustomObjectCacheOptions['informer']>, 'name'>;
}

interface Parsed {
  resourceVersion: string | undefined;
  config: IdentityProviderConfig | undefined;
}

/**
 * Tokens of a shared issuer are refused (AmbiguousIssuerError); this tells the administrator
 * why, once per change of the set of shared issuers (not on every token).
 */
export class SharedIssuerWarning {
  private lastKey = '[]';

  constructor(private readonly logger: Logger) {}

  observe(configs: readonly IdentityProviderConfig[]): void {
    const shared = sharedIssuers(configs);
    const key = JSON.stringify(shared);
    if (key === this.lastKey) return;
    this.lastKey = key;
    if (shared.length > 0) this.logger.warn({ sharedIssuers: shared }, 'Identity providers share an issuer');
  }
}

export class IdentityProviderRegistry implements IdentityProviderDirectory {
  private readonly informer: CustomObjectCache<IdentityProvider>;
  private readonly logger: Logger;
  /** Parse results by uid, reused while the resourceVersion is unchanged (and logged once per version). */
  private readonly parsed = new Map<string, Parsed>();
  private readonly sharedIssuerWarning: SharedIssuerWarning;

  constructor(kubeConfig: KubeConfig, options: IdentityProviderRegistryOptions) {
    this.logger = options.logger;
    this.sharedIssuerWarning = new SharedIssuerWarning(options.logger);
    this.informer = new CustomObjectCache<IdentityProvider>(kubeConfig, 'IdentityProvider', {
      logger: options.logger,
      informer: { ...options.informer, name: 'identityproviders' },
    });
  }

  /** The objects as stored (for fields the read model leaves out, such as sessionLimits). */
  get objects(): ObjectSource<IdentityProvider> {
    return this.informer;
  }

  /** Starts the watch cache; it runs until `signal` aborts. */
  start(signal: AbortSignal): void {
    this.informer.start(signal);
  }

  hasSynced(): boolean {
    return this.informer.hasSynced();
  }

  /** Why /readyz should fail for this cache, if it should. */
  notReadyReason(): string | undefined {
    return this.informer.notReadyReason();
  }

  whenSynced(): Promise<void> {
    return this.informer.whenSynced();
  }

  list(options: { includeDisabled?: boolean } = {}): readonly IdentityProviderConfig[] {
    return this.all().filter((config) => options.includeDisabled === true || !config.disabled);
  }

  get(name: string): IdentityProviderConfig | undefined {
    return this.all().find((config) => config.name === name);
  }

  primary(): IdentityProviderConfig | undefined {
    return primaryOf(this.all());
  }

  resolveIssuer(iss: string): IdentityProviderConfig | undefined {
    return resolveIssuer(this.all(), iss);
  }

  private all(): IdentityProviderConfig[] {
    const objects = this.informer.list();
    const seen = new Set<string>();
    const configs: IdentityProviderConfig[] = [];
    for (const object of objects) {
      const key = object.metadata?.uid ?? object.metadata?.name ?? '';
      seen.add(key);
      const config = this.parse(key, object);
      if (config !== undefined) configs.push(config);
    }
    for (const key of this.parsed.keys()) if (!seen.has(key)) this.parsed.delete(key);
    configs.sort((a, b) => a.name.localeCompare(b.name));
    this.sharedIssuerWarning.observe(configs);
    return configs;
  }

  private parse(key: string, object: IdentityProvider): IdentityProviderConfig | undefined {
    const resourceVersion = object.metadata?.resourceVersion;
    const cached = this.parsed.get(key);
    if (cached !== undefined && cached.resourceVersion === resourceVersion) return cached.config;
    const result = parseIdentityProvider(object);
    if (result.ok) {
      this.logger.info(
        { identityProvider: result.config.name, resourceVersion, issuer: result.config.issuer, disabled: result.config.disabled },
        'Loaded identity provider configuration',
      );
    } else {
      this.logger.warn({ identityProvider: result.name, resourceVersion, problem: result.problem }, 'Ignoring invalid identity provider');
    }
    const config = result.ok ? result.config : undefined;
    this.parsed.set(key, { resourceVersion, config });
    return config;
  }
}
