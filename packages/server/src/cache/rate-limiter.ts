import type { Redis } from 'ioredis';
import { DependencyError } from '../errors/catalogue.ts';
import { holdWritesForTurn } from './redis-writes.ts';

export interface RateLimitResult {
  allowed: boolean;
  /** Seconds until the window resets, for Retry-After. */
  retryAfterSeconds: number;
}

/** Fixed-window counters: `limit` hits per `windowMs` per key. */
export interface RateLimiter {
  hit(key: string, limit: number, windowMs: number): Promise<RateLimitResult>;
  close(): Promise<void>;
}

/**
 * The fixed window holding `now` for `key`: its counter's id (the key names its window), how long the counter must
 * live (the window, plus a second for clock skew between instances) and the Retry-After for a refusal.
 */
export function rateWindow(
  key: string,
  windowMs: number,
  now: number,
): { id: string; ttlMs: number; retryAfterSeconds: number } {
  const windowStart = now - (now % windowMs);
  return {
    id: `${key}:${windowStart}`,
    ttlMs: windowMs + 1000,
    retryAfterSeconds: Math.max(1, Math.ceil((windowStart + windowMs - now) / 1000)),
  };
}

export function memoryRateLimiter(clock: () => number): RateLimiter {
  const windows = new Map<string, { count: number; resetAt: number }>();
  let nextSweep = 0;
  return {
    async hit(key, limit, windowMs) {
      const now = clock();
      if (now >= nextSweep) {
        for (const [k, w] of windows) if (w.resetAt <= now) windows.delete(k);
        nextSweep = now + 10_000;
      }
      const windowStart = now - (now % windowMs);
      const id = `${key}:${windowStart}`;
      const window = windows.get(id) ?? { count: 0, resetAt: windowStart + windowMs };
      window.count++;
      windows.set(id, window);
      return {
        allowed: window.count <= limit,
        retryAfterSeconds: Math.max(1, Math.ceil((window.resetAt - now) / 1000)),
      };
    },
    async close() {
      windows.clear();
    },
  };
}

/**
 * The window's counter, incremented, with its expiry set when the window's first hit creates it: one Redis
 * command (a MULTI of INCR + PEXPIRE is four), written with the other commands of its turn.
 */
const hitScript = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return count`;

type RedisWithHit = Redis & { handoffRateHit(key: string, ttlMs: number): Promise<number> };

/** Shared through Redis: one atomic script call per hit. */
export function redisRateLimiter(redis: Redis, prefix: string, clock: () => number): RateLimiter {
  if (!('handoffRateHit' in redis)) redis.defineCommand('handoffRateHit', { numberOfKeys: 1, lua: hitScript });
  const client = redis as RedisWithHit;
  return {
    async hit(key, limit, windowMs) {
      const window = rateWindow(key, windowMs, clock());
      holdWritesForTurn(redis);
      try {
        const count = await client.handoffRateHit(`${prefix}rate:${window.id}`, window.ttlMs);
        return { allowed: count <= limit, retryAfterSeconds: window.retryAfterSeconds };
      } catch (error) {
        throw new DependencyError('redis', error);
      }
    },
    async close() {},
  };
}
