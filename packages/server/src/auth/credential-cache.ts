import { findHmacCredential, type HmacCredential } from '../store/credentials.ts';
import type { Db } from '../store/database.ts';

/**
 * Credential lookups for the HMAC hot path, cached for a few seconds per instance (misses too, so random api
 * keys cannot hammer the database). A revocation reaches every instance within `ttlMs`. Concurrent lookups of
 * one key share a single query.
 */
export class CredentialCache {
  #entries = new Map<string, { value: HmacCredential | undefined; expiresAt: number }>();
  #inflight = new Map<string, Promise<HmacCredential | undefined>>();

  constructor(
    private readonly db: Db,
    private readonly masterKey: Buffer,
    private readonly clock: () => number,
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  async get(apiKey: string): Promise<HmacCredential | undefined> {
    const now = this.clock();
    const cached = this.#entries.get(apiKey);
    if (cached && cached.expiresAt > now) return cached.value;
    const inflight = this.#inflight.get(apiKey);
    if (inflight) return inflight;
    const lookup = findHmacCredential(this.db, this.masterKey, apiKey)
      .then((value) => {
        if (this.ttlMs > 0) {
          if (this.#entries.size >= this.maxEntries) this.#entries.clear();
          this.#entries.set(apiKey, { value, expiresAt: this.clock() + this.ttlMs });
        }
        return value;
      })
      .finally(() => this.#inflight.delete(apiKey));
    this.#inflight.set(apiKey, lookup);
    return lookup;
  }

  invalidate(apiKey?: string): void {
    if (apiKey === undefined) this.#entries.clear();
    else this.#entries.delete(apiKey);
  }
}
