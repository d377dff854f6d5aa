import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect } from 'kysely';
import { type Migration, Migrator } from 'kysely/migration';
import pg from 'pg';
import * as core from './migrations/0001-core.ts';
import * as partnerApi from './migrations/0002-partner-api.ts';
import * as pages from './migrations/0003-pages.ts';
import * as participantChanges from './migrations/0004-participant-changes.ts';
import { pglitePool } from './pglite-pool.ts';
import { preparedStatementName } from './prepared.ts';
import type { Database } from './schema.ts';

export type Db = Kysely<Database>;

export interface DatabaseHandle {
  db: Db;
  kind: 'postgres' | 'pglite';
  close(): Promise<void>;
}

// Versioned migrations, in order; a name once released never changes.
const migrations: Record<string, Migration> = {
  '0001-core': core,
  '0002-partner-api': partnerApi,
  '0003-pages': pages,
  '0004-participant-changes': participantChanges,
};

export interface OpenDatabaseOptions {
  /** postgres://… ; undefined = embedded PGlite. */
  databaseUrl: string | undefined;
  /** PGlite data directory; undefined with no databaseUrl = in memory (tests). */
  pgliteDir?: string | undefined;
  poolSize?: number;
  timeoutMs?: number;
}

// timestamptz, json and jsonb are parsed the same way as PGlite parses them (Date, objects); int8 stays a string.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => value);

/**
 * Every statement of a pooled client goes through here. Our compiled hot statements run as named prepared
 * statements (see preparedQuery). A statement that timed out on our side (query_timeout) leaves its connection
 * waiting for an answer that may never come, and pg queues every later statement behind it: a transaction's
 * ROLLBACK would wait a second timeout, the next request a third. Such a connection is closed at once instead; the
 * pool then discards it on release.
 */
function wrapQuery(client: pg.PoolClient): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  Object.assign(client, {
    query: (...args: unknown[]) => {
      const name = typeof args[0] === 'string' ? preparedStatementName(args[0]) : undefined;
      const result = name ? query({ name, text: args[0], values: args[1] }) : query(...args);
      if (result instanceof Promise) {
        result.catch((error: unknown) => {
          if ((error as Error).message === 'Query read timeout') client.end().catch(() => {});
        });
      }
      return result;
    },
  });
}

export async function openDatabase(options: OpenDatabaseOptions): Promise<DatabaseHandle> {
  if (options.databaseUrl) {
    const timeoutMs = options.timeoutMs ?? 2000;
    const pool = new pg.Pool({
      connectionString: options.databaseUrl,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: timeoutMs,
      statement_timeout: timeoutMs * 2,
      query_timeout: timeoutMs * 2,
      idleTimeoutMillis: 30_000,
    });
    // An idle client losing its connection must not crash the process; the next query reports it.
    pool.on('error', () => {});
    // Nor may a checked-out one between two statements (pg emits on the client, with no listener, and the process
    // dies): the statement in flight or the next one fails instead, and the pool discards the client on release.
    pool.on('connect', (client) => {
      client.on('error', () => {});
      wrapQuery(client);
    });
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    return { db, kind: 'postgres', close: () => db.destroy() };
  }
  // PostgreSQL's default 128 MB of shared buffers is memory a WebAssembly instance never gives back; the tables
  // of one embedded deployment are small and the data directory's files stay in the OS page cache. Each new WAL
  // segment would be zero-filled first: 16 MB written through the emulated file system, ~55 ms with the event loop
  // stopped, every ~36,000 audit rows once the WAL has grown (bench/README.md, change 32).
  const pglite = new PGlite({
    ...(options.pgliteDir ? { dataDir: path.join(options.pgliteDir, 'pgdata') } : {}),
    startParams: [
      ...PGlite.defaultStartParams,
      ...['shared_buffers=16MB', 'wal_buffers=4MB', 'wal_init_zero=off'].flatMap((setting) => ['-c', setting]),
    ],
  });
  await pglite.waitReady;
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: pglitePool(pglite) }) });
  return { db, kind: 'pglite', close: () => db.destroy() };
}

/** Applies pending migrations; returns the names applied. */
export async function migrate(db: Db): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    migrationTableName: 'handoff_migrations',
    migrationLockTableName: 'handoff_migrations_lock',
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error;
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
