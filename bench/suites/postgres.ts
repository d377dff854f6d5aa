import { randomBytes } from 'node:crypto';
import { benchEnv, createFixtures, type Env, type Fixtures, type HandoffServer, startScript } from '../lib/handoff.ts';
import {
  alternate,
  type BenchSettings,
  type Contender,
  type LoadTarget,
  measure,
  type PairedLoad,
} from '../lib/measure.ts';
import type { Paired, Row, RowId, Soak } from '../lib/report.ts';
import { cyclingPool, fixedPool, type RequestPool, type RequestSpec, SignedRequestSource } from '../lib/requests.ts';
import { createDatabase, deleteRedisPrefix, insertLoginTokens } from '../lib/stores.ts';
import { checkLoginToken, checkLoginWithToken, expect, send } from '../lib/verify.ts';
import { checkClientTokens, clientTokenTarget, soak, startServer, stopServer } from './handoff-servers.ts';
import { type ReferenceServer, startBareHttp, startMinimalHotPath, startOidcPeer } from './reference-servers.ts';

export interface PostgresOptions {
  adminUrl: string;
  redisUrl: string;
  users: number;
  /** Length of each of the two memory-soak loads (0 = none). */
  soakSeconds: number;
  /** The one-setting variants of the production shape (full runs). */
  variants: boolean;
  /**
   * Rounds of servers loaded in turn (0 = none): the production shape with bare node:http and node-oidc-provider,
   * login tokens with the bare INSERT / UPDATE server.
   */
  pairedRounds: number;
  pairedSeconds: number;
  wanted(id: RowId): boolean;
}

/** Users with a linked identifier, for the partner API's `User-Identifier` authentication. */
const identifiedUsers = 50;

/** Distinct unspent login tokens, redeemed once each: `POST path` with `{"uuid","token"}`. */
export async function redemptionPool(
  databaseUrl: string,
  fixtures: Fixtures,
  path: string,
  headers: Record<string, string>,
  count: number,
): Promise<RequestPool> {
  const owners = fixtures.users.slice(0, identifiedUsers).map((u) => u.uuid);
  const tokens = await insertLoginTokens(databaseUrl, fixtures.partnerId, owners, count);
  return {
    count: tokens.length,
    cycle: false,
    at: (i) => {
      const { uuid, token } = tokens[i] as { uuid: string; token: string };
      return {
        method: 'POST',
        path,
        headers: { 'Content-Type': 'application/json', ...headers },
        body: JSON.stringify({ uuid, token }),
      };
    },
  };
}

export interface ProductionStore {
  database: { url: string };
  /** The servers' environment: this database, Redis under a prefix of its own, a master key. */
  env: Env;
  fixtures: Fixtures;
  source: SignedRequestSource;
  apiKey: { 'X-Api-Key': string };
  /** Drops the database and deletes the Redis prefix. */
  close(): Promise<void>;
}

/** A fresh database and Redis prefix with the partner and `users` users (the first 50 with an identifier). */
export async function openProductionStore(adminUrl: string, redisUrl: string, users: number): Promise<ProductionStore> {
  const database = await createDatabase(adminUrl);
  const prefix = `bench:${randomBytes(5).toString('hex')}:`;
  const close = async () => {
    await database.drop();
    await deleteRedisPrefix(redisUrl, prefix);
  };
  try {
    const env: Env = {
      ...benchEnv,
      DATABASE_URL: database.url,
      REDIS_URL: redisUrl,
      HANDOFF_REDIS_PREFIX: prefix,
      HANDOFF_MASTER_KEY: randomBytes(32).toString('base64'),
    };
    const fixtures = await createFixtures(env, users, identifiedUsers);
    const source = SignedRequestSource.forFixtures(fixtures);
    return { database, env, fixtures, source, apiKey: { 'X-Api-Key': fixtures.partner.api_key }, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** `GET /api/v1/user/login-token` for each identified user, authenticated with the partner's API key. */
export const loginTokenRequests = ({ fixtures, apiKey }: ProductionStore): RequestSpec[] =>
  fixtures.users.slice(0, identifiedUsers).map((u) => ({
    method: 'GET',
    path: '/api/v1/user/login-token',
    headers: { ...apiKey, 'User-Identifier': u.identifier as string },
  }));

/**
 * The production shape (PostgreSQL + Redis) in a fresh database: client access tokens on one and on two instances,
 * login tokens issued and redeemed, each next to node:http doing only the essential SQL statement.
 */
export async function benchPostgres(
  settings: BenchSettings,
  options: PostgresOptions,
): Promise<{ rows: Row[]; soaks: Soak[]; paired: Paired['groups'] }> {
  const store = await openProductionStore(options.adminUrl, options.redisUrl, options.users);
  const rows: Row[] = [];
  const soaks: Soak[] = [];
  // Each group of servers loaded in turn: their loads (req/s, p99) round by round, by row id.
  const paired: Paired['groups'] = [];
  try {
    const { database, env, fixtures, source, apiKey } = store;

    if (
      options.wanted('handoff-pg-redis') ||
      options.wanted('handoff-login-token') ||
      options.wanted('handoff-login-with-token')
    ) {
      const server = await startServer(settings, 'handoff pg+redis', env);
      try {
        if (options.wanted('handoff-pg-redis')) {
          await checkClientTokens(server, source, fixtures);
          const target = clientTokenTarget([server], source);
          const measured = await measure(settings, 'handoff-pg-redis', target);
          rows.push({
            id: 'handoff-pg-redis',
            label: 'Handoff POST /client_auth_token, PostgreSQL + Redis, audit on',
            comparedWith: 'oidc-provider',
            ...measured,
          });
          if (options.soakSeconds > 0) {
            const result = await soak(settings, 'handoff-pg-redis', target, measured.rps, options.soakSeconds);
            soaks.push({ id: 'handoff-pg-redis', ...result });
          }
          if (options.pairedRounds > 0 && options.wanted('bare-http') && options.wanted('oidc-provider'))
            paired.push(await pairedRounds(settings, options, store, target, measured.rps));
        }

        const issueRequests = loginTokenRequests(store);
        const first = fixtures.users[0] as Fixtures['users'][number];
        const issued = await checkLoginToken(server.origin, issueRequests[0] as RequestSpec, first.uuid);
        const redeem = (token: string): RequestSpec => ({
          method: 'POST',
          path: '/api/v2/user/login-with-token',
          headers: { 'Content-Type': 'application/json', ...apiKey },
          body: JSON.stringify({ uuid: first.uuid, token }),
        });
        await checkLoginWithToken(server.origin, redeem(issued), first.uuid);

        const base = { origins: [server.origin], pids: [server.process.pid] };
        const issueTarget: LoadTarget = { ...base, pool: () => cyclingPool(issueRequests) };
        const redeemTarget: LoadTarget = {
          ...base,
          pool: (_i, seconds, rps) =>
            redemptionPool(
              database.url,
              fixtures,
              '/api/v2/user/login-with-token',
              apiKey,
              Math.ceil(rps * seconds) + 500,
            ),
        };
        const loginRates: Partial<Record<RowId, number>> = {};
        if (options.wanted('handoff-login-token')) {
          const measured = await measure(settings, 'handoff-login-token', issueTarget);
          loginRates['handoff-login-token'] = measured.rps;
          rows.push({
            id: 'handoff-login-token',
            label: 'Handoff GET /api/v1/user/login-token (X-Api-Key + User-Identifier)',
            comparedWith: 'bare-pg-insert',
            ...measured,
          });
        }
        if (options.wanted('handoff-login-with-token')) {
          const measured = await measure(settings, 'handoff-login-with-token', redeemTarget);
          loginRates['handoff-login-with-token'] = measured.rps;
          rows.push({
            id: 'handoff-login-with-token',
            label: 'Handoff POST /api/v2/user/login-with-token (X-Api-Key)',
            comparedWith: 'bare-pg-update',
            ...measured,
          });
        }
        const issueRps = loginRates['handoff-login-token'];
        const redeemRps = loginRates['handoff-login-with-token'];
        if (
          options.pairedRounds > 0 &&
          issueRps !== undefined &&
          redeemRps !== undefined &&
          options.wanted('bare-pg-insert') &&
          options.wanted('bare-pg-update')
        ) {
          const bare = await startBarePostgres(database.url, fixtures);
          try {
            const rounds = async (contenders: Contender[]) =>
              alternate(settings, contenders, options.pairedRounds, options.pairedSeconds);
            const issue = await rounds([
              { id: 'bare-pg-insert', target: bare.insert, rps: 0 },
              { id: 'handoff-login-token', target: issueTarget, rps: issueRps },
            ]);
            const redeem = await rounds([
              { id: 'bare-pg-update', target: bare.update, rps: redeemRps * 1.5 },
              { id: 'handoff-login-with-token', target: redeemTarget, rps: redeemRps },
            ]);
            paired.push({ ...issue, ...redeem });
          } finally {
            await bare.server.process.stop();
          }
        }
      } finally {
        await stopServer(settings, server);
      }
    }

    if (options.wanted('bare-pg-insert') || options.wanted('bare-pg-update')) {
      rows.push(...(await benchBarePostgres(settings, database.url, fixtures)));
    }

    if (options.wanted('handoff-pg-redis-x2')) {
      const servers = [await startServer(settings, 'handoff pg+redis #1', env)];
      try {
        servers.push(await startServer(settings, 'handoff pg+redis #2', env));
        for (const server of servers) await checkClientTokens(server, source, fixtures);
        const measured = await measure(settings, 'handoff-pg-redis-x2', clientTokenTarget(servers, source));
        rows.push({
          id: 'handoff-pg-redis-x2',
          label: 'Handoff POST /client_auth_token, 2 instances, PostgreSQL + Redis',
          comparedWith: 'handoff-pg-redis',
          ...measured,
        });
      } finally {
        for (const server of servers) await stopServer(settings, server);
      }
    }

    // The production shape with one setting changed: what that setting costs.
    const variants: Array<{ id: RowId; label: string; env: Env }> = [
      {
        id: 'handoff-pg-redis-info-logs',
        label: 'the same, HANDOFF_LOG_LEVEL=info (a log line per request)',
        env: { HANDOFF_LOG_LEVEL: 'info' },
      },
      {
        id: 'handoff-pg-redis-no-cache',
        label: 'the same, HANDOFF_PARTICIPANT_CACHE_SECONDS=0 (a PostgreSQL read per request, as for distinct users)',
        env: { HANDOFF_PARTICIPANT_CACHE_SECONDS: '0' },
      },
    ];
    for (const variant of variants) {
      if (!options.variants || !options.wanted(variant.id)) continue;
      const server = await startServer(settings, variant.id, { ...env, ...variant.env });
      try {
        await checkClientTokens(server, source, fixtures);
        const measured = await measure(settings, variant.id, clientTokenTarget([server], source));
        rows.push({ id: variant.id, label: variant.label, comparedWith: 'handoff-pg-redis', ...measured });
      } finally {
        await stopServer(settings, server);
      }
    }
    return { rows, soaks, paired };
  } finally {
    await store.close();
  }
}

interface BarePostgres {
  server: HandoffServer;
  insert: LoadTarget;
  update: LoadTarget;
}

/**
 * node:http doing only the essential statement, on the same table and pool size: one INSERT of a login token, or
 * one spend (conditional UPDATE).
 */
async function startBarePostgres(databaseUrl: string, fixtures: Fixtures): Promise<BarePostgres> {
  const owner = fixtures.users[0] as Fixtures['users'][number];
  const server = await startScript(
    'bare node:http + PostgreSQL',
    'bare-postgres.ts',
    {
      DATABASE_URL: databaseUrl,
      BENCH_PARTNER_ID: fixtures.partnerId,
      BENCH_PARTICIPANT_ID: owner.uuid,
    },
    '/health',
  );
  try {
    const insert: RequestSpec = { method: 'GET', path: '/insert', headers: {} };
    const inserted = await send(server.origin, insert);
    expect(
      inserted.status === 200 && typeof inserted.json?.token === 'string',
      `GET /insert answered ${inserted.status}`,
    );
    const spend: RequestSpec = {
      method: 'POST',
      path: '/update',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ uuid: owner.uuid, token: inserted.json.token }),
    };
    expect((await send(server.origin, spend)).status === 200, 'the first UPDATE did not spend the token');
    expect((await send(server.origin, spend)).status === 400, 'the second UPDATE spent the token again');
    const base = { origins: [server.origin], pids: [server.process.pid] };
    return {
      server,
      insert: { ...base, pool: () => fixedPool(insert) },
      update: {
        ...base,
        pool: (_i, seconds, rps) =>
          redemptionPool(databaseUrl, fixtures, '/update', {}, Math.ceil(rps * seconds) + 500),
      },
    };
  } catch (error) {
    await server.process.stop();
    throw error;
  }
}

async function benchBarePostgres(settings: BenchSettings, databaseUrl: string, fixtures: Fixtures): Promise<Row[]> {
  const bare = await startBarePostgres(databaseUrl, fixtures);
  try {
    return [
      {
        id: 'bare-pg-insert',
        label: 'bare node:http + one PostgreSQL INSERT',
        ...(await measure(settings, 'bare-pg-insert', bare.insert)),
      },
      {
        id: 'bare-pg-update',
        label: 'bare node:http + one conditional PostgreSQL UPDATE',
        ...(await measure(settings, 'bare-pg-update', bare.update)),
      },
    ];
  } finally {
    await bare.server.process.stop();
  }
}

/**
 * The production shape, bare node:http, the peer and the issue's minimal hot path up together, loaded in turn (see
 * `alternate`).
 */
async function pairedRounds(
  settings: BenchSettings,
  options: PostgresOptions,
  store: ProductionStore,
  handoff: LoadTarget,
  handoffRps: number,
): Promise<Partial<Record<RowId, PairedLoad[]>>> {
  const references: ReferenceServer[] = [];
  try {
    // One at a time, so a reference that fails to start leaves the ones before it to be stopped below.
    references.push(await startBareHttp());
    references.push(await startOidcPeer());
    references.push(
      await startMinimalHotPath(store.fixtures, options.redisUrl, store.env.HANDOFF_REDIS_PREFIX as string),
    );
    const [bare, peer, minimal] = references as [ReferenceServer, ReferenceServer, ReferenceServer];
    return await alternate(
      settings,
      [
        { id: 'bare-http', target: bare.target, rps: 0 },
        { id: 'oidc-provider', target: peer.target, rps: 0 },
        // Its pools of distinct requests are sized from this estimate until it has been measured.
        { id: 'minimal-hot-path', target: minimal.target, rps: handoffRps * 2 },
        { id: 'handoff-pg-redis', target: handoff, rps: handoffRps },
      ],
      options.pairedRounds,
      options.pairedSeconds,
    );
  } finally {
    for (const reference of references) await reference.server.process.stop();
  }
}
