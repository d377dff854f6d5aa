import { createHmac, timingSafeEqual } from 'node:crypto';

/** `base64(HMAC-SHA256(secret, timestamp + METHOD + path + body))`, as raw bytes. A missing body signs `{}`. */
export function computeRequestSignature(
  secret: Buffer,
  timestamp: string,
  method: string,
  pathWithQuery: string,
  rawBody: Buffer | string,
): Buffer {
  return createHmac('sha256', secret)
    .update(timestamp + method.toUpperCase() + pathWithQuery)
    .update(rawBody)
    .digest();
}

/** Decodes the base64 signature header; `undefined` when it cannot be a SHA-256 MAC. */
export function decodeSignature(header: string): Buffer | undefined {
  const bytes = Buffer.from(header, 'base64');
  return bytes.length === 32 ? bytes : undefined;
}

/** Constant-time comparison of two MACs (both 32 bytes by construction). */
export function signaturesMatch(expected: Buffer, provided: Buffer): boolean {
  return expected.length === provided.length && timingSafeEqual(expected, provided);
}
