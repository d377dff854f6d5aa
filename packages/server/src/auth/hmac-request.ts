import type { LookupCache } from '../cache/lookup-cache.ts';
import type { AdmissionCounter, ReplayGuard } from '../cache/replay-guard.ts';
import { computeRequestSignature, decodeSignature, signaturesMatch } from '../crypto/hmac.ts';
import { matchesSha256 } from '../crypto/random.ts';
import { HandoffError } from '../errors/catalogue.ts';
import type { HmacCredential } from '../store/credentials.ts';

export const timestampWindowSeconds = 60;

export const hmacHeaders = ['x-scx-api-key', 'x-scx-signed', 'x-scx-timestamp', 'x-scx-passphrase'] as const;

export interface SignedRequest {
  headers: Record<string, string | string[] | undefined>;
  method: string;
  /** Path and query string exactly as sent. */
  url: string;
  /** The raw body bytes; undefined or empty when the request had none (signs `{}`). */
  rawBody: Buffer | undefined;
}

/** Thrown with the credential attached when it was identified, so the rejection can be audited against it. */
export class HmacRejection extends HandoffError {
  credential: HmacCredential | undefined;
  /** For `rate_limited`: the counters that were over their limit. */
  overLimit: readonly string[] = [];
}

function reject(
  code: ConstructorParameters<typeof HandoffError>[0],
  credential?: HmacCredential,
  message?: string,
): never {
  const error = new HmacRejection(code, message === undefined ? {} : { message });
  error.credential = credential;
  throw error;
}

/**
 * Authenticates one request of the HMAC surface. Checks run cheapest first; the replay guard is claimed last,
 * only for a valid signature, so forged requests cannot fill it, and in the same operation the credential's rate
 * limits (`limitsFor`) are counted for a fresh request: over a limit rejects with 429 and Retry-After.
 */
export async function authenticateHmacRequest(
  request: SignedRequest,
  deps: { credentials: LookupCache<HmacCredential>; replayGuard: ReplayGuard; clock: () => number },
  limitsFor: (credential: HmacCredential) => readonly AdmissionCounter[],
): Promise<HmacCredential> {
  const values: string[] = [];
  for (const name of hmacHeaders) {
    const value = request.headers[name];
    if (typeof value !== 'string' || value.length === 0)
      reject('missing_header', undefined, `missing header ${name.toUpperCase()}`);
    values.push(value);
  }
  const [apiKey, signed, timestamp, passphrase] = values as [string, string, string, string];

  if (!/^\d{1,12}$/.test(timestamp)) reject('malformed_timestamp');
  const skew = Math.abs(deps.clock() / 1000 - Number(timestamp));
  if (skew > timestampWindowSeconds) reject('timestamp_outside_window');

  if (apiKey.length > 200) reject('unknown_api_key');
  const credential = await deps.credentials.get(apiKey);
  if (!credential) reject('unknown_api_key');
  if (credential.revoked) reject('credential_revoked', credential);
  if (credential.partnerStatus !== 'active') reject('partner_disabled', credential);
  if (!matchesSha256(passphrase, credential.passphraseDigest)) reject('bad_passphrase', credential);

  const provided = decodeSignature(signed);
  const expected = computeRequestSignature(
    credential.secret,
    timestamp,
    request.method,
    request.url,
    request.rawBody?.length ? request.rawBody : '{}',
  );
  if (!provided || !signaturesMatch(expected, provided)) reject('bad_signature', credential);

  // Keyed on the decoded bytes (base64 decoding is lenient: several spellings decode to one signature) and kept
  // until the signed timestamp has left the window on both sides, so every replay of a key has the same expiry.
  const admission = await deps.replayGuard.admit(
    `${apiKey}:${provided.toString('base64')}`,
    (Number(timestamp) + timestampWindowSeconds + 1) * 1000,
    limitsFor(credential),
  );
  if (!admission.fresh) reject('replay', credential);
  if (admission.retryAfterSeconds !== undefined) {
    const limited = new HmacRejection('rate_limited', { retryAfter: admission.retryAfterSeconds });
    limited.credential = credential;
    limited.overLimit = admission.overLimit;
    throw limited;
  }
  return credential;
}
