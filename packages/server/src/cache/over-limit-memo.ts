/**
 * Rate-limit keys this instance has seen over their limit, until their window ends. The shared counter decides;
 * this memo only spares the round trip for the rest of the window (a flood from one IP then costs no Redis call).
 * Bounded: expired entries are swept as it grows, and when still full it forgets, which only costs round trips.
 */
export class OverLimitMemo {
  #until = new Map<string, number>();

  constructor(
    private readonly clock: () => number,
    private readonly maxEntries = 100_000,
  ) {}

  /** Seconds until `key`'s window ends, while it is known to be over its limit. */
  retryAfter(key: string): number | undefined {
    const until = this.#until.get(key);
    if (until === undefined) return undefined;
    const left = until - this.clock();
    if (left > 0) return Math.max(1, Math.ceil(left / 1000));
    this.#until.delete(key);
    return undefined;
  }

  /** `key`'s fixed window of `windowMs` (aligned as `rateWindow` aligns it) is over its limit. */
  remember(key: string, windowMs: number): void {
    const now = this.clock();
    if (this.#until.size >= this.maxEntries) {
      for (const [k, until] of this.#until) if (until <= now) this.#until.delete(k);
      if (this.#until.size >= this.maxEntries) this.#until.clear();
    }
    this.#until.set(key, now - (now % windowMs) + windowMs);
  }
}
