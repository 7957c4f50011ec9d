/**
 * A GrantChecker in front of the spoke: results cached per (cluster, groups, attributes) for a
 * short TTL and bounded in number, identical concurrent checks sharing one spoke call, a timeout
 * per call, and a circuit breaker per cluster so that a spoke that is down costs no waiting.
 *
 * An answer asked for late in its lifetime (refreshAhead) is still returned at once,
 * and one background call renews it: a steadily used answer never expires under its users, so
 * their decisions never wait for the spoke, yet no answer is ever used beyond its TTL.
 *
 * Only the spoke's RBAC answer is cached. Which sessions exist and whether they are usable is
 * decided per request from the informer cache, so a dropped or expired session stops granting at
 * once, whatever this cache holds.
 */
import { clockTimeout, type Clock } from '../clock/clock.ts';
import { GrantCheckError, type GrantChecker } from './grant-checker.ts';
import type { RequestAttributes } from './subject-access-review.ts';

export interface GrantCacheOptions {
  /** Monotonic time and timers (FakeClock in tests). */
  readonly clock: Clock;
  /** How long an "allowed" answer is reused. Default 10 s. */
  readonly allowedTtlMs?: number;
  /** How long a "not allowed" answer is reused. Default 5 s, so a new RoleBinding shows up soon. */
  readonly deniedTtlMs?: number;
  /**
   * Each answer is kept for its TTL shortened by a random part of up to this fraction, so that
   * answers stored together (a restart, a burst) do not all expire in the same instant and send
   * a burst of spoke calls that queues every decision behind it. Never longer than the TTL.
   * Default 0.2; 0 keeps every answer exactly its TTL.
   */
  readonly ttlJitter?: number;
  /**
   * Renewal: a hit after a random point in this last fraction of an answer's lifetime starts one
   * background call that renews it; the hit gets the cached answer without waiting. The point is
   * random so that answers stored together (a restart) are not renewed in one burst of spoke
   * calls that queues the decisions behind it. Default 0.5 (renewed after 50-100 % of the
   * lifetime, 75 % on average); 0 turns renewal off.
   */
  readonly refreshAhead?: number;
  /** Uniform in [0, 1) for the jitter (tests). Default Math.random. */
  readonly random?: () => number;
  /** At most this many cached answers; the oldest is evicted first. Default 10,000. */
  readonly maxEntries?: number;
  /** Timeout of one spoke call. Default 2 s, below the spoke's usual 3 s webhook timeout. */
  readonly timeoutMs?: number;
  /** Consecutive failures (unreachable/timeout) that open a cluster's circuit. Default 5. */
  readonly failureThreshold?: number;
  /** How long an open circuit refuses calls before one probe is let through. Default 10 s. */
  readonly cooldownMs?: number;
}

export type CircuitState = 'closed' | 'open' | 'half-open';

interface Circuit {
  state: CircuitState;
  failures: number;
  openedAt: number;
}

interface Entry {
  readonly allowed: boolean;
  /** From here on a hit renews the answer in the background. */
  readonly renewAt: number;
  readonly expiresAt: number;
}

/** The cache key of a request's attributes; every field, in a fixed order, NUL-separated. */
export function attributesKey(attributes: RequestAttributes): string {
  const r = attributes.resource;
  if (r !== undefined) {
    return `r\u0000${r.verb}\u0000${r.group}\u0000${r.version}\u0000${r.resource}\u0000${r.subresource}\u0000${r.namespace}\u0000${r.name}`;
  }
  const n = attributes.nonResource;
  return `n\u0000${n?.verb ?? ''}\u0000${n?.path ?? ''}`;
}

export class CachingGrantChecker implements GrantChecker {
  private readonly clock: Clock;
  private readonly allowedTtlMs: number;
  private readonly deniedTtlMs: number;
  private readonly maxEntries: number;
  private readonly timeoutMs: number;
  private readonly failureThreshold: number;
  private readonly cooldownMs: number;
  private readonly ttlJitter: number;
  private readonly refreshAhead: number;
  private readonly random: () => number;
  private readonly entries = new Map<string, Entry>();
  private readonly inFlight = new Map<string, Promise<boolean>>();
  private readonly circuits = new Map<string, Circuit>();
  /**
   * attributesKey per attributes object: one decision checks the same review for each session
   * and up to 10 hint escalations, so the key is built once per request, not per check.
   */
  private readonly attributeKeys = new WeakMap<RequestAttributes, string>();

  constructor(
    private readonly inner: GrantChecker,
    options: GrantCacheOptions,
  ) {
    this.clock = options.clock;
    this.allowedTtlMs = options.allowedTtlMs ?? 10_000;
    this.deniedTtlMs = options.deniedTtlMs ?? 5_000;
    this.maxEntries = options.maxEntries ?? 10_000;
    this.timeoutMs = options.timeoutMs ?? 2_000;
    this.failureThreshold = options.failureThreshold ?? 5;
    this.cooldownMs = options.cooldownMs ?? 10_000;
    this.ttlJitter = Math.min(Math.max(options.ttlJitter ?? 0.2, 0), 1);
    this.refreshAhead = Math.min(Math.max(options.refreshAhead ?? 0.5, 0), 1);
    this.random = options.random ?? Math.random;
  }

  allowed(cluster: string, groups: readonly string[], attributes: RequestAttributes): Promise<boolean> {
    const key = this.keyOf(cluster, groups, attributes);
    const hit = this.hit(key, cluster, groups, attributes);
    if (hit !== undefined) return Promise.resolve(hit);
    return this.inFlight.get(key) ?? this.start(key, cluster, groups, attributes);
  }

  /**
   * The cached answer (renewing it like `allowed` does), or undefined when `allowed` would ask
   * the spoke or wait for a call already out.
   */
  cached(cluster: string, groups: readonly string[], attributes: RequestAttributes): boolean | undefined {
    return this.hit(this.keyOf(cluster, groups, attributes), cluster, groups, attributes);
  }

  private keyOf(cluster: string, groups: readonly string[], attributes: RequestAttributes): string {
    let attrKey = this.attributeKeys.get(attributes);
    if (attrKey === undefined) {
      attrKey = attributesKey(attributes);
      this.attributeKeys.set(attributes, attrKey);
    }
    return `${cluster}\u0000${groups.length === 1 ? groups[0] : groups.join('\u0001')}\u0000${attrKey}`;
  }

  /** A live cached answer, starting its renewal when due; an expired one is dropped. */
  private hit(key: string, cluster: string, groups: readonly string[], attributes: RequestAttributes): boolean | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    const now = this.clock.now();
    if (entry.expiresAt <= now) {
      this.entries.delete(key);
      return undefined;
    }
    if (now >= entry.renewAt && !this.inFlight.has(key) && this.circuitState(cluster) !== 'open') {
      // One renewal per answer: a failed one leaves the answer until it expires (the call
      // counted the failure), and the hits after it do not each call the spoke again.
      this.entries.set(key, { ...entry, renewAt: Number.POSITIVE_INFINITY });
      this.start(key, cluster, groups, attributes).catch(() => {});
    }
    return entry.allowed;
  }

  /** One spoke call for `key`, shared by every check that misses while it runs. */
  private start(key: string, cluster: string, groups: readonly string[], attributes: RequestAttributes): Promise<boolean> {
    const call = this.call(key, cluster, groups, attributes);
    this.inFlight.set(key, call);
    return call;
  }

  /** The circuit of a cluster as the next call would see it (for metrics and tests). */
  circuitState(cluster: string): CircuitState {
    const circuit = this.circuits.get(cluster);
    if (circuit === undefined) return 'closed';
    if (circuit.state === 'open' && this.clock.now() - circuit.openedAt >= this.cooldownMs) return 'half-open';
    return circuit.state;
  }

  /** Number of cached answers. */
  get size(): number {
    return this.entries.size;
  }

  /** Forgets a cluster's answers and circuit, e.g. when its ClusterConfig or credentials change. */
  forgetCluster(cluster: string): void {
    const prefix = `${cluster}\u0000`;
    for (const key of this.entries.keys()) if (key.startsWith(prefix)) this.entries.delete(key);
    this.circuits.delete(cluster);
  }

  private async call(key: string, cluster: string, groups: readonly string[], attributes: RequestAttributes): Promise<boolean> {
    try {
      this.admit(cluster);
      const allowed = await this.withTimeout(cluster, groups, attributes);
      this.succeeded(cluster);
      this.store(key, allowed);
      return allowed;
    } catch (error) {
      const failure = error instanceof GrantCheckError ? error : new GrantCheckError('unreachable', cluster, String(error), { cause: error });
      if (failure.failure === 'unreachable' || failure.failure === 'timeout') this.failed(cluster);
      // Any other answer (forbidden, no credentials) came from a reachable spoke or none was
      // attempted; it must not leave a half-open circuit waiting for a probe result forever.
      else if (failure.failure !== 'circuit-open') this.succeeded(cluster);
      throw failure;
    } finally {
      this.inFlight.delete(key);
    }
  }

  /** Throws circuit-open unless the circuit lets this call through (closed, or the half-open probe). */
  private admit(cluster: string): void {
    const circuit = this.circuits.get(cluster);
    if (circuit === undefined || circuit.state === 'closed') return;
    if (circuit.state === 'open' && this.clock.now() - circuit.openedAt >= this.cooldownMs) {
      circuit.state = 'half-open'; // this call is the one probe
      return;
    }
    throw new GrantCheckError('circuit-open', cluster, `spoke ${cluster} is failing; calls are paused`);
  }

  private succeeded(cluster: string): void {
    this.circuits.delete(cluster);
  }

  private failed(cluster: string): void {
    const now = this.clock.now();
    const circuit = this.circuits.get(cluster) ?? { state: 'closed' as CircuitState, failures: 0, openedAt: 0 };
    circuit.failures++;
    if (circuit.state === 'half-open' || circuit.failures >= this.failureThreshold) {
      circuit.state = 'open';
      circuit.openedAt = now;
    }
    this.circuits.set(cluster, circuit);
  }

  private store(key: string, allowed: boolean): void {
    const ttl = allowed ? this.allowedTtlMs : this.deniedTtlMs;
    if (ttl <= 0) return;
    this.entries.delete(key);
    const kept = this.ttlJitter === 0 ? ttl : ttl * (1 - this.ttlJitter * this.random());
    const now = this.clock.now();
    const renewAt = this.refreshAhead === 0 ? Number.POSITIVE_INFINITY : now + kept * (1 - this.refreshAhead * this.random());
    this.entries.set(key, { allowed, renewAt, expiresAt: now + kept });
    // Map iteration is insertion order: the first key is the oldest answer.
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  private async withTimeout(cluster: string, groups: readonly string[], attributes: RequestAttributes): Promise<boolean> {
    const timer = clockTimeout(this.clock, this.timeoutMs);
    try {
      const timedOut = new Promise<never>((_, reject) => {
        timer.signal.addEventListener(
          'abort',
          () => reject(new GrantCheckError('timeout', cluster, `spoke ${cluster} did not answer within ${this.timeoutMs} ms`)),
          { once: true },
        );
      });
      return await Promise.race([this.inner.allowed(cluster, groups, attributes, timer.signal), timedOut]);
    } finally {
      timer.cancel();
    }
  }
}
