import { Redis } from 'ioredis';
import pg from 'pg';
import type { Logger } from 'pino';
import { AuditLog } from './audit/audit-log.ts';
import { LookupCache } from './cache/lookup-cache.ts';
import { OverLimitMemo } from './cache/over-limit-memo.ts';
import { memoryRateLimiter, redisRateLimiter } from './cache/rate-limiter.ts';
import { memoryReplayGuard, redisReplayGuard } from './cache/replay-guard.ts';
import type { Config } from './config.ts';
import type { AppContext } from './context.ts';
import { ensureSigningKey, KeyRing } from './crypto/signing-keys.ts';
import { createMetrics } from './metrics.ts';
import { findApiKeyByHash } from './store/api-keys.ts';
import { findHmacCredential } from './store/credentials.ts';
import { lockDataDir, readOrCreateMasterKey } from './store/data-dir.ts';
import { migrate, openDatabase } from './store/database.ts';
import { listenForParticipantChanges } from './store/participant-changes.ts';
import { findParticipantByCode, type Participant, splitParticipantKey } from './store/participants.ts';

export class StartupError extends Error {
  override name = 'StartupError';
}

export interface OpenStoreOptions {
  /** What holds the embedded store's lock, shown to a second process. */
  command: string;
  /** Tests: an in-memory PGlite instead of the data directory. */
  inMemory?: boolean;
}

/** Database + master key, as the CLI and the server both need them. Embedded: data-dir lock, key file, migrations. */
export async function openStore(config: Config, options: OpenStoreOptions) {
  const releases: Array<() => Promise<void> | void> = [];
  let masterKey = config.masterKey;
  if (!config.databaseUrl && !options.inMemory) {
    releases.push(lockDataDir(config.dataDir, options.command));
    masterKey ??= readOrCreateMasterKey(config.dataDir);
  }
  if (!masterKey) throw new StartupError('HANDOFF_MASTER_KEY is required');
  try {
    const handle = await openDatabase({
      databaseUrl: config.databaseUrl,
      pgliteDir: options.inMemory ? undefined : config.dataDir,
      poolSize: config.databasePoolSize,
      timeoutMs: config.dependencyTimeoutMs,
    });
    releases.unshift(() => handle.close());
    return {
      db: handle.db,
      kind: handle.kind,
      masterKey,
      async close() {
        for (const release of releases) await release();
      },
    };
  } catch (error) {
    for (const release of releases) await release();
    throw error;
  }
}

// One advisory lock id: instances with Redis hold it shared, an instance without Redis holds it exclusively.
const instanceLockId = 7243002;

/**
 * On PostgreSQL, instances without Redis would each keep their own replay and rate-limit state, so such an
 * instance must be alone. A session-level advisory lock on a dedicated connection enforces that.
 */
async function claimInstanceSlot(config: Config): Promise<() => Promise<void>> {
  const client = new pg.Client({
    connectionString: config.databaseUrl,
    connectionTimeoutMillis: config.dependencyTimeoutMs,
  });
  client.on('error', () => {});
  await client.connect();
  const shared = config.redisUrl !== undefined;
  const { rows } = await client.query<{ ok: boolean }>(
    shared ? 'SELECT pg_try_advisory_lock_shared($1) AS ok' : 'SELECT pg_try_advisory_lock($1) AS ok',
    [instanceLockId],
  );
  if (!rows[0]?.ok) {
    await client.end();
    throw new StartupError(
      shared
        ? 'another Handoff instance runs on this database without REDIS_URL; give every instance the same REDIS_URL'
        : 'another Handoff instance already runs on this database; without REDIS_URL replay and rate-limit state would be per instance, so set REDIS_URL on every instance to run several',
    );
  }
  return () => client.end();
}

export interface ServerContext {
  ctx: AppContext;
  close(): Promise<void>;
}

/** The composition root's first half: config → store, cache, keys → a context for buildApp. */
export async function openServerContext(
  config: Config,
  options: { logger: Logger; clock?: () => number; inMemory?: boolean; command?: string },
): Promise<ServerContext> {
  const clock = options.clock ?? Date.now;
  const closers: Array<() => Promise<void> | void> = [];
  const closeAll = async () => {
    for (const close of closers.reverse()) {
      try {
        await close();
      } catch (error) {
        options.logger.warn({ err: error }, 'error while closing');
      }
    }
  };
  try {
    const store = await openStore(config, { command: options.command ?? 'serve', inMemory: options.inMemory ?? false });
    closers.push(() => store.close());
    await migrate(store.db);
    if (store.kind === 'postgres') closers.push(await claimInstanceSlot(config));

    let redis: Redis | undefined;
    if (config.redisUrl) {
      const client = new Redis(config.redisUrl, {
        lazyConnect: true,
        connectTimeout: config.dependencyTimeoutMs,
        commandTimeout: config.dependencyTimeoutMs,
        maxRetriesPerRequest: 1,
        // Fail fast while disconnected instead of queueing requests behind a dead connection.
        enableOfflineQueue: false,
        retryStrategy: (times) => Math.min(times * 100, 1000),
        // The hot paths' commands of one turn of the event loop share one write through holdWritesForTurn
        // (cache/redis-writes.ts) instead: ioredis's pipelines cost more in garbage collection.
        enableAutoPipelining: false,
      });
      client.on('error', () => {});
      await client.connect();
      redis = client;
      closers.push(() =>
        client.quit().then(
          () => undefined,
          () => client.disconnect(),
        ),
      );
    }

    const keyRing = new KeyRing(store.db, store.masterKey, clock);
    await ensureSigningKey(store.db, store.masterKey, config.signingAlg, clock);
    await keyRing.load();
    keyRing.startRefresh(config.keyRefreshSeconds, (error) =>
      options.logger.warn({ err: error }, 'key refresh failed'),
    );
    closers.push(() => keyRing.stop());
    if (keyRing.signingKey().alg !== config.signingAlg) {
      options.logger.warn(
        { active: keyRing.signingKey().alg, configured: config.signingAlg },
        'the active signing key uses another algorithm; run `handoff keys rotate` to switch',
      );
    }

    const audit = new AuditLog(store.db, options.logger);
    closers.push(() => audit.close());
    const credentialMs = config.credentialCacheSeconds * 1000;
    const rateLimiter = redis ? redisRateLimiter(redis, config.redisPrefix, clock) : memoryRateLimiter(clock);
    // Misses are not kept: a user created a moment ago must be found at once.
    const participants = new LookupCache<Participant>(
      (key) => findParticipantByCode(store.db, ...splitParticipantKey(key)),
      clock,
      { ttlMs: config.participantCacheSeconds * 1000, cacheMisses: false, max: 100_000 },
    );
    if (config.databaseUrl && config.participantCacheSeconds > 0) {
      // PostgreSQL has other writers: each change is announced when it commits, and drops the cached copy.
      const listener = await listenForParticipantChanges(config.databaseUrl, config.dependencyTimeoutMs, {
        changed: (key) => participants.invalidate(key),
        lost: () => participants.suspend(),
        restored: () => participants.resume(),
      });
      closers.push(() => listener.close());
    }
    const ctx: AppContext = {
      config,
      db: store.db,
      dbKind: store.kind,
      redis,
      masterKey: store.masterKey,
      keyRing,
      credentials: new LookupCache((apiKey) => findHmacCredential(store.db, store.masterKey, apiKey), clock, {
        ttlMs: credentialMs,
        cacheMisses: true,
      }),
      apiKeys: new LookupCache((keyHash) => findApiKeyByHash(store.db, keyHash), clock, {
        ttlMs: credentialMs,
        cacheMisses: true,
      }),
      participants,
      replayGuard: redis ? redisReplayGuard(redis, config.redisPrefix, clock) : memoryReplayGuard(clock, rateLimiter),
      rateLimiter,
      overLimit: new OverLimitMemo(clock),
      audit,
      metrics: createMetrics({ auditPending: () => audit.pending }),
      logger: options.logger,
      clock,
    };
    return { ctx, close: closeAll };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
