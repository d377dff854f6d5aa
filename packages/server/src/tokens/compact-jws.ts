import { KeyObject, sign } from 'node:crypto';
import type { SigningAlgorithm } from '../config.ts';
import { randomToken } from '../crypto/random.ts';
import type { SigningKey } from '../crypto/signing-keys.ts';

/** node:crypto's name for each JWS algorithm's digest, and the JWS signature encoding (RFC 7518 §3.4 for ECDSA). */
const algorithms: Record<SigningAlgorithm, { digest: string | null; dsaEncoding?: 'ieee-p1363' }> = {
  ES256: { digest: 'sha256', dsaEncoding: 'ieee-p1363' },
  EdDSA: { digest: null },
  RS256: { digest: 'sha256' },
};

interface PreparedKey {
  keyObject: KeyObject;
  /** base64url of the protected header, per `typ`. */
  headers: Map<string, string>;
}

// Keyed by the KeyRing's key objects, which live as long as the key is loaded; a rotated-out key is collected.
const prepared = new WeakMap<SigningKey, PreparedKey>();

function prepare(key: SigningKey): PreparedKey {
  let entry = prepared.get(key);
  if (!entry) {
    entry = { keyObject: KeyObject.from(key.privateKey), headers: new Map() };
    prepared.set(key, entry);
  }
  return entry;
}

/**
 * Signs a compact JWS (a JWT when `payload` is a claims set) with node:crypto's asynchronous `sign`, which runs
 * on libuv's thread pool: the event loop only serialises. Measured on the client_auth_token hot path, jose's
 * SignJWT (WebCrypto) cost ~30 µs of event-loop time per token against ~8 µs here (bench/README.md). The header
 * is `{"alg","kid","typ"}`, encoded once per key and type.
 */
export function signCompactJws(key: SigningKey, typ: string, payload: object): Promise<string> {
  const entry = prepare(key);
  let header = entry.headers.get(typ);
  if (header === undefined) {
    header = Buffer.from(JSON.stringify({ alg: key.alg, kid: key.kid, typ })).toString('base64url');
    entry.headers.set(typ, header);
  }
  const signingInput = `${header}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
  const { digest, dsaEncoding } = algorithms[key.alg];
  return new Promise((resolve, reject) => {
    sign(
      digest,
      Buffer.from(signingInput),
      dsaEncoding ? { key: entry.keyObject, dsaEncoding } : entry.keyObject,
      (error, signature) => {
        if (error) reject(error);
        else resolve(`${signingInput}.${signature.toString('base64url')}`);
      },
    );
  });
}

/** A 128-bit random `jti`, base64url. */
export const randomJti = (): string => randomToken(16);
