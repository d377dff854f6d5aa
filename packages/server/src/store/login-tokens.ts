import { type QueryCreator, sql } from 'kysely';
import type { Db } from './database.ts';
import { isUuid } from './participants.ts';
import { preparedQuery } from './prepared.ts';
import type { Database } from './schema.ts';

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

const insertByIdentifier = preparedQuery<
  { tokenHash: string; partnerId: string; identifier: string; createdAt: Date; expiresAt: Date },
  { participant_id: string }
>((db, param) =>
  db
    .insertInto('login_tokens')
    .columns(['token_hash', 'partner_id', 'participant_id', 'created_at', 'expires_at'])
    .expression((eb) =>
      eb
        .selectFrom('identifiers as i')
        .innerJoin('participants as p', 'p.id', 'i.participant_id')
        .select([
          sql<string>`${param('tokenHash')}`.as('token_hash'),
          'p.partner_id',
          'p.id',
          sql<Date>`${param('createdAt')}::timestamptz`.as('created_at'),
          sql<Date>`${param('expiresAt')}::timestamptz`.as('expires_at'),
        ])
        .where('i.identifier', '=', param('identifier'))
        .where('i.partner_id', '=', param('partnerId'))
        .where('i.status', '=', 'linked')
        .where('p.partner_id', '=', param('partnerId'))
        .where('p.deleted_at', 'is', null),
    )
    .returning('participant_id'),
);

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
  const row = (
    await insertByIdentifier(db, {
      tokenHash: input.tokenHash,
      partnerId: input.partnerId,
      identifier: user.identifier,
      createdAt: input.createdAt,
      expiresAt: input.expiresAt,
    })
  ).rows[0];
  return row?.participant_id;
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
    ? (
        await spendWithRefresh(db, {
          ...params,
          refreshHash: input.refresh.tokenHash,
          familyId: input.refresh.familyId,
          refreshCreatedAt: input.refresh.createdAt,
          refreshExpiresAt: input.refresh.expiresAt,
        })
      ).rows[0]
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
