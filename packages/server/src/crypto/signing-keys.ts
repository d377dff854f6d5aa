import { type CryptoKey, calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import { sql } from 'kysely';
import type { SigningAlgorithm } from '../config.ts';
import type { Db } from '../store/database.ts';
import { insertSigningKey, listSigningKeys, type StoredSigningKey } from '../store/signing-keys.ts';
import { seal, unseal } from './seal.ts';

/** The longest any token we sign lives; a retired key stays published this long after its successor activates. */
export const maxTokenLifetimeSeconds = 3600;
/** Clock skew verifiers may allow on top. */
const skewSeconds = 60;

const sealContext = (kid: string) => `signing-key:${kid}`;

export interface SigningKey {
  kid: string;
  alg: SigningAlgorithm;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  publicJwk: JWK;
  activatesAt: Date;
  createdAt: Date;
}

/** Generates a key pair, seals its private half under the master key, and returns the row to store. */
export async function generateSigningKey(
  masterKey: Buffer,
  alg: SigningAlgorithm,
  now: Date,
  activatesAt: Date,
): Promise<StoredSigningKey> {
  const { publicKey, privateKey } = await generateKeyPair(alg, {
    extractable: true,
    ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}),
    ...(alg === 'RS256' ? { modulusLength: 2048 } : {}),
  });
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  const privateJwk = await exportJWK(privateKey);
  return {
    kid,
    alg,
    publicJwk: { ...publicJwk, kid, alg, use: 'sig' },
    privateSealed: seal(masterKey, Buffer.from(JSON.stringify(privateJwk)), sealContext(kid)),
    createdAt: now,
    activatesAt,
  };
}

/**
 * Creates the first signing key if the store has none that signs yet (`handoff keys rotate` before the first start
 * leaves only a pending one). Serialised with an advisory lock so instances starting together agree on one key.
 */
export async function ensureSigningKey(
  db: Db,
  masterKey: Buffer,
  alg: SigningAlgorithm,
  clock: () => number,
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await sql`SELECT pg_advisory_xact_lock(7243001)`.execute(trx);
    // The time is read once the lock is held: read before, an instance that waited behind another could find that
    // one's first key "not yet active" by a few milliseconds and add a second.
    const now = new Date(clock());
    const existing = await trx
      .selectFrom('signing_keys')
      .select('kid')
      .where('activates_at', '<=', now)
      .limit(1)
      .executeTakeFirst();
    if (!existing) await insertSigningKey(trx, await generateSigningKey(masterKey, alg, now, now));
  });
}

/** Publishes a new key now; it starts signing after `activationDelaySeconds` (once JWKS caches have seen it). */
export async function rotateSigningKey(
  db: Db,
  masterKey: Buffer,
  alg: SigningAlgorithm,
  now: Date,
  activationDelaySeconds: number,
): Promise<StoredSigningKey> {
  const key = await generateSigningKey(masterKey, alg, now, new Date(now.getTime() + activationDelaySeconds * 1000));
  await insertSigningKey(db, key);
  return key;
}

export type KeyState = 'pending' | 'active' | 'retiring' | 'expired';

/**
 * The signing keys as every instance sees them: loaded from the store (so all instances sign with the same key and
 * publish the same JWKS), imported once, reloaded periodically and on an unknown `kid`.
 */
export class KeyRing {
  #keys: SigningKey[] = [];
  #lastLoad = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Db,
    private readonly masterKey: Buffer,
    private readonly clock: () => number,
  ) {}

  async load(): Promise<void> {
    const stored = await listSigningKeys(this.db);
    const known = new Map(this.#keys.map((k) => [k.kid, k]));
    const keys: SigningKey[] = [];
    for (const row of stored) {
      const existing = known.get(row.kid);
      if (existing) {
        keys.push(existing);
        continue;
      }
      const alg = row.alg as SigningAlgorithm;
      const privateJwk = JSON.parse(unseal(this.masterKey, row.privateSealed, sealContext(row.kid)).toString()) as JWK;
      keys.push({
        kid: row.kid,
        alg,
        privateKey: (await importJWK(privateJwk, alg)) as CryptoKey,
        publicKey: (await importJWK(row.publicJwk as JWK, alg)) as CryptoKey,
        publicJwk: row.publicJwk as JWK,
        activatesAt: row.activatesAt,
        createdAt: row.createdAt,
      });
    }
    this.#keys = keys;
    this.#lastLoad = this.clock();
  }

  /** Reloads every `seconds`; the timer does not keep the process alive. */
  startRefresh(seconds: number, onError: (error: unknown) => void): void {
    this.#timer = setInterval(() => this.load().catch(onError), seconds * 1000);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** The newest key whose activation time has come. */
  signingKey(): SigningKey {
    const now = this.clock();
    let current: SigningKey | undefined;
    for (const key of this.#keys) if (key.activatesAt.getTime() <= now) current = key;
    if (!current) throw new Error('no active signing key');
    return current;
  }

  stateOf(key: SigningKey): KeyState {
    const now = this.clock();
    if (key.activatesAt.getTime() > now) return 'pending';
    const successor = this.#keys.find((k) => k.activatesAt > key.activatesAt && k.activatesAt.getTime() <= now);
    if (!successor) return 'active';
    return successor.activatesAt.getTime() + (maxTokenLifetimeSeconds + skewSeconds) * 1000 > now
      ? 'retiring'
      : 'expired';
  }

  /** Pending keys (published before they sign), the active key, and retired keys whose tokens may still live. */
  publishedKeys(): SigningKey[] {
    return this.#keys.filter((k) => this.stateOf(k) !== 'expired');
  }

  all(): readonly SigningKey[] {
    return this.#keys;
  }

  jwks(): { keys: JWK[] } {
    return { keys: this.publishedKeys().map((k) => k.publicJwk) };
  }

  algorithms(): SigningAlgorithm[] {
    return [...new Set(this.publishedKeys().map((k) => k.alg))];
  }

  /** A published key by `kid`; on a miss, reloads once (at most every 10 s) in case another process rotated. */
  async verificationKey(kid: string | undefined): Promise<SigningKey | undefined> {
    const find = () => this.publishedKeys().find((k) => k.kid === kid);
    const hit = find();
    if (hit || kid === undefined || this.clock() - this.#lastLoad < 10_000) return hit;
    await this.load();
    return find();
  }
}
