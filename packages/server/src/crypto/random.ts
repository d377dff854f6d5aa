import { hash, randomBytes, timingSafeEqual } from 'node:crypto';

// Tokens are cut from one 4 KiB draw of the CSPRNG (as node's randomUUID does), not one draw each: on the hot
// paths a draw per token was ~3% of the event loop.
let pool = randomBytes(4096);
let offset = 0;

/** A token from the CSPRNG, URL-safe (base64url, no padding). 32 bytes = 256 bits by default. */
export function randomToken(bytes = 32): string {
  if (bytes > 256) return randomBytes(bytes).toString('base64url');
  if (offset + bytes > pool.length) {
    pool = randomBytes(4096);
    offset = 0;
  }
  const token = pool.toString('base64url', offset, offset + bytes);
  // Each byte is handed out once.
  offset += bytes;
  return token;
}

/** SHA-256 as lowercase hex: how one-time tokens, API keys and passphrases are stored. */
export function sha256Hex(value: string): string {
  // One-shot: no Hash object per call (this runs on every request).
  return hash('sha256', value, 'hex');
}

/** Whether `value` hashes to `digest` (a stored SHA-256), compared in constant time: one hash per check. */
export function matchesSha256(value: string, digest: Buffer): boolean {
  const computed = hash('sha256', value, 'buffer');
  return digest.length === computed.length && timingSafeEqual(computed, digest);
}

/** Constant-time string equality: compares digests so neither length nor content leaks through timing. */
export function constantTimeEqual(a: string, b: string): boolean {
  return timingSafeEqual(hash('sha256', a, 'buffer'), hash('sha256', b, 'buffer'));
}

const codeAlphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** A 6-character participant/platform code, `[A-Z0-9]{6}`, without modulo bias. */
export function randomParticipantCode(): string {
  let code = '';
  while (code.length < 6) {
    for (const byte of randomBytes(12)) {
      // 252 = 7 * 36: reject the tail so each character is uniform.
      if (byte < 252 && code.length < 6) code += codeAlphabet[byte % 36];
    }
  }
  return code;
}
