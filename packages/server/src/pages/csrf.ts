import { createHmac, hkdfSync } from 'node:crypto';
import { constantTimeEqual } from '../crypto/random.ts';

/**
 * CSRF tokens for the pages' forms: HMAC-SHA256 over the form's action and a secret the browser holds in an
 * HttpOnly cookie (the pre-session before sign-in, the session after). Nothing is stored: any instance sharing
 * the master key verifies any other's tokens. A token is valid for one form and one browser only, and cannot be
 * computed without the server's key even by someone who can set cookies for the site.
 *
 * An Origin check cannot do this job: pages send `Referrer-Policy: no-referrer`, under which browsers send
 * `Origin: null` on same-origin form posts.
 */
const keys = new WeakMap<Buffer, Buffer>();

function csrfKey(masterKey: Buffer): Buffer {
  let key = keys.get(masterKey);
  if (!key) {
    // A key of its own, derived once, so a CSRF token is never a MAC under a key used for anything else.
    key = Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), 'handoff pages csrf v1', 32));
    keys.set(masterKey, key);
  }
  return key;
}

export function csrfToken(masterKey: Buffer, binding: string, formAction: string): string {
  return createHmac('sha256', csrfKey(masterKey)).update(`${formAction}\n${binding}`).digest('base64url');
}

export function isValidCsrfToken(
  masterKey: Buffer,
  binding: string | undefined,
  formAction: string,
  presented: string | undefined,
): boolean {
  if (!binding || !presented) return false;
  return constantTimeEqual(csrfToken(masterKey, binding, formAction), presented);
}
