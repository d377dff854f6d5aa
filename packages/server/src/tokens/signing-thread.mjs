// The signing thread's side of `SigningThread` (compact-jws.ts). Plain JavaScript: a worker thread starts without
// the TypeScript loader that the main thread registers.
import { sign } from 'node:crypto';
import { parentPort } from 'node:worker_threads';

/** kid → [KeyObject, digest, dsaEncoding] as sent once per key by the main thread. */
const keys = new Map();

parentPort?.on('message', (message) => {
  for (const [kid, key, digest, dsaEncoding] of message.keys) keys.set(kid, { key, digest, dsaEncoding });
  const tokens = message.jobs.map(([kid, header, payload]) => {
    const entry = keys.get(kid);
    if (!entry) return null;
    try {
      const input = `${header}.${Buffer.from(payload).toString('base64url')}`;
      const { key, digest, dsaEncoding } = entry;
      const signature = sign(digest, Buffer.from(input), dsaEncoding ? { key, dsaEncoding } : key);
      return `${input}.${signature.toString('base64url')}`;
    } catch {
      return null;
    }
  });
  parentPort?.postMessage(tokens);
});
