import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import type { NewPartnerAccount } from '../../server/src/admin/accounts.ts';
import { rotateSigningKey } from '../../server/src/crypto/signing-keys.ts';
import { startTestApp, storeName, type TestApp, TestClock } from '../../server/test/harness.ts';
import {
  type ClientTokenClient,
  createClientAuthTokenVerifier,
  createClientTokenClient,
  HandoffTokenError,
} from '../src/index.ts';
import { cacheLifetime } from '../src/remote-key-set.ts';
import { observedFetch } from './local-server.ts';

/**
 * The verifier's key cache against a real server listening on loopback (in-process, so the test can rotate
 * keys while it runs and move one clock shared by server and verifier instead of sleeping).
 */

const jwksFetches = 'GET /.well-known/jwks.json';

describe(`verifier key cache and rotation (${storeName})`, () => {
  let t: TestApp;
  let partner: NewPartnerAccount;
  let client: ClientTokenClient;
  let baseUrl: string;
  const clock = new TestClock(Math.floor(Date.now() / 1000) * 1000);

  before(async () => {
    t = await startTestApp({ clock });
    partner = await t.createPartner({ platformCode: 'ROTA01' });
    await t.createUser({ partnerCode: 'ROTA01', participantCode: 'ROTAU1' });
    baseUrl = await t.app.listen({ port: 0, host: '127.0.0.1' });
    client = createClientTokenClient({
      baseUrl,
      apiKey: partner.hmac.api_key,
      secret: partner.hmac.secret,
      passphrase: partner.hmac.passphrase,
      clock: clock.read,
    });
  });
  after(() => t.close());

  const issue = async () =>
    (
      await client.createClientAuthToken({
        participant_code: 'ROTAU1',
        permissions: ['participant-profile'],
        reference_id: randomBytes(8).toString('hex'),
      })
    ).token;

  async function refusedWith(work: Promise<unknown>, reason: string) {
    const error = await work.then(
      () => assert.fail('expected a refusal'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof HandoffTokenError, String(error));
    assert.equal(error.reason, reason);
  }

  test('a rotated key is picked up without restart; unknown kids refetch at most once per cooldown', async () => {
    const observed = observedFetch();
    const verify = createClientAuthTokenVerifier({
      issuer: 'http://handoff.test',
      audience: 'handoff-sdk',
      jwksUrl: `${baseUrl}/.well-known/jwks.json`,
      clock: clock.read,
      fetch: observed.fetch,
    });
    const before = await issue();
    await verify(before);
    await verify(before);
    assert.equal(observed.count(jwksFetches), 1, 'cached');

    // Rotate on the running server; the new key signs at once.
    const rotated = await rotateSigningKey(t.ctx.db, t.ctx.masterKey, 'ES256', new Date(clock.now), 0);
    await t.ctx.keyRing.load();
    clock.advance(1);
    const after = await issue();
    assert.equal(decodeProtectedHeader(after).kid, rotated.kid);
    assert.notEqual(decodeProtectedHeader(before).kid, rotated.kid);

    // Within the cooldown (30 s) after the last fetch, an unknown kid does not refetch.
    await refusedWith(verify(after), 'unknown_key');
    assert.equal(observed.count(jwksFetches), 1);
    clock.advance(30);
    assert.equal((await verify(after)).jti, decodeJwt(after).jti);
    assert.equal(observed.count(jwksFetches), 2, 'refetched once for the new kid');
    // The old key stays published until its tokens have expired.
    assert.ok(await verify(before));
    assert.equal(observed.count(jwksFetches), 2);
  });

  test('the JWKS is kept as its Cache-Control says: max-age, then stale-while-revalidate, then refetched', async () => {
    const observed = observedFetch();
    const verify = createClientAuthTokenVerifier({
      issuer: 'http://handoff.test',
      audience: 'handoff-sdk',
      jwksUrl: `${baseUrl}/.well-known/jwks.json`,
      clock: clock.read,
      fetch: observed.fetch,
    });
    const token = await issue();
    await verify(token);
    assert.equal(observed.count(jwksFetches), 1);
    // The server says: public, max-age=300, stale-while-revalidate=60.
    clock.advance(299);
    await verify(token);
    assert.equal(observed.count(jwksFetches), 1, 'fresh');
    clock.advance(2);
    await verify(token);
    assert.equal(observed.count(jwksFetches), 2, 'stale: served, renewed in the background');
    await observed.settled();
    await verify(token);
    assert.equal(observed.count(jwksFetches), 2, 'renewed');
    clock.advance(300 + 60 + 1);
    await verify(token);
    assert.equal(observed.count(jwksFetches), 3, 'past stale-while-revalidate: fetched before use');
  });

  test('a token is refused once it has expired, by the clock the verifier is given', async () => {
    const verify = createClientAuthTokenVerifier({
      issuer: 'http://handoff.test',
      audience: 'handoff-sdk',
      jwksUrl: `${baseUrl}/.well-known/jwks.json`,
      clock: clock.read,
      clockTolerance: 0,
    });
    const token = await issue();
    const { exp } = decodeJwt(token) as { exp: number };
    assert.ok(await verify(token));
    clock.now = exp * 1000 - 1000;
    assert.ok(await verify(token));
    clock.now = exp * 1000;
    await refusedWith(verify(token), 'expired');
  });

  test('Cache-Control reading', () => {
    const lifetime = (headers: Record<string, string>) => cacheLifetime(new Headers(headers));
    assert.deepEqual(lifetime({ 'cache-control': 'public, max-age=300, stale-while-revalidate=60' }), {
      freshSeconds: 300,
      staleSeconds: 60,
    });
    assert.deepEqual(lifetime({ 'cache-control': 'max-age=300', age: '120' }), { freshSeconds: 180, staleSeconds: 0 });
    assert.deepEqual(lifetime({ 'cache-control': 'no-store' }), { freshSeconds: 0, staleSeconds: 0 });
    assert.deepEqual(lifetime({}), { freshSeconds: 300, staleSeconds: 0 });
    assert.deepEqual(lifetime({ 'cache-control': 'max-age=99999999' }), { freshSeconds: 86_400, staleSeconds: 0 });
  });
});
