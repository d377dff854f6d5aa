/**
 * Credential lookups for the hot paths (HMAC credentials, API keys), cached for a few seconds per instance, misses
 * too, so random keys cannot hammer the database. A revocation or a disabled partner reaches every instance within
 * `ttlMs` (HANDOFF_CREDENTIAL_CACHE_SECONDS). Concurrent lookups of one key share a single query.
 */
export class LookupCache<V> {
  #entries = new Map<string, { value: V | undefined; expiresAt: number }>();
  #inflight = new Map<string, Promise<V | undefined>>();

  constructor(
    private readonly load: (key: string) => Promise<V | undefined>,
    private readonly clock: () => number,
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  async get(key: string): Promise<V | undefined> {
    const cached = this.#entries.get(key);
    if (cached && cached.expiresAt > this.clock()) return cached.value;
    const inflight = this.#inflight.get(key);
    if (inflight) return inflight;
    const lookup = this.load(key)
      .then((value) => {
        if (this.ttlMs > 0) {
          if (this.#entries.size >= this.maxEntries) this.#entries.clear();
          this.#entries.set(key, { value, expiresAt: this.clock() + this.ttlMs });
        }
        return value;
      })
      .finally(() => this.#inflight.delete(key));
    this.#inflight.set(key, lookup);
    return lookup;
  }

  invalidate(key?: string): void {
    if (key === undefined) this.#entries.clear();
    else this.#entries.delete(key);
  }
}
