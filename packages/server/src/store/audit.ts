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
  // The whole batch is one JSON parameter, expanded by jsonb_to_recordset: one native JSON.stringify here instead
  // of pg serialising an array parameter per column element by element, and the same statement for any batch size.
  // Absent fields are absent keys, which jsonb_to_recordset reads as NULL.
  const rows = JSON.stringify(events);
  await sql`
    INSERT INTO audit_events
      (at, surface, action, outcome, reason, partner_id, credential_id, participant_id, request_id, ip, detail)
    SELECT "at", surface, "action", outcome, reason, "partnerId", "credentialId", "participantId", "requestId", ip, detail
    FROM jsonb_to_recordset(${rows}::jsonb) AS e(
      "at" timestamptz, surface text, "action" text, outcome text, reason text, "partnerId" uuid,
      "credentialId" uuid, "participantId" uuid, "requestId" text, ip text, detail jsonb
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
