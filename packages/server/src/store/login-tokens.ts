import type { Db } from './database.ts';
import { isUuid } from './participants.ts';

export interface SpentLoginToken {
  participantId: string;
  partnerId: string;
}

/** Why a login token could not be spent; decides ER333 / ER334 / ER335. */
export type SpendFailure = 'not_found' | 'expired' | 'no_user';

export async function insertLoginToken(
  db: Db,
  input: { tokenHash: string; partnerId: string; participantId: string; createdAt: Date; expiresAt: Date },
): Promise<void> {
  await db
    .insertInto('login_tokens')
    .values({
      token_hash: input.tokenHash,
      partner_id: input.partnerId,
      participant_id: input.participantId,
      created_at: input.createdAt,
      expires_at: input.expiresAt,
    })
    .execute();
}

/**
 * Spends a login token in ONE conditional statement: unused, unexpired, bound to this user (and partner, when
 * given), user not deleted. Concurrent spends of one token, on any number of instances, see exactly one success.
 * On failure, a read (after the write, so it races nothing) says why.
 */
export async function spendLoginToken(
  db: Db,
  input: { tokenHash: string; participantId: string; partnerId?: string; now: Date },
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
  const spent = await update.returning(['t.participant_id', 't.partner_id']).executeTakeFirst();
  if (spent) return { ok: true, token: { participantId: spent.participant_id, partnerId: spent.partner_id } };

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
