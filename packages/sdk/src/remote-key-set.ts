import {
  type CryptoKey,
  createLocalJWKSet,
  errors,
  type FlattenedJWSInput,
  type JSONWebKeySet,
  type JWSHeaderParameters,
} from 'jose';

/** How a key set fetches; given per call so one cache can serve callers with the same URL. */
export interface KeySetFetchOptions {
  fetch: typeof fetch;
  clock: () => number;
  /** After a fetch, how long an unknown `kid` waits before it may trigger another one. */
  cooldownMs: number;
  timeoutMs: number;
}

/** The JWKS could not be fetched, or is not a JWK Set. */
export class KeySetUnavailable extends Error {
  override readonly name = 'KeySetUnavailable';
}

/** Freshness when the answer says nothing, and the most any header may ask for (a bad proxy must not pin keys). */
const defaultMaxAgeSeconds = 300;
const maxAgeCapSeconds = 86_400;

/** `Cache-Control` → [fresh for, may serve stale while revalidating for], in seconds, minus `Age`. */
export function cacheLifetime(headers: Headers): { freshSeconds: number; staleSeconds: number } {
  const directives = new Map<string, string | undefined>();
  for (const part of (headers.get('cache-control') ?? '').split(',')) {
    const [name, value] = part.trim().toLowerCase().split('=', 2);
    if (name) directives.set(name, value?.replace(/^"|"$/g, ''));
  }
  const seconds = (name: string) => {
    const value = directives.get(name);
    return value !== undefined && /^\d+$/.test(value) ? Math.min(Number(value), maxAgeCapSeconds) : undefined;
  };
  if (directives.has('no-store') || directives.has('no-cache')) return { freshSeconds: 0, staleSeconds: 0 };
  const age = Number(headers.get('age') ?? 0);
  const maxAge = seconds('max-age') ?? defaultMaxAgeSeconds;
  return {
    freshSeconds: Math.max(0, maxAge - (Number.isFinite(age) ? age : 0)),
    staleSeconds: seconds('stale-while-revalidate') ?? 0,
  };
}

/**
 * The published keys of one JWKS URL, cached as the server's `Cache-Control` allows: fresh for `max-age`
 * (300 s when absent), then served for `stale-while-revalidate` while one background fetch renews them, then
 * fetched before use. A token whose `kid` is unknown triggers a fetch at most once per cooldown, so a rotated
 * key is picked up at once but forged `kid`s cannot make us hammer the server.
 *
 * Not jose's createRemoteJWKSet: its cache age is fixed at creation and ignores the answer's headers.
 */
type KeyResolver = ReturnType<typeof createLocalJWKSet>;

export class RemoteKeySet {
  #resolve: KeyResolver | undefined;
  #freshUntil = 0;
  #staleUntil = 0;
  #lastAttempt = Number.NEGATIVE_INFINITY;
  #inFlight: Promise<void> | undefined;

  constructor(readonly url: URL) {}

  async getKey(
    header: JWSHeaderParameters,
    token: FlattenedJWSInput,
    options: KeySetFetchOptions,
  ): Promise<CryptoKey | Uint8Array> {
    const now = options.clock();
    if (!this.#resolve || now >= this.#staleUntil) await this.#reload(options);
    else if (now >= this.#freshUntil && now - this.#lastAttempt >= options.cooldownMs) {
      // Stale but usable: renew in the background; a failure leaves the keys until staleUntil.
      this.#reload(options).catch(() => {});
    }
    try {
      return await (this.#resolve as KeyResolver)(header, token);
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey) || options.clock() - this.#lastAttempt < options.cooldownMs) {
        throw error;
      }
      await this.#reload(options);
      return (this.#resolve as KeyResolver)(header, token);
    }
  }

  /** Single-flight: concurrent callers share one fetch. */
  #reload(options: KeySetFetchOptions): Promise<void> {
    this.#inFlight ??= this.#fetch(options).finally(() => {
      this.#inFlight = undefined;
    });
    return this.#inFlight;
  }

  async #fetch(options: KeySetFetchOptions): Promise<void> {
    this.#lastAttempt = options.clock();
    let response: Response;
    let jwks: unknown;
    try {
      response = await options.fetch(this.url, {
        headers: { accept: 'application/json' },
        redirect: 'manual',
        signal: AbortSignal.timeout(options.timeoutMs),
      });
      jwks = response.status === 200 ? await response.json() : undefined;
    } catch (error) {
      throw new KeySetUnavailable(`could not fetch ${this.url}: ${(error as Error).message}`, { cause: error });
    }
    if (jwks === undefined) throw new KeySetUnavailable(`${this.url} answered ${response.status}`);
    let resolve: KeyResolver;
    try {
      resolve = createLocalJWKSet(jwks as JSONWebKeySet);
    } catch (error) {
      throw new KeySetUnavailable(`${this.url} is not a JWK Set`, { cause: error });
    }
    const { freshSeconds, staleSeconds } = cacheLifetime(response.headers);
    const fetchedAt = options.clock();
    this.#resolve = resolve;
    this.#freshUntil = fetchedAt + freshSeconds * 1000;
    this.#staleUntil = this.#freshUntil + staleSeconds * 1000;
  }
}
