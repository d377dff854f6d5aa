import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { computeRequestSignature, decodeSignature, signaturesMatch } from '../src/crypto/hmac.ts';
import { constantTimeEqual, randomParticipantCode, randomToken, sha256Hex } from '../src/crypto/random.ts';
import { seal, unseal } from '../src/crypto/seal.ts';

describe('request signatures (crypto/hmac.ts)', () => {
  test("the spec's test vector", () => {
    const secret = Buffer.from('2mC4ZvVd4goRkuJm+rjr9byUiaUW1b6tVN4xy9QXNSE=', 'base64');
    const signature = computeRequestSignature(
      secret,
      '1714445421',
      'GET',
      '/accounts?account_owner=00SCXM&account_group=BBLGTW',
      '{}',
    );
    assert.equal(signature.toString('base64'), 'nvY/lGZoaom8x6eHeMWlzF4NnGvGA3YPtrbCmyUSplo=');
  });

  test('the method is upper-cased and a Buffer body signs the same as its text', () => {
    const secret = randomBytes(32);
    const body = '{"permissions":["onboarding"]}';
    const fromText = computeRequestSignature(secret, '1', 'post', '/client_auth_token', body);
    const fromBytes = computeRequestSignature(secret, '1', 'POST', '/client_auth_token', Buffer.from(body));
    assert.deepEqual(fromText, fromBytes);
  });

  test('every part of the message changes the signature', () => {
    const secret = randomBytes(32);
    const base = computeRequestSignature(secret, '100', 'POST', '/a?x=1', '{}');
    const variants = [
      computeRequestSignature(randomBytes(32), '100', 'POST', '/a?x=1', '{}'),
      computeRequestSignature(secret, '101', 'POST', '/a?x=1', '{}'),
      computeRequestSignature(secret, '100', 'GET', '/a?x=1', '{}'),
      computeRequestSignature(secret, '100', 'POST', '/a?x=2', '{}'),
      computeRequestSignature(secret, '100', 'POST', '/a?x=1', '{ }'),
    ];
    for (const variant of variants) assert.equal(signaturesMatch(base, variant), false);
    assert.equal(signaturesMatch(base, Buffer.from(base)), true);
  });

  test('decodeSignature accepts only 32 decoded bytes', () => {
    const mac = randomBytes(32);
    assert.deepEqual(decodeSignature(mac.toString('base64')), mac);
    assert.equal(decodeSignature(randomBytes(31).toString('base64')), undefined);
    assert.equal(decodeSignature(randomBytes(33).toString('base64')), undefined);
    assert.equal(decodeSignature(''), undefined);
    assert.equal(signaturesMatch(mac, mac.subarray(0, 31)), false);
  });
});

describe('sealing secrets at rest (crypto/seal.ts)', () => {
  const masterKey = randomBytes(32);
  const secret = randomBytes(32);

  test('round trip, with a fresh IV each time', () => {
    const a = seal(masterKey, secret, 'hmac-credential:abc');
    const b = seal(masterKey, secret, 'hmac-credential:abc');
    assert.notEqual(a, b);
    assert.match(a, /^v1\.[\w-]+\.[\w-]+\.[\w-]+$/);
    assert.deepEqual(unseal(masterKey, a, 'hmac-credential:abc'), secret);
    assert.deepEqual(unseal(masterKey, b, 'hmac-credential:abc'), secret);
    assert.ok(!a.includes(secret.toString('base64url')));
  });

  test('does not open under another context, another key, or when tampered with', () => {
    const sealed = seal(masterKey, secret, 'hmac-credential:abc');
    assert.throws(() => unseal(masterKey, sealed, 'hmac-credential:abd'));
    assert.throws(() => unseal(masterKey, sealed, 'signing-key:abc'));
    assert.throws(() => unseal(randomBytes(32), sealed, 'hmac-credential:abc'));
    const [version, iv, tag, ciphertext] = sealed.split('.') as [string, string, string, string];
    const flipped = Buffer.from(ciphertext, 'base64url');
    flipped[0] = (flipped[0] as number) ^ 1;
    assert.throws(() =>
      unseal(masterKey, [version, iv, tag, flipped.toString('base64url')].join('.'), 'hmac-credential:abc'),
    );
    assert.throws(() => unseal(masterKey, `v2.${iv}.${tag}.${ciphertext}`, 'hmac-credential:abc'), /unknown format/);
    assert.throws(() => unseal(masterKey, 'garbage', 'hmac-credential:abc'), /unknown format/);
  });
});

describe('random values (crypto/random.ts)', () => {
  test('randomToken: ≥128 bits, URL-safe, no padding, never repeats', () => {
    const tokens = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const token = randomToken();
      assert.match(token, /^[A-Za-z0-9_-]+$/);
      assert.ok(Buffer.from(token, 'base64url').length >= 16);
      assert.equal(Buffer.from(token, 'base64url').length, 32);
      tokens.add(token);
    }
    assert.equal(tokens.size, 200);
    assert.equal(Buffer.from(randomToken(16), 'base64url').length, 16);
    assert.match(randomToken(16), /^[A-Za-z0-9_-]{22}$/);
  });

  test('randomParticipantCode: 6 characters of [A-Z0-9], every character of the alphabet reachable', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 500; i++) {
      const code = randomParticipantCode();
      assert.match(code, /^[A-Z0-9]{6}$/);
      for (const c of code) seen.add(c);
    }
    // 3000 draws over 36 symbols: missing one by chance has probability ~36·(35/36)^3000 ≈ 10^-35.
    assert.equal(seen.size, 36);
  });

  test('sha256Hex and constantTimeEqual', () => {
    assert.equal(sha256Hex('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    assert.equal(constantTimeEqual('same', 'same'), true);
    assert.equal(constantTimeEqual('same', 'Same'), false);
    assert.equal(constantTimeEqual('short', 'a much longer value'), false);
    assert.equal(constantTimeEqual('', ''), true);
  });
});
