import { KeyObject } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import type { SigningAlgorithm } from '../config.ts';
import { randomToken } from '../crypto/random.ts';
import type { SigningKey } from '../crypto/signing-keys.ts';

/** node:crypto's name for each JWS algorithm's digest, and the JWS signature encoding (RFC 7518 §3.4 for ECDSA). */
const algorithms: Record<SigningAlgorithm, { digest: string | null; dsaEncoding?: 'ieee-p1363' }> = {
  ES256: { digest: 'sha256', dsaEncoding: 'ieee-p1363' },
  EdDSA: { digest: null },
  RS256: { digest: 'sha256' },
};

interface Job {
  key: SigningKey;
  header: string;
  payload: string;
  resolve: (token: string) => void;
  reject: (error: Error) => void;
}

/**
 * Tokens per message. Small batches let the first answers go out while the thread signs the next ones (one batch
 * for a whole turn made every request of that turn wait for the last signature: −15% req/s); 2 to 8 measured alike.
 */
const batchSize = 8;

/**
 * One worker thread signs every token of the process: the requests that reach signing in one turn of the event
 * loop are sent in batches of `batchSize`, each answered by one message. Measured on the client_auth_token hot path
 * against node:crypto's asynchronous `sign` (libuv's pool, one job and two thread wake-ups per token):
 * bench/README.md, change 14. The worker holds each private key as a KeyObject, sent once per key.
 */
class SigningThread {
  #worker: Worker | undefined;
  #known = new Set<string>();
  #queued: Job[] = [];
  /** Batches sent, in order: the worker answers them in the order it received them. */
  #sent: Job[][] = [];

  sign(key: SigningKey, header: string, payload: string): Promise<string> {
    return new Promise((resolve, reject) => {
      if (this.#queued.length === 0) setImmediate(() => this.#flush());
      this.#queued.push({ key, header, payload, resolve, reject });
    });
  }

  #flush(): void {
    while (this.#queued.length > 0) this.#send(this.#queued.splice(0, batchSize));
  }

  #send(batch: Job[]): void {
    const worker = this.#start();
    const keys: Array<[string, KeyObject, string | null, string | undefined]> = [];
    for (const { key } of batch) {
      if (this.#known.has(key.kid)) continue;
      this.#known.add(key.kid);
      const { digest, dsaEncoding } = algorithms[key.alg];
      keys.push([key.kid, KeyObject.from(key.privateKey), digest, dsaEncoding]);
    }
    // Keep the process alive only while tokens are being signed.
    if (this.#sent.length === 0) worker.ref();
    this.#sent.push(batch);
    worker.postMessage({ keys, jobs: batch.map((job) => [job.key.kid, job.header, job.payload]) });
  }

  #start(): Worker {
    if (this.#worker) return this.#worker;
    const worker = new Worker(new URL('./signing-thread.mjs', import.meta.url));
    worker.unref();
    worker.on('message', (tokens: Array<string | null>) => {
      const batch = this.#sent.shift() ?? [];
      if (this.#sent.length === 0) worker.unref();
      batch.forEach((job, i) => {
        const token = tokens[i];
        if (token) job.resolve(token);
        else job.reject(new Error(`signing with key ${job.key.kid} failed`));
      });
    });
    const fail = (error: Error) => {
      if (this.#worker !== worker) return;
      this.#worker = undefined;
      this.#known.clear();
      for (const job of this.#sent.flat()) job.reject(error);
      this.#sent = [];
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`signing thread exited with code ${code}`)));
    this.#worker = worker;
    return worker;
  }
}

const signingThread = new SigningThread();

/** base64url of the protected header `{"alg","kid","typ"}`, encoded once per key and type. */
const headers = new WeakMap<SigningKey, Map<string, string>>();

function protectedHeader(key: SigningKey, typ: string): string {
  let byType = headers.get(key);
  if (!byType) {
    byType = new Map();
    headers.set(key, byType);
  }
  let header = byType.get(typ);
  if (header === undefined) {
    header = Buffer.from(JSON.stringify({ alg: key.alg, kid: key.kid, typ })).toString('base64url');
    byType.set(typ, header);
  }
  return header;
}

/**
 * Signs a compact JWS (a JWT when `payload` is a claims set) off the event loop, on the signing thread: the event
 * loop only serialises the payload.
 */
export function signCompactJws(key: SigningKey, typ: string, payload: object): Promise<string> {
  return signingThread.sign(key, protectedHeader(key, typ), JSON.stringify(payload));
}

/** A 128-bit random `jti`, base64url. */
export const randomJti = (): string => randomToken(16);
