import type { Db } from './database.ts';
import type { PartnerSettings } from './schema.ts';

export interface ApiKeyOwner {
  apiKeyId: string;
  revoked: boolean;
  partnerId: string;
  platformCode: string;
  partnerStatus: 'active' | 'disabled';
  settings: PartnerSettings;
  lastUsedAt: Date | null;
}

export async function findApiKeyByHash(db: Db, keyHash: string): Promise<ApiKeyOwner | undefined> {
  const row = await db
    .selectFrom('api_keys as k')
    .innerJoin('partners as p', 'p.id', 'k.partner_id')
    .select([
      'k.id',
      'k.revoked_at',
      'k.last_used_at',
      'p.id as partner_id',
      'p.platform_code',
      'p.status',
      'p.settings',
    ])
    .where('k.key_hash', '=', keyHash)
    .executeTakeFirst();
  return (
    row && {
      apiKeyId: row.id,
      revoked: row.revoked_at !== null,
      partnerId: row.partner_id,
      platformCode: row.platform_code,
      partnerStatus: row.status,
      settings: row.settings,
      lastUsedAt: row.last_used_at,
    }
  );
}

/** Records use at most once a minute per key, so an API-key request does not always cost a write. */
export async function touchApiKey(db: Db, apiKeyId: string, now: Date): Promise<void> {
  await db
    .updateTable('api_keys')
    .set({ last_used_at: now })
    .where('id', '=', apiKeyId)
    .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', new Date(now.getTime() - 60_000))]))
    .execute();
}
