import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { FingerprintSet } from '../src/cache/fingerprint-set.ts';
import { LookupCache } from '../src/cache/lookup-cache.ts';
import { OverLimitMemo } from '../src/cache/over-limit-memo.ts';
import { memoryRateLimiter, rateWindow } from '../src/cache/rate-limiter.ts';
import { memoryReplayGuard, redisReplayGuard } from '../src/cache/replay-guard.ts';
import { TestClock, testRedisUrl } from './harness.ts';

/** A store stand-in that counts its reads: what the cache is for is reading the store less. */
function countingStore(rows: Record<string, string>) {
  const reads: string[] = [];
  return {
    reads,
    load: async (key: string) => {
      reads.push(key);
      await new Promise((resolve) => setImmediate(resolve));
      if (key === 'broken') throw new Error('store down');
      return rows[key];
    },
  };
}

describe('LookupCache', () => {
  test('an answer is reused for ttl on the injected clock, then read again; concurrent gets share one read', async () => {
    const clock = new TestClock();
    const store = countingStore({ a: 'A' });
    const cache = new LookupCache(store.load, clock.read, { ttlMs: 5000, cacheMisses: false });
    assert.deepEqual(await Promise.all([cache.get('a'), cache.get('a'), cache.get('a')]), ['A', 'A', 'A']);
    assert.equal(store.reads.length, 1);
    clock.advance(4);
    assert.equal(await cache.get('a'), 'A');
    assert.equal(store.reads.length, 1);
    clock.advance(2);
    assert.equal(await cache.get('a'), 'A');
    assert.equal(store.reads.length, 2);
  });

  test('entries loaded together expire spread over the last fifth of the ttl, never after it', async () => {
    const clock = new TestClock();
    const keys = Array.from({ length: 100 }, (_, i) => `k${i}`);
    const store = countingStore(Object.fromEntries(keys.map((k) => [k, k.toUpperCase()])));
    const cache = new LookupCache(store.load, clock.read, { ttlMs: 10_000, cacheMisses: false });
    await Promise.all(keys.map((k) => cache.get(k)));
    const readsAfter = async (seconds: number) => {
      clock.advance(seconds);
      const before = store.reads.length;
      await Promise.all(keys.map((k) => cache.get(k)));
      return store.reads.length - before;
    };
    assert.equal(await readsAfter(8), 0, 'all kept for 80% of the ttl');
    const halfway = await readsAfter(1);
    // Each of 100 entries expires in (8 s, 10 s]: all or none of them by 9 s has a chance of 2 × 2⁻¹⁰⁰.
    assert.ok(halfway > 0 && halfway < keys.length, `${halfway} of 100 read again 9 s after loading`);
    // Those read again at 9 s are fresh; every other one has passed the ttl.
    assert.equal(await readsAfter(1.001), keys.length - halfway, 'every entry read again once the ttl has passed');
  });

  test('misses are kept only when asked; a failed read is not kept; ttl 0 reads every time', async () => {
    const clock = new TestClock();
    const keeping = countingStore({});
    const credentials = new LookupCache(keeping.load, clock.read, { ttlMs: 5000, cacheMisses: true });
    await credentials.get('nope');
    await credentials.get('nope');
    assert.equal(keeping.reads.length, 1);

    const notKeeping = countingStore({});
    const participants = new LookupCache(notKeeping.load, clock.read, { ttlMs: 5000, cacheMisses: false });
    await participants.get('nope');
    await participants.get('nope');
    assert.equal(notKeeping.reads.length, 2);

    await assert.rejects(participants.get('broken'), /store down/);
    await assert.rejects(participants.get('broken'), /store down/);
    assert.equal(notKeeping.reads.filter((k) => k === 'broken').length, 2);

    const off = countingStore({ a: 'A' });
    const uncached = new LookupCache(off.load, clock.read, { ttlMs: 0, cacheMisses: true });
    await uncached.get('a');
    await uncached.get('a');
    assert.equal(off.reads.length, 2);
  });

  test('an invalidation during a read: that caller gets the answer, the cache keeps nothing it may have read too early', async () => {
    const clock = new TestClock();
    const store = countingStore({ a: 'A' });
    const cache = new LookupCache(store.load, clock.read, { ttlMs: 60_000, cacheMisses: false });
    const inFlight = cache.get('a');
    cache.invalidate('a'); // the change was announced while the read was under way
    assert.equal(await inFlight, 'A');
    await cache.get('a');
    assert.equal(store.reads.length, 2, 'read again');
    await cache.get('a');
    assert.equal(store.reads.length, 2, 'and kept this time');
  });

  test('suspended, every get reads the store; resumed, it starts empty', async () => {
    const clock = new TestClock();
    const rows: Record<string, string> = { a: 'A' };
    const store = countingStore(rows);
    const cache = new LookupCache(store.load, clock.read, { ttlMs: 60_000, cacheMisses: false });
    await cache.get('a');
    cache.suspend();
    rows.a = 'A2'; // changed while no one could announce it
    assert.equal(await cache.get('a'), 'A2');
    assert.equal(await cache.get('a'), 'A2');
    assert.equal(store.reads.length, 3);
    rows.a = 'A3';
    cache.resume();
    assert.equal(await cache.get('a'), 'A3');
    assert.equal(await cache.get('a'), 'A3');
    assert.equal(store.reads.length, 4);
  });

  test('bounded: the least recently used entry goes first', async () => {
    const clock = new TestClock();
    const store = countingStore({ a: 'A', b: 'B', c: 'C' });
    const cache = new LookupCache(store.load, clock.read, { ttlMs: 5000, cacheMisses: false, max: 2 });
    await cache.get('a');
    await cache.get('b');
    await cache.get('a');
    await cache.get('c');
    store.reads.length = 0;
    await cache.get('a');
    await cache.get('b');
    assert.deepEqual(store.reads, ['b']);
  });
});

describe('OverLimitMemo', () => {
  test('refuses a key until its fixed window ends, with the seconds left', () => {
    const clock = new TestClock(Date.UTC(2026, 10, 23, 12, 0, 10));
    const memo = new OverLimitMemo(clock.read);
    assert.equal(memo.retryAfter('hmac:ip:203.0.113.9'), undefined);
    memo.remember('hmac:ip:203.0.113.9', 60_000);
    assert.equal(memo.retryAfter('hmac:ip:203.0.113.9'), 50);
    assert.equal(memo.retryAfter('hmac:ip:203.0.113.10'), undefined);
    clock.advance(49);
    assert.equal(memo.retryAfter('hmac:ip:203.0.113.9'), 1);
    clock.advance(1);
    assert.equal(memo.retryAfter('hmac:ip:203.0.113.9'), undefined, 'a new window');
  });

  test('bounded: when full, expired entries go first, then everything (which only costs round trips)', () => {
    const clock = new TestClock(Date.UTC(2026, 10, 23, 12, 0, 0));
    const memo = new OverLimitMemo(clock.read, 2);
    memo.remember('old', 1000);
    clock.advance(2);
    memo.remember('live', 60_000);
    memo.remember('new', 60_000);
    assert.equal(memo.retryAfter('live'), 58, 'the expired entry made room');
    assert.equal(memo.retryAfter('new'), 58);
    memo.remember('newest', 60_000);
    assert.equal(memo.retryAfter('live'), undefined, 'full of live entries: forgotten');
    assert.equal(memo.retryAfter('newest'), 58);
  });
});

describe('memoryReplayGuard', () => {
  test('a key is admitted once and refused until its expiry, never a millisecond earlier', async () => {
    const clock = new TestClock();
    clock.now += 500; // mid-second: expiries are kept in whole seconds, rounded up
    const guard = memoryReplayGuard(clock.read, memoryRateLimiter(clock.read));
    const expiresAt = clock.now + 61_000;
    assert.equal((await guard.admit('key:sig-1', expiresAt, [])).fresh, true);
    assert.equal((await guard.admit('key:sig-1', expiresAt, [])).fresh, false);
    assert.equal((await guard.admit('key:sig-2', expiresAt, [])).fresh, true);
    clock.now += 60_999;
    assert.equal((await guard.admit('key:sig-1', expiresAt, [])).fresh, false);
    clock.now += 1001; // one second later than exact: the rounding kept it at most that long
    assert.equal((await guard.admit('key:sig-1', expiresAt, [])).fresh, true);
    await guard.close();
  });

  test('remembers 200,000 keys spread over many seconds of expiry, each refused once, and forgets each second whole', async () => {
    const clock = new TestClock();
    const guard = memoryReplayGuard(clock.read, memoryRateLimiter(clock.read), 200_000);
    const expiryOf = (i: number) => clock.now + 1_000 + (i % 120) * 1000;
    for (let i = 0; i < 200_000; i++) assert.equal((await guard.admit(`k${i}`, expiryOf(i), [])).fresh, true);
    for (let i = 0; i < 200_000; i += 7) assert.equal((await guard.admit(`k${i}`, expiryOf(i), [])).fresh, false);
    await assert.rejects(guard.admit('one-more', clock.now + 5_000, []), { code: 'unavailable' });
    clock.advance(1); // the first second's keys (i % 120 === 0) have expired: their room is free again
    assert.equal((await guard.admit('one-more', clock.now + 5_000, [])).fresh, true);
    assert.equal((await guard.admit('k0', expiryOf(0), [])).fresh, true, 'k0 again, with a new expiry: a new request');
    assert.equal((await guard.admit('k1', expiryOf(1) - 1_000, [])).fresh, false, 'k1 is still inside its window');
  });

  test('full of entries still inside their window, it refuses (fails closed) instead of forgetting them', async () => {
    const clock = new TestClock();
    const guard = memoryReplayGuard(clock.read, memoryRateLimiter(clock.read), 2);
    const expiresAt = clock.now + 61_000;
    await guard.admit('a', expiresAt, []);
    await guard.admit('b', expiresAt, []);
    assert.equal((await guard.admit('a', expiresAt, [])).fresh, false, 'full, a replay is still a replay');
    await assert.rejects(guard.admit('c', expiresAt, []), { code: 'unavailable' });
    clock.advance(62);
    assert.equal((await guard.admit('c', clock.now + 61_000, [])).fresh, true);
  });
});

describe('FingerprintSet', () => {
  test('keeps every fingerprint through its growth and tells new from seen, also where slots collide', () => {
    const set = new FingerprintSet(2);
    // Distinct highs; one in ten shares the low half that picks the slot, so probing walks long runs.
    const fingerprints = Array.from({ length: 20_000 }, (_, i) => {
      const n = i + 1;
      return [(n * 2654435761) >>> 0, n % 10 === 0 ? 7 : (n * 40503) >>> 0] as const;
    });
    for (const [high, low] of fingerprints) assert.equal(set.add(high, low), true);
    assert.equal(set.size, 20_000);
    for (const [high, low] of fingerprints) {
      assert.equal(set.has(high, low), true);
      assert.equal(set.add(high, low), false);
    }
    assert.equal(set.has(1, 1), false);
    assert.equal(set.size, 20_000);
  });

  test('(0, 0) marks an empty slot, so it is kept as (0, 1)', () => {
    const set = new FingerprintSet();
    assert.equal(set.has(0, 0), false);
    assert.equal(set.add(0, 0), true);
    assert.equal(set.has(0, 0), true);
    assert.equal(set.add(0, 1), false);
  });
});

describe('redisReplayGuard', { skip: testRedisUrl ? false : 'needs HANDOFF_TEST_REDIS_URL' }, () => {
  test('concurrent admissions are each atomic: one fresh claim per key, counters counted once per fresh request', async () => {
    const redis = new Redis(testRedisUrl as string);
    const prefix = `handoff-test-${randomUUID()}:`;
    try {
      const clock = new TestClock();
      const guard = redisReplayGuard(redis, prefix, clock.read);
      const expiresAt = clock.now + 61_000;
      const counters = [
        { key: 'partner:p', limit: 3, windowMs: 60_000 },
        { key: 'ip:1', limit: 0, windowMs: 60_000 }, // limit 0: not counted
      ];
      const answers = await Promise.all(
        ['a', 'b', 'a', 'c', 'd', 'b'].map((key) => guard.admit(key, expiresAt, counters)),
      );
      assert.deepEqual(
        answers.map((a) => a.fresh),
        [true, true, false, true, true, false],
      );
      assert.deepEqual(
        answers.map((a) => a.retryAfterSeconds === undefined),
        [true, true, true, true, false, true],
        'the fourth fresh request is over the partner limit of 3; replays count nothing',
      );
      assert.deepEqual(answers[4]?.overLimit, ['partner:p']);
      assert.equal(Number(await redis.get(`${prefix}rate:${rateWindow('partner:p', 60_000, clock.now).id}`)), 4);
      assert.equal((await redis.keys(`${prefix}rate:ip:1*`)).length, 0);
      const ttl = await redis.pttl(`${prefix}replay:a`);
      assert.ok(ttl > 60_000 && ttl <= 61_000, `replay key kept until the expiry (${ttl} ms)`);
      // A later turn sees the earlier claims.
      assert.equal((await guard.admit('c', expiresAt, [])).fresh, false);
      assert.equal((await guard.admit('e', expiresAt, [])).fresh, true);
    } finally {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
    }
  });

  test('the admissions of one turn of the event loop leave in one write, and each gets its own answer', async () => {
    const redis = new Redis(testRedisUrl as string, { enableAutoPipelining: false });
    const prefix = `handoff-test-${randomUUID()}:`;
    try {
      await redis.ping();
      const guard = redisReplayGuard(redis, prefix, Date.now);
      await guard.admit('warm', Date.now() + 61_000, []); // loads the script on this connection
      type Write = (...args: unknown[]) => unknown;
      const socket = redis.stream as unknown as { _write: Write; _writev: Write };
      const writes: number[] = [];
      const { _write, _writev } = socket;
      socket._write = function (...args: unknown[]) {
        writes.push(1);
        return _write.apply(this, args);
      };
      socket._writev = function (...args: unknown[]) {
        writes.push((args[0] as unknown[]).length);
        return _writev.apply(this, args);
      };
      const keys = Array.from({ length: 20 }, (_, i) => `k${i % 10}`);
      const counters = [{ key: 'partner:p', limit: 15, windowMs: 60_000 }];
      const answers = await Promise.all(keys.map((key) => guard.admit(key, Date.now() + 61_000, counters)));
      assert.deepEqual(writes, [20], 'one writev carrying the 20 commands');
      assert.deepEqual(
        answers.map((a) => a.fresh),
        keys.map((_, i) => i < 10),
      );
      assert.ok(answers.every((a) => a.retryAfterSeconds === undefined));
      const counter = `${prefix}rate:${rateWindow('partner:p', 60_000, Date.now()).id}`;
      assert.equal(Number(await redis.get(counter)), 10, 'the ten fresh requests counted, the replays not');
    } finally {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
    }
  });

  test('a Redis failure fails every admission closed', async () => {
    // Nothing listens on port 1: the connection is refused.
    const redis = new Redis('redis://127.0.0.1:1', {
      lazyConnect: true,
      enableOfflineQueue: false,
      retryStrategy: () => null,
    });
    redis.on('error', () => {});
    try {
      const guard = redisReplayGuard(redis, 'handoff-test:', Date.now);
      const answers = await Promise.allSettled(['x', 'y'].map((key) => guard.admit(key, Date.now() + 61_000, [])));
      assert.deepEqual(
        answers.map((a) => (a.status === 'rejected' ? (a.reason as { dependency?: string }).dependency : 'fulfilled')),
        ['redis', 'redis'],
      );
    } finally {
      redis.disconnect();
    }
  });
});
