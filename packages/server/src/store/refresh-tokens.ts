import type { Db } from './database.ts';

export interface RefreshTokenRow {
  familyId: string;
  subject: 'partner' | 'user';
  partnerId: string;
  participantId: string | null;
}

export async function insertRefreshToken(
  db: Db,
  input: RefreshTokenRow & { tokenHash: string; createdAt: Date; expiresAt: Date },
): Promise<void> {
  await db
    .insertInto('refresh_tokens')
    .values({
      token_hash: input.tokenHash,
      family_id: input.familyId,
      subject: input.subject,
      partner_id: input.partnerId,
      participant_id: input.participantId,
      created_at: input.createdAt,
      expires_at: input.expiresAt,
    })
    .execute();
}

export type RefreshFailure = 'invalid' | 'expired' | 'reused';

/**
 * Spends a refresh token in one conditional statement. Presenting an already-spent token is theft evidence:
 * the whole family is revoked (the thief's and the owner's later tokens alike).
 */
export async function spendRefreshToken(
  db: Db,
  input: { tokenHash: string; subject: 'partner' | 'user'; now: Date },
): Promise<{ ok: true; row: RefreshTokenRow } | { ok: false; reason: RefreshFailure }> {
  const spent = await db
    .updateTable('refresh_tokens')
    .set({ used_at: input.now })
    .where('token_hash', '=', input.tokenHash)
    .where('subject', '=', input.subject)
    .where('used_at', 'is', null)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', input.now)
    .returning(['family_id', 'subject', 'partner_id', 'participant_id'])
    .executeTakeFirst();
  if (spent) {
    return {
      ok: true,
      row: {
        familyId: spent.family_id,
        subject: spent.subject,
        partnerId: spent.partner_id,
        participantId: spent.participant_id,
      },
    };
  }
  const row = await db
    .selectFrom('refresh_tokens')
    .select(['family_id', 'used_at', 'revoked_at', 'expires_at'])
    .where('token_hash', '=', input.tokenHash)
    .where('subject', '=', input.subject)
    .executeTakeFirst();
  if (!row || row.revoked_at !== null) return { ok: false, reason: 'invalid' };
  if (row.used_at !== null) {
    await revokeRefreshFamily(db, row.family_id, input.now);
    return { ok: false, reason: 'reused' };
  }
  return { ok: false, reason: 'expired' };
}

export async function revokeRefreshFamily(db: Db, familyId: string, now: Date): Promise<void> {
  await db
    .updateTable('refresh_tokens')
    .set({ revoked_at: now })
    .where('family_id', '=', familyId)
    .where('revoked_at', 'is', null)
    .execute();
}
