import { randomBytes } from 'node:crypto';
import { type LocalHandoff, type PartnerAccount, startLocalHandoff } from '../../../examples/local-handoff.ts';
import { createTestDatabase, testDatabaseUrl, testRedisUrl } from '../../server/test/harness.ts';

export const storeName = testDatabaseUrl ? 'postgres+redis' : 'embedded';

/**
 * A real `handoff serve` on loopback for the SDK's tests: embedded store in a temporary directory, or, when the
 * suite runs on PostgreSQL + Redis, a fresh database and Redis prefix (dropped again by `stop`).
 */
export async function startServer(
  setup: (cli: LocalHandoff['cli'], partner: PartnerAccount) => Promise<void>,
): Promise<LocalHandoff> {
  const database = testDatabaseUrl ? await createTestDatabase(testDatabaseUrl) : undefined;
  const env: Record<string, string> = database
    ? {
        DATABASE_URL: database.url,
        HANDOFF_MASTER_KEY: randomBytes(32).toString('base64'),
        ...(testRedisUrl
          ? { REDIS_URL: testRedisUrl, HANDOFF_REDIS_PREFIX: `test:${randomBytes(6).toString('hex')}:` }
          : {}),
      }
    : {};
  try {
    const server = await startLocalHandoff({ env, setup });
    return {
      ...server,
      async stop() {
        await server.stop();
        await database?.drop();
      },
    };
  } catch (error) {
    await database?.drop();
    throw error;
  }
}

/**
 * A fetch that counts requests per `METHOD path`, lets a test see each answer, and can wait for the requests
 * still in flight (a background JWKS refresh, say).
 */
export function observedFetch(
  onAnswer?: (request: { method: string; path: string }, response: Response) => Promise<void>,
) {
  const counts = new Map<string, number>();
  const inFlight = new Set<Promise<unknown>>();
  const fetch = (async (input: URL | string, init?: RequestInit) => {
    const method = init?.method ?? 'GET';
    const path = new URL(String(input)).pathname;
    counts.set(`${method} ${path}`, (counts.get(`${method} ${path}`) ?? 0) + 1);
    const work = globalThis.fetch(input, init).then(async (response) => {
      await onAnswer?.({ method, path }, response.clone());
      return response;
    });
    inFlight.add(work);
    try {
      return await work;
    } finally {
      inFlight.delete(work);
    }
  }) as typeof globalThis.fetch;
  return {
    fetch,
    count: (key: string) => counts.get(key) ?? 0,
    settled: () => Promise.allSettled([...inFlight]),
  };
}
