import { sql } from 'kysely';
import type { Db } from './database.ts';

export interface AuditEvent {
  at: Date;
  surface: 'client-token' | 'partner-api' | 'pages' | 'cli';
  action: string;
  outcome: 'success' | 'rejected';
  reason?: string | null;
  partnerId?: string | null;
  credentialId?: string | null;
  participantId?: string | null;
  requestId?: string | null;
  ip?: string | null;
  /** Never token material, secrets or passwords: ids and non-secret facts only. */
  detail?: Record<string, unknown> | null;
}

export async function insertAuditEvents(db: Db, events: readonly AuditEvent[]): Promise<void> {
  if (events.length === 0) return;
  // One array parameter per column: the statement is the same for any batch size, so neither building nor
  // parsing it costs anything per row (a multi-row VALUES had 11 parameters per row).
  const column = <T>(pick: (event: AuditEvent) => T) => events.map(pick);
  await sql`
    INSERT INTO audit_events
      (at, surface, action, outcome, reason, partner_id, credential_id, participant_id, request_id, ip, detail)
    SELECT * FROM unnest(
      ${column((e) => e.at)}::timestamptz[],
      ${column((e) => e.surface)}::text[],
      ${column((e) => e.action)}::text[],
      ${column((e) => e.outcome)}::text[],
      ${column((e) => e.reason ?? null)}::text[],
      ${column((e) => e.partnerId ?? null)}::uuid[],
      ${column((e) => e.credentialId ?? null)}::uuid[],
      ${column((e) => e.participantId ?? null)}::uuid[],
      ${column((e) => e.requestId ?? null)}::text[],
      ${column((e) => e.ip ?? null)}::text[],
      ${column((e) => (e.detail ? JSON.stringify(e.detail) : null))}::jsonb[]
    )`.execute(db);
}

export interface AuditFilter {
  partnerId?: string;
  since?: Date;
  actions?: readonly string[];
  outcome?: 'success' | 'rejected';
  limit?: number;
  /** The newest `limit` events (still returned oldest first) instead of the oldest. */
  newest?: boolean;
}

export async function listAuditEvents(db: Db, filter: AuditFilter) {
  let query = db
    .selectFrom('audit_events')
    .select(['id', 'at', 'surface', 'action', 'outcome', 'reason', 'partner_id', 'credential_id', 'participant_id'])
    .select(['request_id', 'ip', 'detail'])
    .orderBy('id', filter.newest ? 'desc' : 'asc');
  if (filter.partnerId) query = query.where('partner_id', '=', filter.partnerId);
  if (filter.since) query = query.where('at', '>=', filter.since);
  if (filter.actions?.length) query = query.where('action', 'in', filter.actions);
  if (filter.outcome) query = query.where('outcome', '=', filter.outcome);
  const rows = await query.limit(filter.limit ?? 1000).execute();
  return filter.newest ? rows.reverse() : rows;
}
