import { randomUUID } from 'node:crypto';
import type { Db } from './database.ts';
import type { SupportTopic } from './schema.ts';

export const supportTopics: readonly SupportTopic[] = ['verification', 'upgrade', 'payments', 'other'];
export const maxSupportMessageLength = 2000;

export interface SupportMessage {
  id: string;
  topic: SupportTopic;
  body: string;
  createdAt: Date;
}

export async function insertSupportMessage(
  db: Db,
  input: { partnerId: string; participantId: string; topic: SupportTopic; body: string; createdAt: Date },
): Promise<SupportMessage> {
  const row = await db
    .insertInto('support_messages')
    .values({
      id: randomUUID(),
      partner_id: input.partnerId,
      participant_id: input.participantId,
      topic: input.topic,
      body: input.body,
      created_at: input.createdAt,
    })
    .returning(['id', 'topic', 'body', 'created_at'])
    .executeTakeFirstOrThrow();
  return { id: row.id, topic: row.topic, body: row.body, createdAt: row.created_at };
}

/** The participant's own messages, newest first; scoped by partner too so another tenant's rows never show. */
export async function listSupportMessages(
  db: Db,
  input: { partnerId: string; participantId: string; limit: number },
): Promise<SupportMessage[]> {
  const rows = await db
    .selectFrom('support_messages')
    .select(['id', 'topic', 'body', 'created_at'])
    .where('partner_id', '=', input.partnerId)
    .where('participant_id', '=', input.participantId)
    .orderBy('created_at', 'desc')
    .orderBy('id')
    .limit(input.limit)
    .execute();
  return rows.map((row) => ({ id: row.id, topic: row.topic, body: row.body, createdAt: row.created_at }));
}
