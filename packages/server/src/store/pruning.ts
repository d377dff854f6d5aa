import { type RawBuilder, sql } from 'kysely';
import type { Db } from './database.ts';

/**
 * Expired one-time artefacts stay one day past their expiry before they are deleted: a late redemption still
 * answers "expired" rather than "not found", and a spent refresh token presented again inside its lifetime still
 * revokes its family (reuse detection needs the spent row until the token could no longer be used anyway).
 */
export const expiredGraceMs = 24 * 3600 * 1000;

// Deletes run in batches so a large backlog never holds one long transaction or a long lock.
const batchSize = 5000;

export interface PruneCounts {
  audit_events: number;
  login_tokens: number;
  refresh_tokens: number;
  revoked_tokens: number;
  identifier_link_requests: number;
  page_sessions: number;
}

async function deleteInBatches(db: Db, table: string, key: string, condition: RawBuilder<unknown>): Promise<number> {
  let deleted = 0;
  for (;;) {
    const result = await sql`
      DELETE FROM ${sql.table(table)} WHERE ${sql.ref(key)} IN (
        SELECT ${sql.ref(key)} FROM ${sql.table(table)} WHERE ${condition} LIMIT ${batchSize}
      )`.execute(db);
    const count = Number(result.numAffectedRows ?? 0n);
    deleted += count;
    if (count < batchSize) return deleted;
  }
}

/**
 * Deletes what no longer serves a purpose: audit events past the retention (0 days = keep forever), and login
 * tokens, refresh tokens, revocations, identifier-link requests and page sessions expired for over a day.
 * Safe to run while instances serve: each row deleted is one no request can use any more.
 */
export async function pruneExpired(db: Db, options: { now: Date; auditRetentionDays: number }): Promise<PruneCounts> {
  const expiredBefore = new Date(options.now.getTime() - expiredGraceMs);
  const expired = sql`expires_at < ${expiredBefore}`;
  return {
    audit_events:
      options.auditRetentionDays > 0
        ? await deleteInBatches(
            db,
            'audit_events',
            'id',
            sql`at < ${new Date(options.now.getTime() - options.auditRetentionDays * 86_400_000)}`,
          )
        : 0,
    login_tokens: await deleteInBatches(db, 'login_tokens', 'token_hash', expired),
    refresh_tokens: await deleteInBatches(db, 'refresh_tokens', 'token_hash', expired),
    // A revoked token past its own expiry is refused for being expired; its revocation row has done its work.
    revoked_tokens: await deleteInBatches(db, 'revoked_tokens', 'jti', expired),
    identifier_link_requests: await deleteInBatches(db, 'identifier_link_requests', 'token_hash', expired),
    // A session's idle expiry never passes its absolute one (a CHECK), so the idle expiry says when it ended.
    page_sessions: await deleteInBatches(db, 'page_sessions', 'id_hash', sql`idle_expires_at < ${expiredBefore}`),
  };
}
