import type { Compilable, CompiledQuery, QueryResult } from 'kysely';
import type { Db } from './database.ts';

/** SQL text of every compiled hot statement → its server-side prepared statement name (`databaseStore` uses it). */
const statementNames = new Map<string, string>();

/**
 * The name under which PostgreSQL connections prepare this statement, if it is one of ours: parsed and planned
 * once per connection instead of on every execution (the login-token statements join three tables).
 */
export const preparedStatementName = (sql: string): string | undefined => statementNames.get(sql);

/**
 * A query built and compiled once, then run with each call's parameters. Kysely builds and compiles a query on
 * every call (on the login-token path that was ~15% of the event loop); on the hot paths only the values change.
 * `build` receives a query builder and `param(name)`, a marker to put wherever a value goes; each marker becomes
 * one bind parameter, found again by identity after compilation, whatever order the compiler gave them. Every
 * store speaks Kysely's PostgreSQL dialect (PGlite too), so one compiled form serves all.
 */
export function preparedQuery<P extends object, R>(
  build: (db: Db, param: <T = string>(name: keyof P & string) => T) => Compilable<R>,
): (db: Db, params: P) => Promise<QueryResult<R>> {
  let compiled: { query: CompiledQuery<R>; values: Array<(params: P) => unknown> } | undefined;
  return (db, params) => {
    if (!compiled) {
      const markers = new Map<string, keyof P>();
      const param = <T>(name: keyof P & string): T => {
        const marker = `\u0000param:${name}`;
        markers.set(marker, name);
        return marker as T;
      };
      const query = build(db, param).compile();
      // A parameter that is not a marker is a constant of the query (e.g. `status = 'linked'`): kept as compiled.
      const values = query.parameters.map((value) => {
        const name = typeof value === 'string' ? markers.get(value) : undefined;
        return name === undefined ? () => value : (given: P) => given[name];
      });
      compiled = { query, values };
      if (!statementNames.has(query.sql)) statementNames.set(query.sql, `handoff_${statementNames.size + 1}`);
    }
    const { query, values } = compiled;
    return db.executeQuery<R>({ ...query, parameters: values.map((value) => value(params)) });
  };
}
