import type { Db } from './database.ts';

export const identifierPattern = /^[A-Za-z0-9]{36,255}$/;

export class IdentifierTakenError extends Error {
  override name = 'IdentifierTakenError';
}

/** Links an identifier to a participant directly (operator import/CLI). Identifiers are unique system-wide. */
export async function linkIdentifier(
  db: Db,
  input: { identifier: string; partnerId: string; participantId: string; at: Date },
): Promise<void> {
  try {
    await db
      .insertInto('identifiers')
      .values({
        identifier: input.identifier,
        partner_id: input.partnerId,
        participant_id: input.participantId,
        status: 'linked',
        linked_at: input.at,
      })
      .execute();
  } catch (error) {
    if ((error as { code?: string }).code === '23505') throw new IdentifierTakenError('identifier already in use');
    throw error;
  }
}

/** Whether an identifier is linked to anyone, under any partner (identifiers are unique system-wide). */
export async function isIdentifierTaken(db: Db, identifier: string): Promise<boolean> {
  const row = await db
    .selectFrom('identifiers')
    .select('identifier')
    .where('identifier', '=', identifier)
    .executeTakeFirst();
  return row !== undefined;
}

/** A pending link: the hosted page lets the user sign in and confirm, then links the identifier. */
export async function insertLinkRequest(
  db: Db,
  input: {
    tokenHash: string;
    identifier: string;
    partnerId: string;
    returnUrl: string;
    createdAt: Date;
    expiresAt: Date;
  },
): Promise<void> {
  await db
    .insertInto('identifier_link_requests')
    .values({
      token_hash: input.tokenHash,
      identifier: input.identifier,
      partner_id: input.partnerId,
      return_url: input.returnUrl,
      created_at: input.createdAt,
      expires_at: input.expiresAt,
    })
    .execute();
}

/** The live (unused, unexpired) link request for a token hash, without spending it. */
export async function findLinkRequest(db: Db, tokenHash: string, now: Date) {
  return db
    .selectFrom('identifier_link_requests')
    .select(['identifier', 'partner_id', 'return_url', 'expires_at'])
    .where('token_hash', '=', tokenHash)
    .where('used_at', 'is', null)
    .where('expires_at', '>', now)
    .executeTakeFirst();
}

/**
 * Completes a link request for the signed-in participant: spends the request (one conditional update) and
 * links the identifier, in one transaction. Returns the partner's returnUrl, or why it failed.
 */
export async function completeLinkRequest(
  db: Db,
  input: { tokenHash: string; participantId: string; partnerId: string; now: Date },
): Promise<{ ok: true; returnUrl: string; identifier: string } | { ok: false; reason: 'not_found' | 'taken' }> {
  try {
    return await db.transaction().execute(async (trx) => {
      const request = await trx
        .updateTable('identifier_link_requests')
        .set({ used_at: input.now })
        .where('token_hash', '=', input.tokenHash)
        .where('partner_id', '=', input.partnerId)
        .where('used_at', 'is', null)
        .where('expires_at', '>', input.now)
        .returning(['identifier', 'return_url'])
        .executeTakeFirst();
      if (!request) return { ok: false as const, reason: 'not_found' as const };
      await linkIdentifier(trx, {
        identifier: request.identifier,
        partnerId: input.partnerId,
        participantId: input.participantId,
        at: input.now,
      });
      return { ok: true as const, returnUrl: request.return_url, identifier: request.identifier };
    });
  } catch (error) {
    if (error instanceof IdentifierTakenError) return { ok: false, reason: 'taken' };
    throw error;
  }
}

/** One identifier linked to the participant (the oldest), for the login answer. */
export async function findIdentifierOf(db: Db, partnerId: string, participantId: string): Promise<string | undefined> {
  const row = await db
    .selectFrom('identifiers')
    .select('identifier')
    .where('partner_id', '=', partnerId)
    .where('participant_id', '=', participantId)
    .where('status', '=', 'linked')
    .orderBy('linked_at')
    .limit(1)
    .executeTakeFirst();
  return row?.identifier;
}
