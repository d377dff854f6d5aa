import { randomUUID } from 'node:crypto';
import type { Db } from './database.ts';

export class ReferenceConflictError extends Error {
  override name = 'ReferenceConflictError';
}

export interface IssuanceRecords {
  depositIntentId?: string;
  paymentId?: string;
}

export interface IssuanceInput {
  partnerId: string;
  participantId: string | null;
  referenceId: string | undefined;
  /** Hash of the canonical request body: the same reference_id with other content is a conflict. */
  contentHash: string;
  depositDetails: Record<string, unknown> | undefined;
  payment: { kind: 'withdrawal' | 'payout' | 'payment'; details: Record<string, unknown> } | undefined;
}

/**
 * Records what a client access token stands for, atomically: the deposit intent and/or pending payment, and the
 * reference_id. A reference_id seen before with the same content returns the records made then (a retried request
 * gets the same intent and payment, not a second one); with different content it is a conflict.
 */
export async function recordIssuance(db: Db, input: IssuanceInput): Promise<IssuanceRecords> {
  if (!input.referenceId && !input.depositDetails && !input.payment) return {};
  try {
    return await recordOnce(db, input);
  } catch (error) {
    // Two first uses of one reference_id raced: the loser rolled back; its second look finds the winner's row.
    if (error instanceof ReferenceRaceError) return recordOnce(db, input);
    throw error;
  }
}

class ReferenceRaceError extends Error {}

function recordOnce(db: Db, input: IssuanceInput): Promise<IssuanceRecords> {
  return db.transaction().execute(async (trx) => {
    if (input.referenceId) {
      const existing = await trx
        .selectFrom('client_token_references')
        .select(['content_hash', 'deposit_intent_id', 'payment_id'])
        .where('partner_id', '=', input.partnerId)
        .where('reference_id', '=', input.referenceId)
        .forUpdate()
        .executeTakeFirst();
      if (existing) {
        if (existing.content_hash !== input.contentHash) throw new ReferenceConflictError();
        return {
          ...(existing.deposit_intent_id ? { depositIntentId: existing.deposit_intent_id } : {}),
          ...(existing.payment_id ? { paymentId: existing.payment_id } : {}),
        };
      }
    }
    const records: IssuanceRecords = {};
    if (input.depositDetails) {
      records.depositIntentId = randomUUID();
      await trx
        .insertInto('deposit_intents')
        .values({
          id: records.depositIntentId,
          partner_id: input.partnerId,
          participant_id: input.participantId,
          reference_id: input.referenceId ?? null,
          details: JSON.stringify(input.depositDetails),
          status: 'pending',
        })
        .execute();
    }
    if (input.payment) {
      records.paymentId = randomUUID();
      await trx
        .insertInto('payments')
        .values({
          id: records.paymentId,
          partner_id: input.partnerId,
          participant_id: input.participantId,
          reference_id: input.referenceId ?? null,
          kind: input.payment.kind,
          details: JSON.stringify(input.payment.details),
          status: 'pending',
        })
        .execute();
    }
    if (input.referenceId) {
      const inserted = await trx
        .insertInto('client_token_references')
        .values({
          partner_id: input.partnerId,
          reference_id: input.referenceId,
          content_hash: input.contentHash,
          deposit_intent_id: records.depositIntentId ?? null,
          payment_id: records.paymentId ?? null,
        })
        .onConflict((oc) => oc.doNothing())
        .returning('reference_id')
        .executeTakeFirst();
      if (!inserted) throw new ReferenceRaceError();
    }
    return records;
  });
}

export async function revokeToken(db: Db, input: { jti: string; partnerId: string; expiresAt: Date }): Promise<void> {
  await db
    .insertInto('revoked_tokens')
    .values({ jti: input.jti, partner_id: input.partnerId, expires_at: input.expiresAt })
    .onConflict((oc) => oc.column('jti').doNothing())
    .execute();
}

export async function isTokenRevoked(db: Db, jti: string): Promise<boolean> {
  const row = await db.selectFrom('revoked_tokens').select('jti').where('jti', '=', jti).executeTakeFirst();
  return row !== undefined;
}
