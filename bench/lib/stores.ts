import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import { createScratchDatabase, deleteRedisPrefix } from '../../packages/server/test/scratch-stores.ts';

/** Where the bench's PostgreSQL and Redis are (the machine's own, on loopback, unless set). */
export const benchDatabaseUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const benchRedisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A fresh PostgreSQL database for one bench run; `drop()` removes it again (even with clients still connected). */
export const createDatabase = (adminUrl: string) => createScratchDatabase(adminUrl, 'handoff_bench');

export { deleteRedisPrefix };

export interface StoredLoginToken {
  uuid: string;
  token: string;
}

/**
 * Unspent login tokens for the redemption runs, written straight into `login_tokens` in a few multi-row
 * statements: issuing hundreds of thousands through the API first would take as long as the run itself.
 * Stored as Handoff stores them (SHA-256 hex of the token), bound to partner and user, one hour to live.
 */
export async function insertLoginTokens(
  databaseUrl: string,
  partnerId: string,
  participantIds: readonly string[],
  count: number,
): Promise<StoredLoginToken[]> {
  const tokens: StoredLoginToken[] = [];
  for (let i = 0; i < count; i++) {
    tokens.push({
      uuid: participantIds[i % participantIds.length] as string,
      token: randomBytes(32).toString('base64url'),
    });
  }
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    for (let start = 0; start < tokens.length; start += 20_000) {
      const chunk = tokens.slice(start, start + 20_000);
      await client.query(
        `INSERT INTO login_tokens (token_hash, partner_id, participant_id, created_at, expires_at)
         SELECT h, $1, p, now(), now() + interval '1 hour' FROM unnest($2::text[], $3::uuid[]) AS t(h, p)`,
        [partnerId, chunk.map((t) => createHash('sha256').update(t.token).digest('hex')), chunk.map((t) => t.uuid)],
      );
    }
  } finally {
    await client.end();
  }
  return tokens;
}
