import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { calculateJwkThumbprint, compactVerify, exportJWK, generateKeyPair } from 'jose';
import type { SigningAlgorithm } from '../src/config.ts';
import type { SigningKey } from '../src/crypto/signing-keys.ts';
import { signCompactJws } from '../src/tokens/compact-jws.ts';

async function signingKey(alg: SigningAlgorithm): Promise<SigningKey> {
  const { publicKey, privateKey } = await generateKeyPair(alg, {
    extractable: true,
    ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}),
  });
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  const now = new Date();
  return { kid, alg, privateKey, publicKey, publicJwk: { ...publicJwk, kid, alg }, activatesAt: now, createdAt: now };
}

async function verified(key: SigningKey, token: string) {
  const { payload, protectedHeader } = await compactVerify(token, key.publicKey, { algorithms: [key.alg] });
  return { header: protectedHeader, claims: JSON.parse(new TextDecoder().decode(payload)) };
}

test('tokens signed concurrently on the signing thread each carry their own payload, header and valid signature', async () => {
  const keys = await Promise.all((['ES256', 'EdDSA', 'RS256'] as const).map(signingKey));
  // Far more than one batch, with keys interleaved: answers must come back to the right caller, in any order.
  const calls = Array.from({ length: 300 }, (_, i) => ({ key: keys[i % keys.length] as SigningKey, n: i }));
  const tokens = await Promise.all(calls.map(({ key, n }) => signCompactJws(key, 'test+jwt', { n, sub: `user-${n}` })));
  for (const [i, token] of tokens.entries()) {
    const { key, n } = calls[i] as { key: SigningKey; n: number };
    const { header, claims } = await verified(key, token);
    assert.deepEqual(header, { alg: key.alg, kid: key.kid, typ: 'test+jwt' });
    assert.deepEqual(claims, { n, sub: `user-${n}` });
  }
});

test('a key that cannot sign fails its own calls only; the thread goes on signing', async () => {
  const good = await signingKey('ES256');
  // An Ed25519 key labelled ES256: node:crypto refuses an ECDSA signature with it.
  const mislabelled = { ...(await signingKey('EdDSA')), kid: 'mislabelled', alg: 'ES256' as const };
  const results = await Promise.allSettled([
    signCompactJws(good, 'test+jwt', { n: 1 }),
    signCompactJws(mislabelled, 'test+jwt', { n: 2 }),
    signCompactJws(good, 'test+jwt', { n: 3 }),
  ]);
  assert.deepEqual(
    results.map((r) => r.status),
    ['fulfilled', 'rejected', 'fulfilled'],
  );
  assert.match(String((results[1] as PromiseRejectedResult).reason), /signing with key mislabelled failed/);
  assert.deepEqual((await verified(good, await signCompactJws(good, 'test+jwt', { n: 4 }))).claims, { n: 4 });
});

test('an idle signing thread does not keep a process alive', () => {
  // A CLI command that signed a token must still exit by itself once its work is done.
  const script = path.resolve(import.meta.dirname, 'fixtures/sign-once.ts');
  const child = spawnSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(child.error, undefined, 'the process did not exit by itself');
  assert.equal(child.status, 0, child.stderr);
  assert.equal(child.stdout.trim(), '3');
});
