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
  // The whole batch is one JSON parameter: one native JSON.stringify here instead of pg serialising an array
  // parameter per column element by element, and the same statement for any batch size. Each event is a positional
  // array and its time epoch milliseconds: a third fewer bytes than named keys and ISO strings to serialise, send and
  // parse, the part of PostgreSQL's work a row that depends on us (bench/README.md, change 31). `->>` reads JSON's
  // null as NULL; `->` would keep it as the JSON value null, hence the nullif for the jsonb column. An absent
  // field is undefined, which JSON.stringify writes as null inside an array.
  const rows = JSON.stringify(
    events.map((e) => [
      e.at.getTime(),
      e.surface,
      e.action,
      e.outcome,
      e.reason,
      e.partnerId,
      e.credentialId,
      e.participantId,
      e.requestId,
      e.ip,
      e.detail,
    ]),
  );
  await sql`
    INSERT INTO audit_events
      (at, surface, action, outcome, reason, partner_id, credential_id, participant_id, request_id, ip, detail)
    SELECT to_timestamp((e->>0)::float8 / 1000), e->>1, e->>2, e->>3, e->>4, (e->>5)::uuid, (e->>6)::uuid,
      (e->>7)::uuid, e->>8, e->>9,
      nullif(e->10, 'null')
    FROM jsonb_array_elements(${rows}::jsonb) AS e`.execute(db);
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
