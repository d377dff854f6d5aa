import { randomBytes, randomUUID } from 'node:crypto';
import { randomToken, sha256Hex } from '../crypto/random.ts';
import { seal, unseal } from '../crypto/seal.ts';
import type { Db } from './database.ts';
import { isUuid } from './participants.ts';
import type { PartnerSettings } from './schema.ts';

/** What the HMAC surface needs to authenticate a request, loaded in one query. */
export interface HmacCredential {
  id: string;
  apiKey: string;
  partnerId: string;
  platformCode: string;
  partnerStatus: 'active' | 'disabled';
  partnerSettings: PartnerSettings;
  revoked: boolean;
  secret: Buffer;
  /** SHA-256 of the passphrase (the stored hex, decoded once here rather than on every request). */
  passphraseDigest: Buffer;
}

/** Shown once, at creation; only the sealed secret and the passphrase hash are kept. */
export interface IssuedHmacCredential {
  id: string;
  api_key: string;
  secret: string;
  passphrase: string;
}

const sealContext = (apiKey: string) => `hmac-credential:${apiKey}`;

export async function createHmacCredential(
  db: Db,
  masterKey: Buffer,
  partnerId: string,
  label: string | null = null,
): Promise<IssuedHmacCredential> {
  // A fixed prefix: recognisable in logs and secret scanners, and never read as an option when passed to the CLI.
  const apiKey = `ck_${randomToken(18)}`;
  const secret = randomBytes(32);
  const passphrase = randomToken(24);
  const id = randomUUID();
  await db
    .insertInto('hmac_credentials')
    .values({
      id,
      partner_id: partnerId,
      api_key: apiKey,
      secret_sealed: seal(masterKey, secret, sealContext(apiKey)),
      // The passphrase is 192 random bits: a fast hash is as strong as a slow one and keeps the hot path fast.
      passphrase_hash: sha256Hex(passphrase),
      label,
    })
    .execute();
  return { id, api_key: apiKey, secret: secret.toString('base64'), passphrase };
}

export async function findHmacCredential(
  db: Db,
  masterKey: Buffer,
  apiKey: string,
): Promise<HmacCredential | undefined> {
  const row = await db
    .selectFrom('hmac_credentials as c')
    .innerJoin('partners as p', 'p.id', 'c.partner_id')
    .select(['c.id', 'c.api_key', 'c.partner_id', 'c.secret_sealed', 'c.passphrase_hash', 'c.revoked_at'])
    .select(['p.platform_code', 'p.status', 'p.settings'])
    .where('c.api_key', '=', apiKey)
    .executeTakeFirst();
  if (!row) return undefined;
  return {
    id: row.id,
    apiKey: row.api_key,
    partnerId: row.partner_id,
    platformCode: row.platform_code,
    partnerStatus: row.status,
    partnerSettings: row.settings,
    revoked: row.revoked_at !== null,
    secret: unseal(masterKey, row.secret_sealed, sealContext(row.api_key)),
    passphraseDigest: Buffer.from(row.passphrase_hash, 'hex'),
  };
}

export async function revokeHmacCredential(db: Db, apiKey: string, at: Date): Promise<boolean> {
  const result = await db
    .updateTable('hmac_credentials')
    .set({ revoked_at: at })
    .where('api_key', '=', apiKey)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export async function listHmacCredentials(db: Db, partnerId: string) {
  return db
    .selectFrom('hmac_credentials')
    .select(['id', 'api_key', 'label', 'created_at', 'revoked_at'])
    .where('partner_id', '=', partnerId)
    .orderBy('created_at')
    .execute();
}

/** Bearer-surface API keys: 256 random bits, stored as SHA-256, shown once. */
export async function createApiKey(db: Db, partnerId: string, label: string | null = null) {
  const key = `hk_${randomToken(32)}`;
  const id = randomUUID();
  await db
    .insertInto('api_keys')
    .values({ id, partner_id: partnerId, key_hash: sha256Hex(key), prefix: key.slice(0, 10), label })
    .execute();
  return { id, api_key: key };
}

export async function revokeApiKey(db: Db, partnerId: string, idOrPrefix: string, at: Date): Promise<boolean> {
  const result = await db
    .updateTable('api_keys')
    .set({ revoked_at: at })
    .where('partner_id', '=', partnerId)
    .where((eb) => eb.or([eb('id', '=', isUuid(idOrPrefix) ? idOrPrefix : null), eb('prefix', '=', idOrPrefix)]))
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}
