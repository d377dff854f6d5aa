import { LRUCache } from 'lru-cache';

export interface LookupCacheOptions {
  /** How long an answer is reused; 0 turns the cache off (every lookup reads the store). */
  ttlMs: number;
  /** Keep "not found" too, so random keys cannot hammer the database (credentials); off where a row may appear. */
  cacheMisses: boolean;
  /** Entries kept, least recently used evicted first. */
  max?: number;
}

/**
 * A read-through cache for hot-path lookups (HMAC credentials, API keys, participants), per instance: a change
 * made elsewhere (the CLI, another instance, the KYC pipeline) is seen within `ttlMs` (each entry is kept 80–100% of
 * it), or at once where the store announces it (`invalidate`). Concurrent lookups of one key share a single query;
 * a failed lookup is not kept, nor one that was in flight when its key was invalidated (it may have read the row
 * before the change).
 */
export class LookupCache<V> {
  readonly #lru: LRUCache<string, { value: V | undefined }> | undefined;
  #suspended = false;

  constructor(
    private readonly load: (key: string) => Promise<V | undefined>,
    clock: () => number,
    options: LookupCacheOptions,
  ) {
    if (options.ttlMs <= 0) return;
    this.#lru = new LRUCache<string, { value: V | undefined }>({
      max: options.max ?? 10_000,
      ttl: options.ttlMs,
      // The injected clock (tests move it by hand), read on every check.
      perf: { now: clock },
      ttlResolution: 0,
      // An invalidation aborts a lookup in flight: its caller still gets the answer, the cache does not keep it.
      ignoreFetchAbort: true,
      fetchMethod: async (key, _stale, { options: entry }) => {
        const value = await this.load(key);
        // Each entry lives 80–100% of the ttl, so entries loaded together (a restart, a cleared cache, a burst of new
        // users) do not all expire together and come back as one burst of reads: on the embedded store 3,000
        // participants read back at once held the event loop ~1.5 s every minute (bench/README.md, change 33).
        entry.ttl = options.ttlMs * (1 - Math.random() * 0.2);
        // Resolving undefined stores nothing.
        return value === undefined && !options.cacheMisses ? undefined : { value };
      },
    });
  }

  async get(key: string): Promise<V | undefined> {
    if (!this.#lru || this.#suspended) return this.load(key);
    // A fresh entry is read synchronously; `fetch` (with its promise bookkeeping) only runs for a miss.
    const cached = this.#lru.get(key);
    if (cached) return cached.value;
    return (await this.#lru.fetch(key))?.value;
  }

  invalidate(key?: string): void {
    if (key === undefined) this.#lru?.clear();
    else this.#lru?.delete(key);
  }

  /**
   * While the source of invalidations is down (changes could go unannounced) every lookup reads the store;
   * resuming starts empty, since changes made meanwhile were not announced.
   */
  suspend(): void {
    this.#suspended = true;
    this.#lru?.clear();
  }

  resume(): void {
    this.#lru?.clear();
    this.#suspended = false;
  }
}
