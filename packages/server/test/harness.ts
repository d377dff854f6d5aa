import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { createPartnerAccount, createUser, type NewPartnerAccount, type NewUserInput } from '../src/admin/accounts.ts';
import { buildApp } from '../src/app.ts';
import { type Config, parseConfig } from '../src/config.ts';
import type { AppContext } from '../src/context.ts';
import { createLogger } from '../src/logger.ts';
import { openServerContext } from '../src/server.ts';
import type { Participant } from '../src/store/participants.ts';
import { type Credential, signHeaders } from './partner-signing.ts';
import { createScratchDatabase } from './scratch-stores.ts';

/** PostgreSQL and Redis under test when these are set (.ci/run sets them); otherwise embedded PGlite + memory. */
export const testDatabaseUrl = process.env.HANDOFF_TEST_DATABASE_URL || undefined;
export const testRedisUrl = process.env.HANDOFF_TEST_REDIS_URL || undefined;
export const storeName = testDatabaseUrl ? 'postgres+redis' : 'pglite';

/** A clock the test moves by hand: expiry and time windows are tested without sleeping. */
export class TestClock {
  now: number;
  constructor(start = Date.UTC(2026, 10, 23, 12, 0, 0)) {
    this.now = start;
  }
  advance(seconds: number): void {
    this.now += seconds * 1000;
  }
  get seconds(): number {
    return Math.floor(this.now / 1000);
  }
  readonly read = (): number => this.now;
}

/** A fresh, empty PostgreSQL database for one test file; dropped again by the returned function. */
export const createTestDatabase = (adminUrl: string) => createScratchDatabase(adminUrl, 'handoff_test');

/** Captures log lines so tests can assert what never appears in them. */
export class LogCapture extends Writable {
  lines: string[] = [];
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.lines.push(chunk.toString());
    done();
  }
  get text(): string {
    return this.lines.join('');
  }
}

export function testConfig(env: Record<string, string> = {}): Config {
  const parsed = parseConfig({
    HANDOFF_MASTER_KEY: randomBytes(32).toString('base64'),
    HANDOFF_PUBLIC_URL: 'http://handoff.test',
    HANDOFF_LOG_LEVEL: 'silent',
    ...env,
  });
  if (parsed.errors) throw new Error(parsed.errors.join('\n'));
  return parsed.config;
}

export interface TestApp {
  app: FastifyInstance;
  ctx: AppContext;
  clock: TestClock;
  logs: LogCapture;
  createPartner(input?: { name?: string; platformCode?: string }): Promise<NewPartnerAccount>;
  createUser(input: Omit<NewUserInput, 'email'> & { email?: string | null }): Promise<Participant>;
  close(): Promise<void>;
}

/**
 * The real app on the store under test (PGlite in memory, or a fresh PostgreSQL database + Redis prefix),
 * with an injected clock and captured logs. Requests go through fastify's inject().
 */
export async function startTestApp(
  options: { env?: Record<string, string>; clock?: TestClock } = {},
): Promise<TestApp> {
  const clock = options.clock ?? new TestClock();
  const database = testDatabaseUrl ? await createTestDatabase(testDatabaseUrl) : undefined;
  const config = testConfig({
    ...(database ? { DATABASE_URL: database.url } : {}),
    ...(testDatabaseUrl && testRedisUrl
      ? { REDIS_URL: testRedisUrl, HANDOFF_REDIS_PREFIX: `test:${randomBytes(6).toString('hex')}:` }
      : {}),
    HANDOFF_LOG_LEVEL: 'info',
    ...options.env,
  });
  const logs = new LogCapture();
  const server = await openServerContext(config, {
    logger: createLogger(config, logs),
    clock: clock.read,
    inMemory: !database,
  });
  const app = buildApp(server.ctx);
  await app.ready();
  let userCount = 0;
  return {
    app,
    ctx: server.ctx,
    clock,
    logs,
    createPartner: (input = {}) =>
      createPartnerAccount(server.ctx.db, server.ctx.masterKey, {
        name: input.name ?? 'Test Platform',
        ...(input.platformCode ? { platformCode: input.platformCode } : {}),
      }),
    createUser: (input) =>
      createUser(
        server.ctx.db,
        { ...input, email: input.email === undefined ? `user${++userCount}@example.com` : input.email },
        new Date(clock.now),
      ),
    async close() {
      await app.close();
      await server.close();
      await database?.drop();
    },
  };
}

export { type Credential, signHeaders } from './partner-signing.ts';

/**
 * A correctly signed JSON request through inject(). Without an explicit timestamp the clock then moves one
 * second, so identical requests in a row are distinct signatures rather than replays (as the SDK does).
 */
export async function signedRequest(
  t: TestApp,
  credential: Credential,
  path: string,
  body: unknown,
  options: { timestamp?: number; headers?: Record<string, string>; rawBody?: string; method?: 'POST' | 'GET' } = {},
) {
  const raw = options.rawBody ?? (body === undefined ? undefined : JSON.stringify(body));
  const method = options.method ?? 'POST';
  const headers = {
    ...(raw === undefined ? {} : { 'content-type': 'application/json' }),
    ...signHeaders(credential, method, path, raw, options.timestamp ?? t.clock.seconds),
    ...options.headers,
  };
  const response = await t.app.inject({ method, url: path, headers, ...(raw === undefined ? {} : { payload: raw }) });
  if (options.timestamp === undefined) t.clock.advance(1);
  return response;
}
