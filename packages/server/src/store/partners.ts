import { randomUUID } from 'node:crypto';
import type { Db } from './database.ts';
import type { PartnerSettings } from './schema.ts';

export interface Partner {
  id: string;
  platformCode: string;
  name: string;
  status: 'active' | 'disabled';
  username: string;
  settings: PartnerSettings;
  createdAt: Date;
}

const columns = ['id', 'platform_code', 'name', 'status', 'username', 'settings', 'created_at'] as const;

function toPartner(row: {
  id: string;
  platform_code: string;
  name: string;
  status: 'active' | 'disabled';
  username: string;
  settings: PartnerSettings;
  created_at: Date;
}): Partner {
  return {
    id: row.id,
    platformCode: row.platform_code,
    name: row.name,
    status: row.status,
    username: row.username,
    settings: row.settings,
    createdAt: row.created_at,
  };
}

/** Creates the partner and its platform participant (the platform code is also a participant code). */
export async function insertPartner(
  db: Db,
  input: { name: string; platformCode: string; username: string; passwordHash: string; settings?: PartnerSettings },
): Promise<Partner> {
  return db.transaction().execute(async (trx) => {
    const row = await trx
      .insertInto('partners')
      .values({
        id: randomUUID(),
        platform_code: input.platformCode,
        name: input.name,
        status: 'active',
        username: input.username,
        password_hash: input.passwordHash,
        settings: JSON.stringify(input.settings ?? {}),
      })
      .returning(columns)
      .executeTakeFirstOrThrow();
    await trx
      .insertInto('participants')
      .values({
        id: randomUUID(),
        partner_id: row.id,
        participant_code: input.platformCode,
        kind: 'platform',
        email: null,
        status: 'approved',
        updated_at: new Date(),
      })
      .execute();
    return toPartner(row);
  });
}

export async function findPartnerByCode(db: Db, platformCode: string): Promise<Partner | undefined> {
  const row = await db
    .selectFrom('partners')
    .select(columns)
    .where('platform_code', '=', platformCode)
    .executeTakeFirst();
  return row && toPartner(row);
}

export async function findPartnerById(db: Db, id: string): Promise<Partner | undefined> {
  const row = await db.selectFrom('partners').select(columns).where('id', '=', id).executeTakeFirst();
  return row && toPartner(row);
}

export async function findPartnerLogin(
  db: Db,
  username: string,
): Promise<(Partner & { passwordHash: string }) | undefined> {
  const row = await db
    .selectFrom('partners')
    .select([...columns, 'password_hash'])
    .where('username', '=', username)
    .executeTakeFirst();
  return row && { ...toPartner(row), passwordHash: row.password_hash };
}

export async function listPartners(db: Db): Promise<Partner[]> {
  const rows = await db.selectFrom('partners').select(columns).orderBy('created_at').execute();
  return rows.map(toPartner);
}

export async function setPartnerStatus(db: Db, platformCode: string, status: Partner['status']): Promise<boolean> {
  const result = await db
    .updateTable('partners')
    .set({ status })
    .where('platform_code', '=', platformCode)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export async function updatePartnerSettings(db: Db, platformCode: string, settings: PartnerSettings): Promise<boolean> {
  const result = await db
    .updateTable('partners')
    .set({ settings: JSON.stringify(settings) })
    .where('platform_code', '=', platformCode)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}
