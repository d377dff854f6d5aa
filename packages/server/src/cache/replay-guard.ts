import { hash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { DependencyError, HandoffError } from '../errors/catalogue.ts';
import { type RateLimiter, rateWindow } from './rate-limiter.ts';

/** One fixed-window counter to count a hit against once the request is admitted (`limit` ≤ 0: not counted). */
export interface AdmissionCounter {
  key: string;
  limit: number;
  windowMs: number;
}

/**
 * `fresh: false` is a replay (no counter was touched); `retryAfterSeconds` is set when a counter is over its limit,
 * and `overLimit` names those counters.
 */
export interface Admission {
  fresh: boolean;
  retryAfterSeconds: number | undefined;
  overLimit: readonly string[];
}

const replayed: Admission = { fresh: false, retryAfterSeconds: undefined, overLimit: [] };

/**
 * Remembers request signatures until their timestamp has left the acceptance window, so each is accepted once.
 * `admit` claims a key (true for its first caller, false for every later one, across instances when backed by
 * Redis) and, only when the claim is fresh, counts one hit on each of the request's rate-limit counters: the
 * claim and the counters are one operation so a request costs one Redis round trip after authentication.
 */
export interface ReplayGuard {
  admit(key: string, ttlMs: number, counters: readonly AdmissionCounter[]): Promise<Admission>;
  close(): Promise<void>;
}

function admitted(
  counters: readonly AdmissionCounter[],
  results: readonly { allowed: boolean; retryAfterSeconds: number }[],
): Admission {
  const denied = results.filter((r) => !r.allowed);
  return {
    fresh: true,
    retryAfterSeconds: denied.length === 0 ? undefined : Math.max(...denied.map((r) => r.retryAfterSeconds)),
    overLimit: counters.filter((_, i) => results[i]?.allowed === false).map((c) => c.key),
  };
}

/**
 * One process's memory, counting on the given (memory) rate limiter. Bounded: entries expire with their window,
 * and a sweep runs as the map grows. The window holds every request of the last ~61 s (~330,000 entries at 5,500
 * req/s), so each entry is compact: the key's SHA-256 as a flat 43-character string (a request's key is a
 * concatenation, which V8 keeps as a tree of strings) and its expiry in whole seconds since the guard started (a
 * small integer, not a boxed number): ~100 instead of ~188 bytes an entry. Expiry rounds up: never earlier.
 */
export function memoryReplayGuard(clock: () => number, limiter: RateLimiter, maxEntries = 2_000_000): ReplayGuard {
  const seen = new Map<string, number>();
  const startedAt = clock();
  const secondsSinceStart = (ms: number) => (ms - startedAt) / 1000;
  let nextSweep = 0;
  const sweep = (now: number) => {
    const current = secondsSinceStart(now);
    for (const [id, expiresAt] of seen) if (expiresAt <= current) seen.delete(id);
    nextSweep = now + 1000;
  };
  return {
    async admit(key, ttlMs, counters) {
      const now = clock();
      if (now >= nextSweep || seen.size >= maxEntries) sweep(now);
      const id = hash('sha256', key, 'base64url');
      const expiresAt = seen.get(id);
      if (expiresAt !== undefined && expiresAt > secondsSinceStart(now)) return replayed;
      // Fail closed rather than forget entries that are still inside their window.
      if (seen.size >= maxEntries) throw new HandoffError('unavailable', { message: 'replay cache full' });
      seen.set(id, Math.ceil(secondsSinceStart(now + ttlMs)));
      const counted = counters.filter((c) => c.limit > 0);
      const results = await Promise.all(counted.map((c) => limiter.hit(c.key, c.limit, c.windowMs)));
      return admitted(counted, results);
    },
    async close() {
      seen.clear();
    },
  };
}

/**
 * `SET replay 1 PX ttl NX`, then, only when it set the key, each counter incremented with its expiry set by the
 * window's first hit (as `redisRateLimiter` does, on the same keys). Answers {0} for a replay, else {1, counts…}.
 * All keys share the deployment's prefix; on Redis Cluster they would need a hash tag to share a slot.
 */
const admitScript = `
if not redis.call('SET', KEYS[1], '1', 'PX', ARGV[1], 'NX') then return {0} end
local answer = {1}
for i = 2, #KEYS do
  local count = redis.call('INCR', KEYS[i])
  if count == 1 then redis.call('PEXPIRE', KEYS[i], ARGV[i]) end
  answer[i] = count
end
return answer`;

type RedisWithAdmit = Redis & { handoffAdmit(numberOfKeys: number, ...args: (string | number)[]): Promise<number[]> };

/** Shared by every instance: one atomic script call per request. Redis errors fail closed (503). */
export function redisReplayGuard(redis: Redis, prefix: string, clock: () => number): ReplayGuard {
  if (!('handoffAdmit' in redis)) redis.defineCommand('handoffAdmit', { lua: admitScript });
  const client = redis as RedisWithAdmit;
  return {
    async admit(key, ttlMs, counters) {
      const now = clock();
      const counted = counters.filter((c) => c.limit > 0);
      const windows = counted.map((c) => rateWindow(c.key, c.windowMs, now));
      let answer: number[];
      try {
        answer = await client.handoffAdmit(
          1 + counted.length,
          `${prefix}replay:${key}`,
          ...windows.map((w) => `${prefix}rate:${w.id}`),
          Math.max(1, Math.ceil(ttlMs)),
          ...windows.map((w) => w.ttlMs),
        );
      } catch (error) {
        throw new DependencyError('redis', error);
      }
      if (answer[0] !== 1) return replayed;
      const results = counted.map((c, i) => ({
        allowed: (answer[i + 1] ?? 0) <= c.limit,
        retryAfterSeconds: windows[i]?.retryAfterSeconds ?? 1,
      }));
      return admitted(counted, results);
    },
    async close() {},
  };
}
