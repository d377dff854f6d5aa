import { sql } from 'kysely';
import type { Db } from './database.ts';
import { isUuid } from './participants.ts';

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

/** Why a login token could not be spent; decides ER333 / ER334 / ER335. */
export type SpendFailure = 'not_found' | 'expired' | 'no_user';

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
  const row = await db
    .insertInto('login_tokens')
    .columns(['token_hash', 'partner_id', 'participant_id', 'created_at', 'expires_at'])
    .expression((eb) =>
      eb
        .selectFrom('identifiers as i')
        .innerJoin('participants as p', 'p.id', 'i.participant_id')
        .select([
          sql<string>`${input.tokenHash}`.as('token_hash'),
          'p.partner_id',
          'p.id',
          sql<Date>`${input.createdAt}::timestamptz`.as('created_at'),
          sql<Date>`${input.expiresAt}::timestamptz`.as('expires_at'),
        ])
        .where('i.identifier', '=', user.identifier)
        .where('i.partner_id', '=', input.partnerId)
        .where('i.status', '=', 'linked')
        .where('p.partner_id', '=', input.partnerId)
        .where('p.deleted_at', 'is', null),
    )
    .returning('participant_id')
    .executeTakeFirst();
  return row?.participant_id;
}

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
  let update = db
    .updateTable('login_tokens as t')
    .set({ used_at: input.now })
    .from('participants as p')
    .whereRef('p.id', '=', 't.participant_id')
    .where('p.deleted_at', 'is', null)
    .where('t.token_hash', '=', input.tokenHash)
    .where('t.participant_id', '=', input.participantId)
    .where('t.used_at', 'is', null)
    .where('t.expires_at', '>', input.now);
  if (input.partnerId) update = update.where('t.partner_id', '=', input.partnerId);
  const spending = update.returning(['t.participant_id', 't.partner_id']);
  const { refresh } = input;
  const spent = refresh
    ? await db
        .with('spent', () => spending)
        .insertInto('refresh_tokens')
        .columns(['token_hash', 'family_id', 'subject', 'partner_id', 'participant_id', 'created_at', 'expires_at'])
        .expression((eb) =>
          eb
            .selectFrom('spent')
            .select([
              sql<string>`${refresh.tokenHash}`.as('token_hash'),
              sql<string>`${refresh.familyId}::uuid`.as('family_id'),
              sql<'user'>`'user'`.as('subject'),
              'spent.partner_id',
              'spent.participant_id',
              sql<Date>`${refresh.createdAt}::timestamptz`.as('created_at'),
              sql<Date>`${refresh.expiresAt}::timestamptz`.as('expires_at'),
            ]),
        )
        .returning(['participant_id', 'partner_id'])
        .executeTakeFirst()
    : await spending.executeTakeFirst();
  if (spent?.participant_id) {
    return { ok: true, token: { participantId: spent.participant_id, partnerId: spent.partner_id } };
  }

  const row = await db
    .selectFrom('login_tokens as t')
    .innerJoin('participants as p', 'p.id', 't.participant_id')
    .select(['t.participant_id', 't.partner_id', 't.used_at', 't.expires_at', 'p.deleted_at'])
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
  return { ok: false, reason: 'no_user' };
}

/** Looks a token up without spending it (the hosted page's GET shows who is being signed in). */
export async function peekLoginToken(db: Db, input: { tokenHash: string; participantId: string; now: Date }) {
  if (!isUuid(input.participantId)) return { ok: false as const, reason: 'not_found' as SpendFailure };
  const row = await db
    .selectFrom('login_tokens as t')
    .innerJoin('participants as p', 'p.id', 't.participant_id')
    .select(['t.partner_id', 't.used_at', 't.expires_at', 'p.deleted_at', 'p.email', 'p.id as participant_id'])
    .where('t.token_hash', '=', input.tokenHash)
    .where('t.participant_id', '=', input.participantId)
    .executeTakeFirst();
  if (!row || row.used_at !== null) return { ok: false as const, reason: 'not_found' as SpendFailure };
  if (row.expires_at <= input.now) return { ok: false as const, reason: 'expired' as SpendFailure };
  if (row.deleted_at !== null) return { ok: false as const, reason: 'no_user' as SpendFailure };
  return { ok: true as const, partnerId: row.partner_id, participantId: row.participant_id, email: row.email };
}
