import type { PGlite } from '@electric-sql/pglite';
import type { PostgresPool, PostgresPoolClient, PostgresQueryResult } from 'kysely';

/**
 * Presents one embedded PGlite database as the tiny `pg.Pool` subset Kysely's PostgresDialect needs, so the
 * embedded store runs the very same SQL as PostgreSQL. PGlite is a single connection: `connect()` hands it out
 * to one caller at a time, which keeps Kysely transactions isolated from concurrent requests.
 */
export function pglitePool(database: PGlite): PostgresPool {
  let tail: Promise<void> = Promise.resolve();

  const client = (release: () => void): PostgresPoolClient =>
    ({
      async query<R>(sql: string, parameters: readonly unknown[]): Promise<PostgresQueryResult<R>> {
        // Parameterless SQL may hold several statements (migrations); only the simple protocol (exec) takes those.
        const result =
          parameters.length === 0
            ? ((await database.exec(sql)).at(-1) ?? { rows: [], affectedRows: 0 })
            : await database.query<R>(sql, parameters as unknown[]);
        const command = (/^\s*(\w+)/.exec(sql)?.[1] ?? 'SELECT').toUpperCase() as PostgresQueryResult<R>['command'];
        return { command, rowCount: result.affectedRows ?? result.rows.length, rows: result.rows as R[] };
      },
      release,
    }) as unknown as PostgresPoolClient;

  return {
    options: {},
    async connect() {
      let release!: () => void;
      const turn = new Promise<void>((resolve) => {
        release = resolve;
      });
      const previous = tail;
      tail = tail.then(() => turn);
      await previous;
      return client(release);
    },
    async end() {
      await tail;
      await database.close();
    },
  };
}
