import { hash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { DependencyError, HandoffError } from '../errors/catalogue.ts';
import { FingerprintSet } from './fingerprint-set.ts';
import { type RateLimiter, rateWindow } from './rate-limiter.ts';
import { holdWritesForTurn } from './redis-writes.ts';

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
 * `admit` claims a key until `expiresAtMs` (on the guard's clock; fresh for its first caller, a replay for every
 * later one, across instances when backed by Redis) and, only when the claim is fresh, counts one hit on each of
 * the request's rate-limit counters: the claim and the counters are one operation so a request costs one Redis
 * round trip after authentication. A key must determine its expiry (ours carry the signed timestamp).
 */
export interface ReplayGuard {
  admit(key: string, expiresAtMs: number, counters: readonly AdmissionCounter[]): Promise<Admission>;
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
 * One process's memory, counting on the given (memory) rate limiter. The window holds every request of the last
 * ~61 s (a million at 16,000 req/s), so an entry is a 64-bit fingerprint (SHA-256 of a per-process salt and the
 * key: no one can aim two keys at one fingerprint) in a typed-array set, one set per second of expiry: ~16 bytes
 * an entry outside the V8 heap instead of a string and a number in a Map. A key determines its expiry (it carries
 * the signed timestamp), so a replay is looked up in its own second's set, and each second's set is dropped whole
 * once that second has begun: no sweep over entries. Expiry rounds up: never earlier. When `maxEntries` are
 * inside their window it refuses new keys (fails closed) rather than forget any.
 */
export function memoryReplayGuard(clock: () => number, limiter: RateLimiter, maxEntries = 2_000_000): ReplayGuard {
  const salt = randomBytes(16).toString('base64');
  const bySecond = new Map<number, FingerprintSet>();
  let entries = 0;
  let nextSweep = 0;
  return {
    async admit(key, expiresAtMs, counters) {
      const now = clock();
      if (now >= nextSweep) {
        for (const [second, set] of bySecond) {
          if (second * 1000 > now) continue;
          entries -= set.size;
          bySecond.delete(second);
        }
        nextSweep = (Math.floor(now / 1000) + 1) * 1000;
      }
      const second = Math.ceil(expiresAtMs / 1000);
      // A key whose expiry has already passed has nothing left to guard.
      if (second * 1000 > now) {
        const digest = hash('sha256', salt + key, 'buffer');
        const high = digest.readUInt32LE(0);
        const low = digest.readUInt32LE(4);
        let set = bySecond.get(second);
        if (entries >= maxEntries) {
          if (set?.has(high, low)) return replayed;
          throw new HandoffError('unavailable', { message: 'replay cache full' });
        }
        if (set === undefined) {
          set = new FingerprintSet();
          bySecond.set(second, set);
        }
        if (!set.add(high, low)) return replayed;
        entries++;
      }
      const counted = counters.filter((c) => c.limit > 0);
      const results = await Promise.all(counted.map((c) => limiter.hit(c.key, c.limit, c.windowMs)));
      return admitted(counted, results);
    },
    async close() {
      bySecond.clear();
      entries = 0;
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
    async admit(key, expiresAtMs, counters) {
      const now = clock();
      const counted = counters.filter((c) => c.limit > 0);
      const windows = counted.map((c) => rateWindow(c.key, c.windowMs, now));
      let answer: number[];
      holdWritesForTurn(redis);
      try {
        answer = await client.handoffAdmit(
          1 + counted.length,
          `${prefix}replay:${key}`,
          ...windows.map((w) => `${prefix}rate:${w.id}`),
          Math.max(1, Math.ceil(expiresAtMs - now)),
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
