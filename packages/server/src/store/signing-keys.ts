import type { Db } from './database.ts';

export interface StoredSigningKey {
  kid: string;
  alg: string;
  publicJwk: Record<string, unknown>;
  privateSealed: string;
  createdAt: Date;
  activatesAt: Date;
}

export async function insertSigningKey(db: Db, key: StoredSigningKey): Promise<void> {
  await db
    .insertInto('signing_keys')
    .values({
      kid: key.kid,
      alg: key.alg,
      public_jwk: JSON.stringify(key.publicJwk),
      private_sealed: key.privateSealed,
      created_at: key.createdAt,
      activates_at: key.activatesAt,
    })
    .execute();
}

/** All keys, oldest activation first. */
export async function listSigningKeys(db: Db): Promise<StoredSigningKey[]> {
  const rows = await db.selectFrom('signing_keys').selectAll().orderBy('activates_at').orderBy('created_at').execute();
  return rows.map((row) => ({
    kid: row.kid,
    alg: row.alg,
    publicJwk: row.public_jwk,
    privateSealed: row.private_sealed,
    createdAt: row.created_at,
    activatesAt: row.activates_at,
  }));
}
