import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { hashPassword } from '../../crypto/passwords.ts';
import { randomParticipantCode } from '../../crypto/random.ts';
import type { Db } from '../../store/database.ts';
import type { SourceRecord } from './records.ts';
import { type ImportUser, validateRow } from './validate-row.ts';

/** Rows per statement and transaction: the fastest of 1,000 / 2,000 / 5,000 measured on PostgreSQL and PGlite. */
export const defaultBatchSize = 2000;

export interface ImportTotals {
  /** Rows read from the source. */
  rows: number;
  imported: number;
  /** Already present (same email, or same participant code without an email): what makes re-runs idempotent. */
  skipped: number;
  rejected: number;
}

export interface RejectedRow {
  line: number;
  reasons: string[];
}

export interface ImportOptions {
  partnerId: string;
  now?: () => Date;
  /** Rows per multi-row INSERT (and per transaction). */
  batchSize?: number;
  onBatch?: (totals: Readonly<ImportTotals>) => void;
  onReject?: (row: RejectedRow) => void;
}

interface Candidate {
  line: number;
  user: ImportUser;
}

interface NewRow {
  line: number;
  user: ImportUser;
  id: string;
  code: string;
  generatedCode: boolean;
  passwordHash: string | null;
}

interface BatchOutcome {
  imported: number;
  skipped: number;
  rejected: RejectedRow[];
}

/**
 * Who already holds these emails (this partner) and participant codes (anyone). One index probe per key through
 * LATERAL: with `= ANY(array)` the planner tends to scan the partner's whole email index instead.
 */
async function findExisting(db: Db, partnerId: string, emails: string[], codes: string[]) {
  const { rows } = await sql<{ partner_id: string; participant_code: string; email: string | null }>`
    SELECT p.partner_id, p.participant_code, p.email
    FROM unnest(${emails}::text[]) AS e(email)
    CROSS JOIN LATERAL (
      SELECT partner_id, participant_code, email FROM participants
      WHERE partner_id = ${partnerId} AND deleted_at IS NULL AND email IS NOT NULL AND lower(email) = e.email
      LIMIT 1
    ) AS p
    UNION ALL
    SELECT p.partner_id, p.participant_code, p.email
    FROM unnest(${codes}::text[]) AS c(code)
    CROSS JOIN LATERAL (SELECT partner_id, participant_code, email FROM participants WHERE participant_code = c.code) AS p
  `.execute(db);
  const byEmail = new Map<string, string>();
  const byCode = new Map<string, { partnerId: string; email: string | null }>();
  for (const row of rows) {
    if (row.email && row.partner_id === partnerId) byEmail.set(row.email.toLowerCase(), row.participant_code);
    byCode.set(row.participant_code, { partnerId: row.partner_id, email: row.email });
  }
  return { byEmail, byCode };
}

/**
 * Sorts a batch into rows to insert, rows already present (skipped) and conflicts (rejected), against the database
 * and the rows before it in the batch. Read-only; the insert's ON CONFLICT covers anything that races it.
 */
async function classify(db: Db, partnerId: string, batch: readonly Candidate[], outcome: BatchOutcome) {
  const emails = batch.flatMap((c) => (c.user.email ? [c.user.email.toLowerCase()] : []));
  const codes = batch.flatMap((c) => (c.user.participantCode ? [c.user.participantCode] : []));
  const identifiers = batch.flatMap((c) => (c.user.identifier ? [c.user.identifier] : []));
  const existing = await findExisting(db, partnerId, emails, codes);
  const taken = new Set(
    identifiers.length === 0
      ? []
      : (
          await db
            .selectFrom('identifiers')
            .select('identifier')
            .where('identifier', '=', (eb) => eb.fn.any(eb.val(identifiers)))
            .execute()
        ).map((row) => row.identifier),
  );
  const accepted: Candidate[] = [];
  for (const candidate of batch) {
    const { user, line } = candidate;
    const email = user.email?.toLowerCase();
    const holderOfEmail = email === undefined ? undefined : existing.byEmail.get(email);
    const holderOfCode = user.participantCode ? existing.byCode.get(user.participantCode) : undefined;
    if (holderOfEmail !== undefined) {
      if (user.participantCode && user.participantCode !== holderOfEmail) {
        const holder = holderOfEmail || 'created from an earlier row';
        outcome.rejected.push({ line, reasons: [`email: already belongs to participant ${holder}`] });
      } else outcome.skipped++;
      continue;
    }
    if (holderOfCode) {
      if (email === undefined && holderOfCode.partnerId === partnerId) outcome.skipped++;
      else outcome.rejected.push({ line, reasons: ['participant_code: already in use'] });
      continue;
    }
    if (user.identifier && taken.has(user.identifier)) {
      outcome.rejected.push({ line, reasons: ['identifier: already in use'] });
      continue;
    }
    // Later rows of this batch see this one as existing: a repeated row is skipped like a re-run.
    const code = user.participantCode ?? '';
    if (email !== undefined) existing.byEmail.set(email, code);
    if (user.participantCode) existing.byCode.set(code, { partnerId, email: user.email });
    if (user.identifier) taken.add(user.identifier);
    accepted.push(candidate);
  }
  return accepted;
}

/** One multi-row INSERT (arrays unnested server-side: 10 parameters whatever the batch size). Returns inserted ids. */
async function insertParticipants(db: Db, partnerId: string, rows: readonly NewRow[], now: Date): Promise<Set<string>> {
  const column = <T>(pick: (row: NewRow) => T) => rows.map(pick);
  const { rows: inserted } = await sql<{ id: string }>`
    INSERT INTO participants (id, partner_id, participant_code, kind, email, phone_number, status, password_hash,
      first_name, last_name, created_at, updated_at)
    SELECT u.id, ${partnerId}, u.code, 'individual', u.email, u.phone, u.status, u.hash, u.first, u.last, ${now}, ${now}
    FROM unnest(${column((r) => r.id)}::uuid[], ${column((r) => r.code)}::text[],
      ${column((r) => r.user.email)}::text[], ${column((r) => r.user.phoneNumber)}::text[],
      ${column((r) => r.user.status)}::text[], ${column((r) => r.passwordHash)}::text[],
      ${column((r) => r.user.firstName)}::text[], ${column((r) => r.user.lastName)}::text[])
      AS u(id, code, email, phone, status, hash, first, last)
    ON CONFLICT DO NOTHING
    RETURNING id`.execute(db);
  return new Set(inserted.map((row) => row.id));
}

/**
 * Inserts the accepted rows in one transaction: participants, then their identifiers. A row that lost a race
 * (inserted meanwhile by someone else) is skipped; a generated participant code that collided is drawn again.
 */
async function insertAccepted(
  db: Db,
  partnerId: string,
  rows: NewRow[],
  now: Date,
  outcome: BatchOutcome,
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const inserted: NewRow[] = [];
    let pending = rows;
    for (let attempt = 0; pending.length > 0; attempt++) {
      const ids = await insertParticipants(trx, partnerId, pending, now);
      inserted.push(...pending.filter((row) => ids.has(row.id)));
      const missed = pending.filter((row) => !ids.has(row.id));
      pending = [];
      if (missed.length === 0) break;
      const existing = await findExisting(
        trx,
        partnerId,
        missed.flatMap((row) => (row.user.email ? [row.user.email.toLowerCase()] : [])),
        missed.map((row) => row.code),
      );
      for (const row of missed) {
        const sameEmail = row.user.email !== null && existing.byEmail.has(row.user.email.toLowerCase());
        const sameCode =
          !row.generatedCode && !row.user.email && existing.byCode.get(row.code)?.partnerId === partnerId;
        if (sameEmail || sameCode) outcome.skipped++;
        else if (row.generatedCode && attempt < 5) {
          // 36^6 codes: over a million rows a few draws collide with existing codes.
          pending.push({ ...row, code: randomParticipantCode() });
        } else outcome.rejected.push({ line: row.line, reasons: ['participant_code: already in use'] });
      }
    }

    const linked = inserted.filter((row) => row.user.identifier);
    if (linked.length > 0) {
      const { rows: done } = await sql<{ identifier: string }>`
        INSERT INTO identifiers (identifier, partner_id, participant_id, status, linked_at)
        SELECT u.identifier, ${partnerId}, u.participant, 'linked', ${now}
        FROM unnest(${linked.map((r) => r.user.identifier)}::text[], ${linked.map((r) => r.id)}::uuid[])
          AS u(identifier, participant)
        ON CONFLICT DO NOTHING
        RETURNING identifier`.execute(trx);
      const ok = new Set(done.map((row) => row.identifier));
      // Linked meanwhile by someone else: the row is rejected whole, its participant removed again.
      const lost = linked.filter((row) => !ok.has(row.user.identifier as string));
      if (lost.length > 0) {
        await trx
          .deleteFrom('participants')
          .where('id', '=', (eb) => eb.fn.any(eb.val(lost.map((row) => row.id))))
          .execute();
        for (const row of lost) outcome.rejected.push({ line: row.line, reasons: ['identifier: already in use'] });
      }
      outcome.imported -= lost.length;
    }
    outcome.imported += inserted.length;
  });
}

async function importBatch(db: Db, batch: readonly Candidate[], options: ImportOptions): Promise<BatchOutcome> {
  const outcome: BatchOutcome = { imported: 0, skipped: 0, rejected: [] };
  const accepted = await classify(db, options.partnerId, batch, outcome);
  // Hashed outside the transaction (scrypt is slow by design), and only for rows that will be inserted.
  const rows: NewRow[] = await Promise.all(
    accepted.map(async ({ line, user }) => ({
      line,
      user,
      id: randomUUID(),
      code: user.participantCode ?? randomParticipantCode(),
      generatedCode: user.participantCode === null,
      passwordHash: user.password ? await hashPassword(user.password) : null,
    })),
  );
  if (rows.length > 0)
    await insertAccepted(db, options.partnerId, rows, (options.now ?? (() => new Date()))(), outcome);
  return outcome;
}

/**
 * Imports end users of one partner from a stream of source rows, in batches of multi-row inserts. Memory stays
 * constant: at most two batches are held (one being inserted while the next is read). Rejected rows are reported
 * through `onReject` as they are found, never collected. Idempotent: rows already present are skipped.
 */
export async function importUsers(
  db: Db,
  records: AsyncIterable<SourceRecord>,
  options: ImportOptions,
): Promise<ImportTotals> {
  const batchSize = options.batchSize ?? defaultBatchSize;
  const totals: ImportTotals = { rows: 0, imported: 0, skipped: 0, rejected: 0 };
  const reject = (row: RejectedRow) => {
    totals.rejected++;
    options.onReject?.(row);
  };
  let inserting: Promise<void> = Promise.resolve();
  const submit = async (batch: Candidate[]) => {
    // Batches are inserted one after another (each classifies against the ones before it), overlapping with reading.
    await inserting;
    inserting = importBatch(db, batch, options).then((outcome) => {
      totals.imported += outcome.imported;
      totals.skipped += outcome.skipped;
      for (const row of outcome.rejected) reject(row);
      options.onBatch?.(totals);
    });
    inserting.catch(() => {});
  };

  let batch: Candidate[] = [];
  for await (const record of records) {
    totals.rows++;
    if ('problem' in record) {
      reject({ line: record.line, reasons: [record.problem] });
      continue;
    }
    const checked = validateRow(record.fields);
    if ('problems' in checked) reject({ line: record.line, reasons: checked.problems });
    else batch.push({ line: record.line, user: checked.user });
    if (batch.length >= batchSize) {
      await submit(batch);
      batch = [];
    }
  }
  if (batch.length > 0) await submit(batch);
  await inserting;
  options.onBatch?.(totals);
  return totals;
}
