import type { CryptoKey } from 'jose';
import { sleep } from './http.ts';

const encoder = new TextEncoder();

export function base64ToBytes(value: string): Uint8Array<ArrayBuffer> {
  const binary = atob(value);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export function bytesToBase64(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/**
 * `base64(HMAC-SHA256(key = base64decode(secret), message = timestamp + METHOD + path + body))` with WebCrypto,
 * so it runs wherever `crypto.subtle` does. `body` is the exact string sent; a request without one signs `{}`.
 */
export async function computeSignature(
  key: CryptoKey,
  message: { timestamp: number; method: string; path: string; body: string | undefined },
): Promise<string> {
  const text = `${message.timestamp}${message.method.toUpperCase()}${message.path}${message.body ?? '{}'}`;
  return bytesToBase64(new Uint8Array(await globalThis.crypto.subtle.sign('HMAC', key, encoder.encode(text))));
}

export function importHmacSecret(secret: string): Promise<CryptoKey> {
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = base64ToBytes(secret);
  } catch {
    throw new TypeError('secret must be the base64 secret issued with the api key');
  }
  if (bytes.length === 0) throw new TypeError('secret must not be empty');
  return globalThis.crypto.subtle.importKey('raw', bytes, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
}

/**
 * Signs the requests of one credential. The server accepts a signature once, and a signature depends only on
 * the second, the method, the path and the body: two identical requests in the same second (a retry, or a
 * caller repeating itself) would be one signature, i.e. a replay. So each request reserves its
 * (second, request) pair synchronously, and a request whose pair is taken waits for the next second.
 */
export class RequestSigner {
  readonly #key: Promise<CryptoKey>;
  /** Requests signed per second; only the current and the previous second can still collide. */
  readonly #reserved = new Map<number, Set<string>>();

  constructor(
    secret: string,
    private readonly apiKey: string,
    private readonly passphrase: string,
    private readonly clock: () => number,
  ) {
    this.#key = importHmacSecret(secret);
    // Surface a bad secret at the first request, not as an unhandled rejection now.
    this.#key.catch(() => {});
  }

  async headers(method: string, path: string, body: string | undefined): Promise<Record<string, string>> {
    const timestamp = await this.#reserveSecond(`${method.toUpperCase()}${path}\n${body ?? '{}'}`);
    const signature = await computeSignature(await this.#key, { timestamp, method, path, body });
    return {
      'x-scx-api-key': this.apiKey,
      'x-scx-signed': signature,
      'x-scx-timestamp': String(timestamp),
      'x-scx-passphrase': this.passphrase,
    };
  }

  async #reserveSecond(request: string): Promise<number> {
    // Bounded: after a wait the second has moved on, unless the clock is stepped back; then give up loudly.
    for (let attempt = 0; attempt < 5; attempt++) {
      const second = Math.floor(this.clock() / 1000);
      for (const taken of this.#reserved.keys()) if (taken < second - 1) this.#reserved.delete(taken);
      const requests = this.#reserved.get(second) ?? new Set<string>();
      if (!requests.has(request)) {
        requests.add(request);
        this.#reserved.set(second, requests);
        return second;
      }
      await sleep(Math.max(1, (second + 1) * 1000 - this.clock()));
    }
    throw new Error('could not find a fresh second to sign in: is the clock going backwards?');
  }
}
