import { randomUUID } from 'node:crypto';
import { participantStatuses } from '@handoff/sdk/contract';
import { randomParticipantCode } from '../crypto/random.ts';
import type { Db } from './database.ts';
import { preparedQuery } from './prepared.ts';
import type { ParticipantKind, ParticipantStatus } from './schema.ts';

export { participantStatuses };

export interface Participant {
  uuid: string;
  partnerId: string;
  participantCode: string;
  kind: ParticipantKind;
  email: string | null;
  phoneNumber: string | null;
  status: ParticipantStatus;
  firstName: string | null;
  lastName: string | null;
  deleted: boolean;
}

const columns = [
  'id',
  'partner_id',
  'participant_code',
  'kind',
  'email',
  'phone_number',
  'status',
  'first_name',
  'last_name',
  'deleted_at',
] as const;

type Row = {
  id: string;
  partner_id: string;
  participant_code: string;
  kind: ParticipantKind;
  email: string | null;
  phone_number: string | null;
  status: ParticipantStatus;
  first_name: string | null;
  last_name: string | null;
  deleted_at: Date | null;
};

const toParticipant = (row: Row): Participant => ({
  uuid: row.id,
  partnerId: row.partner_id,
  participantCode: row.participant_code,
  kind: row.kind,
  email: row.email,
  phoneNumber: row.phone_number,
  status: row.status,
  firstName: row.first_name,
  lastName: row.last_name,
  deleted: row.deleted_at !== null,
});

export class DuplicateParticipantError extends Error {
  override name = 'DuplicateParticipantError';
  /** A generated code collided (1 in ~2 billion): trying again with a fresh code will work. */
  readonly retryable: boolean;
  constructor(message: string, retryable = false) {
    super(message);
    this.retryable = retryable;
  }
}

export interface NewParticipant {
  partnerId: string;
  email: string | null;
  phoneNumber?: string | null;
  status?: ParticipantStatus;
  kind?: ParticipantKind;
  participantCode?: string;
  passwordHash?: string | null;
  firstName?: string | null;
  lastName?: string | null;
}

const isUniqueViolation = (error: unknown) => (error as { code?: string }).code === '23505';

export async function insertParticipant(db: Db, input: NewParticipant): Promise<Participant> {
  // A generated code can collide with an existing one (36^6 codes); retry with a fresh one.
  for (let attempt = 0; ; attempt++) {
    try {
      const row = await db
        .insertInto('participants')
        .values({
          id: randomUUID(),
          partner_id: input.partnerId,
          participant_code: input.participantCode ?? randomParticipantCode(),
          kind: input.kind ?? 'individual',
          email: input.email,
          phone_number: input.phoneNumber ?? null,
          status: input.status ?? 'approved',
          password_hash: input.passwordHash ?? null,
          first_name: input.firstName ?? null,
          last_name: input.lastName ?? null,
          updated_at: new Date(),
        })
        .returning(columns)
        .executeTakeFirstOrThrow();
      return toParticipant(row);
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      const detail = String(
        (error as { constraint?: string; message?: string }).constraint ?? (error as Error).message,
      );
      if (detail.includes('email')) throw new DuplicateParticipantError('a participant with this email already exists');
      // Inside a transaction the failed INSERT aborted it: the caller must retry the whole transaction.
      if (input.participantCode || attempt >= 5 || db.isTransaction) {
        throw new DuplicateParticipantError('participant code already in use', !input.participantCode);
      }
    }
  }
}

const participantByCode = preparedQuery<{ partnerId: string; code: string }, Row>((db, param) =>
  db
    .selectFrom('participants')
    .select(columns)
    .where('partner_id', '=', param('partnerId'))
    .where('participant_code', '=', param('code'))
    .where('deleted_at', 'is', null),
);

/** The partner's live participant with this code; another partner's participant is simply not found. */
export async function findParticipantByCode(db: Db, partnerId: string, code: string): Promise<Participant | undefined> {
  const row = (await participantByCode(db, { partnerId, code })).rows[0];
  return row && toParticipant(row);
}

export async function findParticipantByEmail(
  db: Db,
  partnerId: string,
  email: string,
): Promise<(Participant & { passwordHash: string | null }) | undefined> {
  const row = await db
    .selectFrom('participants')
    .select([...columns, 'password_hash'])
    .where('partner_id', '=', partnerId)
    .where((eb) => eb(eb.fn('lower', ['email']), '=', email.toLowerCase()))
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  return row && { ...toParticipant(row), passwordHash: row.password_hash };
}

/** The participant cache's key: partner ids are UUIDs and codes [A-Z0-9], so a space separates them safely. */
export const participantKey = (partnerId: string, code: string): string => `${partnerId} ${code}`;
export const splitParticipantKey = (key: string): [partnerId: string, code: string] => {
  const space = key.indexOf(' ');
  return [key.slice(0, space), key.slice(space + 1)];
};

/** UUID syntax; checked before a query so a malformed id is "not found", never a database error. */
export const isUuid = (value: string): boolean =>
  /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);

/** By uuid, including soft-deleted rows (callers tell "deleted" apart from "never existed"). */
export async function findParticipantByUuid(db: Db, partnerId: string, uuid: string): Promise<Participant | undefined> {
  if (!isUuid(uuid)) return undefined;
  const row = await db
    .selectFrom('participants')
    .select(columns)
    .where('partner_id', '=', partnerId)
    .where('id', '=', uuid)
    .executeTakeFirst();
  return row && toParticipant(row);
}

/** The participant an identifier is linked to, for this partner only, in one query (soft-deleted rows included). */
export async function findParticipantByIdentifier(
  db: Db,
  partnerId: string,
  identifier: string,
): Promise<Participant | undefined> {
  const row = await db
    .selectFrom('identifiers as i')
    .innerJoin('participants as p', 'p.id', 'i.participant_id')
    .select(columns.map((column) => `p.${column}` as const))
    .where('i.identifier', '=', identifier)
    .where('i.partner_id', '=', partnerId)
    .where('i.status', '=', 'linked')
    .where('p.partner_id', '=', partnerId)
    .executeTakeFirst();
  return row && toParticipant(row);
}

export async function setParticipantStatus(db: Db, partnerId: string, code: string, status: ParticipantStatus) {
  const result = await db
    .updateTable('participants')
    .set({ status, updated_at: new Date() })
    .where('partner_id', '=', partnerId)
    .where('participant_code', '=', code)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export async function softDeleteParticipant(db: Db, partnerId: string, uuid: string, at: Date): Promise<boolean> {
  const result = await db
    .updateTable('participants')
    .set({ deleted_at: at, updated_at: at })
    .where('partner_id', '=', partnerId)
    .where('id', '=', uuid)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}
