import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createLocalJWKSet, decodeProtectedHeader, type JSONWebKeySet, jwtVerify } from 'jose';
import type { NewPartnerAccount } from '../src/admin/accounts.ts';
import type { SigningAlgorithm } from '../src/config.ts';
import { rotateSigningKey } from '../src/crypto/signing-keys.ts';
import { signedRequest, startTestApp, storeName, type TestApp } from './harness.ts';

const activationDelay = 600;
/** A retired key stays published for the longest token lifetime plus the verifiers' clock skew. */
const overlapSeconds = 3600 + 60;

async function jwks(t: TestApp): Promise<JSONWebKeySet> {
  const response = await t.app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
  assert.equal(response.statusCode, 200);
  return response.json();
}
const kids = async (t: TestApp) => (await jwks(t)).keys.map((k) => k.kid);

async function issue(t: TestApp, partner: NewPartnerAccount): Promise<string> {
  const response = await signedRequest(t, partner.hmac, '/client_auth_token', {
    participant_code: 'ALICE1',
    permissions: ['crypto-buy'],
  });
  assert.equal(response.statusCode, 201, response.body);
  return response.json().message.token;
}

/** What an independent verifier does: our published JWKS, pinned algorithms, typ, issuer, audience. */
async function verifyWith(t: TestApp, keySet: JSONWebKeySet, token: string, algorithms: SigningAlgorithm[]) {
  return jwtVerify(token, createLocalJWKSet(keySet), {
    algorithms,
    typ: 'client-auth+jwt',
    issuer: 'http://handoff.test',
    audience: 'handoff-sdk',
    currentDate: new Date(t.clock.now),
  });
}

const introspect = async (t: TestApp, partner: NewPartnerAccount, token: string) =>
  (await signedRequest(t, partner.hmac, '/introspect', { token })).json().active as boolean;

describe(`signing-key rotation (${storeName})`, () => {
  let t: TestApp;
  let partner: NewPartnerAccount;

  before(async () => {
    t = await startTestApp();
    partner = await t.createPartner({ platformCode: 'PLAT01' });
    await t.createUser({ partnerCode: 'PLAT01', participantCode: 'ALICE1' });
  });
  after(() => t.close());

  test('the JWKS publishes one public key, cacheable for a few minutes, with no private part', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
    const cacheControl = String(response.headers['cache-control']);
    assert.match(cacheControl, /\bpublic\b/);
    const maxAge = Number(/max-age=(\d+)/.exec(cacheControl)?.[1]);
    assert.ok(maxAge >= 60 && maxAge <= 600, cacheControl);
    // Caches must see a rotated key before it signs.
    assert.ok(maxAge < t.ctx.config.keyActivationDelaySeconds);
    const { keys } = response.json() as JSONWebKeySet;
    assert.equal(keys.length, 1);
    const [key] = keys as [JSONWebKeySet['keys'][number]];
    assert.equal(key.alg, 'ES256');
    assert.equal(key.use, 'sig');
    assert.equal(key.kty, 'EC');
    assert.ok(key.kid);
    assert.equal((key as { d?: string }).d, undefined);
  });

  test('rotation: published first, signs after the delay, the old key stays until its tokens are gone', async () => {
    const [oldKid] = await kids(t);
    const beforeRotation = await issue(t, partner);
    assert.equal(decodeProtectedHeader(beforeRotation).kid, oldKid);

    const rotatedAt = t.clock.now;
    const rotated = await rotateSigningKey(t.ctx.db, t.ctx.masterKey, 'ES256', new Date(rotatedAt), activationDelay);
    await t.ctx.keyRing.load();
    assert.notEqual(rotated.kid, oldKid);
    assert.deepEqual(await kids(t), [oldKid, rotated.kid]);

    // Pending: published, not yet signing.
    const pending = await issue(t, partner);
    assert.equal(decodeProtectedHeader(pending).kid, oldKid);

    // Just before activation the old key still signs; at activation the new one takes over.
    t.clock.now = rotatedAt + (activationDelay - 1) * 1000;
    const lastOld = await issue(t, partner);
    assert.equal(decodeProtectedHeader(lastOld).kid, oldKid);
    const activatedAt = rotatedAt + activationDelay * 1000;
    t.clock.now = activatedAt;
    const firstNew = await issue(t, partner);
    assert.equal(decodeProtectedHeader(firstNew).kid, rotated.kid);
    assert.deepEqual(await kids(t), [oldKid, rotated.kid]);

    // During the overlap, tokens of both keys verify with the published JWKS, and introspect as active.
    const overlap = await jwks(t);
    for (const token of [lastOld, firstNew]) {
      await verifyWith(t, overlap, token, ['ES256']);
      assert.equal(await introspect(t, partner, token), true);
    }

    // The last token the old key signed expires (plus skew) before the old key leaves the JWKS.
    const lastOldExp = (await verifyWith(t, overlap, lastOld, ['ES256'])).payload.exp as number;
    assert.ok((lastOldExp + 60) * 1000 <= activatedAt + overlapSeconds * 1000);

    t.clock.now = activatedAt + (overlapSeconds - 1) * 1000;
    assert.deepEqual(await kids(t), [oldKid, rotated.kid]);
    t.clock.now = activatedAt + overlapSeconds * 1000;
    assert.deepEqual(await kids(t), [rotated.kid]);

    // Gone from the JWKS means gone for us too: an old-key token no longer verifies, even ignoring expiry.
    assert.equal(await introspect(t, partner, lastOld), false);
    assert.equal((await signedRequest(t, partner.hmac, '/revoke_auth_token', { token: lastOld })).statusCode, 404);
    const fresh = await issue(t, partner);
    assert.equal(decodeProtectedHeader(fresh).kid, rotated.kid);
    await verifyWith(t, await jwks(t), fresh, ['ES256']);
    // An independent verifier finds no key for it either (checked at a time it was still valid, so expiry is not why).
    await assert.rejects(jwtVerify(lastOld, createLocalJWKSet(await jwks(t)), { currentDate: new Date(activatedAt) }), {
      code: 'ERR_JWKS_NO_MATCHING_KEY',
    });
  });

  test('rotating to another algorithm: tokens of both stay verifiable during the overlap', async () => {
    const [currentKid] = await kids(t);
    const before = await issue(t, partner);
    const rotated = await rotateSigningKey(t.ctx.db, t.ctx.masterKey, 'EdDSA', new Date(t.clock.now), 0);
    await t.ctx.keyRing.load();
    const after = await issue(t, partner);
    assert.deepEqual(decodeProtectedHeader(after), { alg: 'EdDSA', kid: rotated.kid, typ: 'client-auth+jwt' });
    const keySet = await jwks(t);
    assert.deepEqual(
      keySet.keys.map((k) => [k.kid, k.alg]),
      [
        [currentKid, 'ES256'],
        [rotated.kid, 'EdDSA'],
      ],
    );
    await verifyWith(t, keySet, before, ['ES256']);
    await verifyWith(t, keySet, after, ['EdDSA']);
    // A verifier pinned to the other algorithm refuses each.
    await assert.rejects(verifyWith(t, keySet, before, ['EdDSA']));
    await assert.rejects(verifyWith(t, keySet, after, ['ES256']));
    assert.equal(await introspect(t, partner, before), true);
    assert.equal(await introspect(t, partner, after), true);
  });
});

for (const [alg, kty] of [
  ['EdDSA', 'OKP'],
  ['RS256', 'RSA'],
] as const) {
  describe(`HANDOFF_SIGNING_ALG=${alg} (${storeName})`, () => {
    let t: TestApp;
    let partner: NewPartnerAccount;

    before(async () => {
      t = await startTestApp({ env: { HANDOFF_SIGNING_ALG: alg } });
      partner = await t.createPartner({ platformCode: 'PLAT01' });
      await t.createUser({ partnerCode: 'PLAT01', participantCode: 'ALICE1' });
    });
    after(() => t.close());

    test(`the first key is ${alg}; its tokens verify with the JWKS pinned to ${alg} only`, async () => {
      const keySet = await jwks(t);
      assert.equal(keySet.keys.length, 1);
      const [key] = keySet.keys as [JSONWebKeySet['keys'][number]];
      assert.equal(key.alg, alg);
      assert.equal(key.kty, kty);
      if (alg === 'EdDSA') assert.equal(key.crv, 'Ed25519');
      else assert.ok(Buffer.from(key.n as string, 'base64url').length * 8 >= 2048);

      const token = await issue(t, partner);
      const { protectedHeader, payload } = await verifyWith(t, keySet, token, [alg]);
      assert.deepEqual(protectedHeader, { alg, kid: key.kid, typ: 'client-auth+jwt' });
      assert.equal(payload.participant_code, 'ALICE1');
      await assert.rejects(verifyWith(t, keySet, token, ['ES256']));
      assert.equal(await introspect(t, partner, token), true);
    });
  });
}
