import { sql } from 'kysely';
import type { Db } from './database.ts';
import type { PageSessionsTable } from './schema.ts';

export type SessionAuthMethod = PageSessionsTable['auth_method'];

export interface PageSession {
  partnerId: string;
  participantId: string;
}

export async function insertPageSession(
  db: Db,
  input: {
    idHash: string;
    partnerId: string;
    participantId: string;
    authMethod: SessionAuthMethod;
    createdAt: Date;
    idleExpiresAt: Date;
    absoluteExpiresAt: Date;
  },
): Promise<void> {
  await db
    .insertInto('page_sessions')
    .values({
      id_hash: input.idHash,
      partner_id: input.partnerId,
      participant_id: input.participantId,
      auth_method: input.authMethod,
      created_at: input.createdAt,
      idle_expires_at: input.idleExpiresAt,
      absolute_expires_at: input.absoluteExpiresAt,
    })
    .execute();
}

/**
 * Checks and extends a session in ONE statement: only a session within both its idle and its absolute lifetime
 * is found, and finding it pushes the idle expiry to `idleExpiresAt` (never past the absolute expiry). Any
 * instance can answer: the state is in the database.
 */
export async function touchPageSession(
  db: Db,
  input: { idHash: string; now: Date; idleExpiresAt: Date },
): Promise<PageSession | undefined> {
  const row = await db
    .updateTable('page_sessions')
    .set({ idle_expires_at: sql<Date>`LEAST(${input.idleExpiresAt}::timestamptz, absolute_expires_at)` })
    .where('id_hash', '=', input.idHash)
    .where('idle_expires_at', '>', input.now)
    .where('absolute_expires_at', '>', input.now)
    .returning(['partner_id', 'participant_id'])
    .executeTakeFirst();
  return row && { partnerId: row.partner_id, participantId: row.participant_id };
}

export async function deletePageSession(db: Db, idHash: string): Promise<void> {
  await db.deleteFrom('page_sessions').where('id_hash', '=', idHash).execute();
}
