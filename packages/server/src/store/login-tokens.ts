import { type QueryCreator, sql } from 'kysely';
import type { Db } from './database.ts';
import { isUuid } from './participants.ts';
import { preparedQuery } from './prepared.ts';
import type { Database } from './schema.ts';
import { batchedPerDatabase } from './statement-batcher.ts';

/** A user's refresh token to store with the spend (see session-tokens.ts `newRefreshToken`). */
export interface NewRefreshToken {
  tokenHash: string;
  familyId: string;
  createdAt: Date;
  expiresAt: Date;
}

export interface SpentLoginToken {
  participantId: string;
  partnerId: string;
}

/** Why a login token could not be spent; decides ER333 / ER334 / ER335, and ER813 for a disabled partner. */
export type SpendFailure = 'not_found' | 'expired' | 'no_user' | 'partner_disabled';

interface InsertByIdentifier {
  tokenHash: string;
  partnerId: string;
  identifier: string;
  createdAt: Date;
  expiresAt: Date;
}

/**
 * Stores many login tokens, each for the live user its partner linked to its identifier, in one statement; returns
 * each token's user, or undefined where no such user was found and nothing was stored.
 */
async function insertManyByIdentifier(db: Db, items: InsertByIdentifier[]): Promise<Array<string | undefined>> {
  const { rows } = await sql<{ token_hash: string; participant_id: string }>`
    INSERT INTO login_tokens (token_hash, partner_id, participant_id, created_at, expires_at)
    SELECT t."tokenHash", p.partner_id, p.id, t."createdAt", t."expiresAt"
    FROM jsonb_to_recordset(${JSON.stringify(items)}::jsonb) AS t(
      "tokenHash" text, "partnerId" uuid, identifier text, "createdAt" timestamptz, "expiresAt" timestamptz
    )
    JOIN identifiers AS i ON i.identifier = t.identifier AND i.partner_id = t."partnerId" AND i.status = 'linked'
    JOIN participants AS p ON p.id = i.participant_id AND p.partner_id = t."partnerId" AND p.deleted_at IS NULL
    RETURNING token_hash, participant_id`.execute(db);
  const byHash = new Map(rows.map((row) => [row.token_hash, row.participant_id]));
  return items.map((item) => byHash.get(item.tokenHash));
}

/** Login tokens issued while two inserts are in flight go together in the next one (see `batchedSpend`). */
const insertByIdentifier = batchedPerDatabase(insertManyByIdentifier, { maxInFlight: 2, maxBatch: 64 });

/**
 * Stores a login token (by hash) for a user given by uuid, or by linked identifier: then the lookup is part of the
 * INSERT, one round trip, and nothing is stored when no live user of this partner has that identifier. Returns
 * the user's uuid, or undefined when nothing was stored.
 */
export async function insertLoginToken(
  db: Db,
  input: {
    tokenHash: string;
    partnerId: string;
    user: { participantId: string } | { identifier: string };
    createdAt: Date;
    expiresAt: Date;
  },
): Promise<string | undefined> {
  const { user } = input;
  if ('participantId' in user) {
    await db
      .insertInto('login_tokens')
      .values({
        token_hash: input.tokenHash,
        partner_id: input.partnerId,
        participant_id: user.participantId,
        created_at: input.createdAt,
        expires_at: input.expiresAt,
      })
      .execute();
    return user.participantId;
  }
  return insertByIdentifier(db, {
    tokenHash: input.tokenHash,
    partnerId: input.partnerId,
    identifier: user.identifier,
    createdAt: input.createdAt,
    expiresAt: input.expiresAt,
  });
}

interface SpendParams {
  tokenHash: string;
  participantId: string;
  /** null: any partner (the hosted page, which has no partner credentials). */
  partnerId: string | null;
  now: Date;
}

/** The spend: unused, unexpired, this user's (and this partner's), the user not deleted, the partner active. */
const spendUpdate = (db: QueryCreator<Database>, param: <T = string>(name: keyof SpendParams & string) => T) =>
  db
    .updateTable('login_tokens as t')
    .set({ used_at: param<Date>('now') })
    .from(['participants as p', 'partners as pa'])
    .whereRef('p.id', '=', 't.participant_id')
    .where('p.deleted_at', 'is', null)
    .whereRef('pa.id', '=', 't.partner_id')
    .where('pa.status', '=', 'active')
    .where('t.token_hash', '=', param('tokenHash'))
    .where('t.participant_id', '=', param('participantId'))
    .where('t.partner_id', '=', sql<string>`coalesce(${param('partnerId')}::uuid, t.partner_id)`)
    .where('t.used_at', 'is', null)
    .where('t.expires_at', '>', param<Date>('now'))
    .returning(['t.participant_id', 't.partner_id']);

const spendOnly = preparedQuery<SpendParams, { participant_id: string; partner_id: string }>(spendUpdate);

const spendWithRefresh = preparedQuery<
  SpendParams & { refreshHash: string; familyId: string; refreshCreatedAt: Date; refreshExpiresAt: Date },
  { participant_id: string | null; partner_id: string }
>((db, param) =>
  db
    .with('spent', (db) => spendUpdate(db, param))
    .insertInto('refresh_tokens')
    .columns(['token_hash', 'family_id', 'subject', 'partner_id', 'participant_id', 'created_at', 'expires_at'])
    .expression((eb) =>
      eb
        .selectFrom('spent')
        .select([
          sql<string>`${param('refreshHash')}`.as('token_hash'),
          sql<string>`${param('familyId')}::uuid`.as('family_id'),
          sql<'user'>`'user'`.as('subject'),
          'spent.partner_id',
          'spent.participant_id',
          sql<Date>`${param('refreshCreatedAt')}::timestamptz`.as('created_at'),
          sql<Date>`${param('refreshExpiresAt')}::timestamptz`.as('expires_at'),
        ]),
    )
    .returning(['participant_id', 'partner_id']),
);

type SpendWithRefresh = SpendParams & {
  refreshHash: string;
  familyId: string;
  refreshCreatedAt: Date;
  refreshExpiresAt: Date;
};
type Spent = { participant_id: string | null; partner_id: string };

/**
 * The spend-and-store statement for many redemptions at once: the same conditions row by row, each input row
 * joined to its own token, and a refresh token stored for each spent one; it returns the refresh hashes stored,
 * which say which redemptions won. Two redemptions of one token in one batch join one target row, which
 * PostgreSQL updates once, with one of them: the other finds it spent. Rows come sorted by token hash, so two
 * batches lock the tokens they share in the same order.
 */
async function spendManyWithRefresh(db: Db, items: SpendWithRefresh[]): Promise<Array<Spent | undefined>> {
  const rows = JSON.stringify(
    [...items].sort((a, b) => (a.tokenHash < b.tokenHash ? -1 : a.tokenHash > b.tokenHash ? 1 : 0)),
  );
  const { rows: stored } = await sql<Spent & { token_hash: string }>`
    WITH input AS (
      SELECT * FROM jsonb_to_recordset(${rows}::jsonb) AS i(
        "tokenHash" text, "participantId" uuid, "partnerId" uuid, "now" timestamptz,
        "refreshHash" text, "familyId" uuid, "refreshCreatedAt" timestamptz, "refreshExpiresAt" timestamptz
      )
    ), spent AS (
      UPDATE login_tokens AS t SET used_at = i.now
      FROM input AS i, participants AS p, partners AS pa
      WHERE t.token_hash = i."tokenHash" AND t.participant_id = i."participantId"
        AND t.partner_id = coalesce(i."partnerId", t.partner_id)
        AND t.used_at IS NULL AND t.expires_at > i.now
        AND p.id = t.participant_id AND p.deleted_at IS NULL
        AND pa.id = t.partner_id AND pa.status = 'active'
      RETURNING t.participant_id, t.partner_id, i."refreshHash", i."familyId", i."refreshCreatedAt",
        i."refreshExpiresAt"
    )
    INSERT INTO refresh_tokens (token_hash, family_id, subject, partner_id, participant_id, created_at, expires_at)
    SELECT "refreshHash", "familyId", 'user', partner_id, participant_id, "refreshCreatedAt", "refreshExpiresAt"
    FROM spent
    RETURNING participant_id, partner_id, token_hash`.execute(db);
  const byRefresh = new Map(stored.map((row) => [row.token_hash, row]));
  return items.map((item) => byRefresh.get(item.refreshHash));
}

/**
 * Redemptions that arrive while two spend statements are in flight go together in the next one: one round trip
 * and one commit for the batch instead of one each (bench/README.md, change 28). Batches lock the tokens they share
 * in one order, so a deadlock needs another kind of transaction; it is retried one redemption at a time, and
 * single-row spends cannot deadlock.
 */
const batchedSpend = batchedPerDatabase<Db, SpendWithRefresh, Spent | undefined>(
  (db, items) =>
    spendManyWithRefresh(db, items).catch(async (error: unknown) => {
      if ((error as { code?: unknown }).code !== '40P01') throw error;
      return Promise.all(items.map(async (one) => (await spendWithRefresh(db, one)).rows[0]));
    }),
  { maxInFlight: 2, maxBatch: 64 },
);

/**
 * Spends a login token in ONE conditional statement: unused, unexpired, bound to this user (and partner, when
 * given), user not deleted. Concurrent spends of one token, on any number of instances, see exactly one success.
 * With `refresh`, the same statement stores that refresh token for the user, only if the spend succeeded: a
 * redemption is one round trip. On failure, a read (after the write, so it races nothing) says why.
 */
export async function spendLoginToken(
  db: Db,
  input: { tokenHash: string; participantId: string; partnerId?: string; now: Date; refresh?: NewRefreshToken },
): Promise<{ ok: true; token: SpentLoginToken } | { ok: false; reason: SpendFailure }> {
  if (!isUuid(input.participantId)) return { ok: false, reason: 'not_found' };
  const params = {
    tokenHash: input.tokenHash,
    participantId: input.participantId,
    partnerId: input.partnerId ?? null,
    now: input.now,
  };
  const spent = input.refresh
    ? await batchedSpend(db, {
        ...params,
        refreshHash: input.refresh.tokenHash,
        familyId: input.refresh.familyId,
        refreshCreatedAt: input.refresh.createdAt,
        refreshExpiresAt: input.refresh.expiresAt,
      })
    : (await spendOnly(db, params)).rows[0];
  if (spent?.participant_id) {
    return { ok: true, token: { participantId: spent.participant_id, partnerId: spent.partner_id } };
  }

  const row = await db
    .selectFrom('login_tokens as t')
    .innerJoin('participants as p', 'p.id', 't.participant_id')
    .innerJoin('partners as pa', 'pa.id', 't.partner_id')
    .select(['t.participant_id', 't.partner_id', 't.used_at', 't.expires_at', 'p.deleted_at', 'pa.status'])
    .where('t.token_hash', '=', input.tokenHash)
    .executeTakeFirst();
  // A used token is as good as unknown; so is one presented with another user's uuid or by another partner.
  if (
    !row ||
    row.used_at !== null ||
    row.participant_id !== input.participantId ||
    (input.partnerId !== undefined && row.partner_id !== input.partnerId)
  ) {
    return { ok: false, reason: 'not_found' };
  }
  if (row.expires_at <= input.now) return { ok: false, reason: 'expired' };
  // A disabled partner's links stop working, unspent (they work again if it is enabled before they expire).
  if (row.status !== 'active') return { ok: false, reason: 'partner_disabled' };
  return { ok: false, reason: 'no_user' };
}

/** Looks a token up without spending it (the hosted page's GET shows who is being signed in). */
export async function peekLoginToken(db: Db, input: { tokenHash: string; participantId: string; now: Date }) {
  if (!isUuid(input.participantId)) return { ok: false as const, reason: 'not_found' as SpendFailure };
  const row = await db
    .selectFrom('login_tokens as t')
    .innerJoin('participants as p', 'p.id', 't.participant_id')
    .innerJoin('partners as pa', 'pa.id', 't.partner_id')
    .select([
      't.partner_id',
      't.used_at',
      't.expires_at',
      'p.deleted_at',
      'p.email',
      'p.id as participant_id',
      'pa.status',
    ])
    .where('t.token_hash', '=', input.tokenHash)
    .where('t.participant_id', '=', input.participantId)
    .executeTakeFirst();
  if (!row || row.used_at !== null) return { ok: false as const, reason: 'not_found' as SpendFailure };
  if (row.expires_at <= input.now) return { ok: false as const, reason: 'expired' as SpendFailure };
  if (row.status !== 'active') return { ok: false as const, reason: 'partner_disabled' as SpendFailure };
  if (row.deleted_at !== null) return { ok: false as const, reason: 'no_user' as SpendFailure };
  return { ok: true as const, partnerId: row.partner_id, participantId: row.participant_id, email: row.email };
}
