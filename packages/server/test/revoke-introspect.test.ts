import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { base64url, decodeJwt, exportSPKI, generateKeyPair, type JWK, SignJWT } from 'jose';
import type { NewPartnerAccount } from '../src/admin/accounts.ts';
import { signToken } from '../src/tokens/jwt.ts';
import { type Credential, signedRequest, startTestApp, storeName, type TestApp } from './harness.ts';

describe(`POST /revoke_auth_token and POST /introspect (${storeName})`, () => {
  let t: TestApp;
  let partner: NewPartnerAccount;
  let other: NewPartnerAccount;

  before(async () => {
    t = await startTestApp();
    partner = await t.createPartner({ platformCode: 'PLAT01' });
    other = await t.createPartner({ platformCode: 'PLAT02' });
    await t.createUser({ partnerCode: 'PLAT01', email: 'alice@example.com', participantCode: 'ALICE1' });
    await t.createUser({ partnerCode: 'PLAT02', email: 'bob@example.com', participantCode: 'BOB001' });
  });
  after(() => t.close());

  async function issue(credential: Credential = partner.hmac, participantCode = 'ALICE1'): Promise<string> {
    const response = await signedRequest(t, credential, '/client_auth_token', {
      participant_code: participantCode,
      permissions: ['participant-profile', 'crypto-buy'],
      reference_id: `ref-${Math.random()}`,
    });
    assert.equal(response.statusCode, 201, response.body);
    return response.json().message.token;
  }
  const introspect = (token: unknown, credential: Credential = partner.hmac) =>
    signedRequest(t, credential, '/introspect', { token });
  const revoke = (token: unknown, credential: Credential = partner.hmac) =>
    signedRequest(t, credential, '/revoke_auth_token', { token });

  /** Both endpoints treat the token as not ours: inactive on introspection, 404 on revocation. */
  async function assertRejected(token: string, why: string) {
    const inspected = await introspect(token);
    assert.equal(inspected.statusCode, 200, why);
    assert.deepEqual(inspected.json(), { active: false }, why);
    const revoked = await revoke(token);
    assert.equal(revoked.statusCode, 404, why);
    assert.deepEqual(revoked.json(), { error: 'token not found' }, why);
  }

  /** A token with our header and claims but re-signed (or not) by the attacker. */
  function forge(token: string, header: Record<string, unknown>, claims?: Record<string, unknown>) {
    const [, payload] = token.split('.') as [string, string];
    const body = claims ? base64url.encode(JSON.stringify(claims)) : payload;
    return `${base64url.encode(JSON.stringify(header))}.${body}`;
  }

  describe('introspect', () => {
    test('a live token of the calling platform: active with every claim', async () => {
      const token = await issue();
      const response = await introspect(token);
      assert.equal(response.statusCode, 200);
      assert.equal(response.headers['content-type'], 'application/json; charset=utf-8');
      assert.match(String(response.headers['x-request-id']), /.+/);
      assert.deepEqual(response.json(), { active: true, ...decodeJwt(token) });
      assert.equal(response.json().platform_code, 'PLAT01');
      assert.equal(response.json().participant_code, 'ALICE1');
    });

    test("another platform's token is inactive; its own platform sees it active", async () => {
      const foreign = await issue(other.hmac, 'BOB001');
      assert.deepEqual((await introspect(foreign)).json(), { active: false });
      assert.equal((await introspect(foreign, other.hmac)).json().active, true);
    });

    test('unknown and garbage tokens are inactive', async () => {
      for (const token of ['not-a-jwt', 'a.b.c', 'eyJhbGciOiJFUzI1NiJ9.e30.', 'x'.repeat(8192)]) {
        assert.deepEqual((await introspect(token)).json(), { active: false }, token.slice(0, 20));
      }
    });

    test('an expired token is inactive (one second past exp, not before)', async () => {
      const token = await issue();
      const { exp } = decodeJwt(token) as { exp: number };
      t.clock.now = (exp - 2) * 1000;
      assert.equal((await introspect(token)).json().active, true);
      t.clock.now = exp * 1000;
      assert.deepEqual((await introspect(token)).json(), { active: false });
    });

    test('the body is validated and the request authenticated like every HMAC request', async () => {
      const missing = await signedRequest(t, partner.hmac, '/introspect', {});
      assert.equal(missing.statusCode, 400);
      assert.deepEqual(missing.json(), { errors: ['token: is required'] });
      const extra = await signedRequest(t, partner.hmac, '/introspect', { token: 'a', scope: 'x' });
      assert.deepEqual(extra.json(), { errors: ['scope: is not a known field'] });
      const wrongType = await signedRequest(t, partner.hmac, '/revoke_auth_token', { token: 42 });
      assert.deepEqual(wrongType.json(), { errors: ['token: must be a string'] });
      const token = await issue();
      for (const url of ['/introspect', '/revoke_auth_token']) {
        const unsigned = await t.app.inject({
          method: 'POST',
          url,
          headers: { 'content-type': 'application/json' },
          payload: JSON.stringify({ token }),
        });
        assert.equal(unsigned.statusCode, 403);
        assert.deepEqual(unsigned.json(), { error: 'missing header X-SCX-API-KEY' });
      }
      assert.equal((await introspect(token)).json().active, true);
    });
  });

  describe('revoke', () => {
    test('204, then introspection says inactive; revoking twice is still 204', async () => {
      const token = await issue();
      const first = await revoke(token);
      assert.equal(first.statusCode, 204);
      assert.equal(first.body, '');
      assert.deepEqual((await introspect(token)).json(), { active: false });
      assert.equal((await revoke(token)).statusCode, 204);
      // The jti is remembered until the token's own expiry.
      const { jti, exp } = decodeJwt(token) as { jti: string; exp: number };
      const row = await t.ctx.db
        .selectFrom('revoked_tokens')
        .selectAll()
        .where('jti', '=', jti)
        .executeTakeFirstOrThrow();
      assert.equal(row.expires_at.getTime(), exp * 1000);
    });

    test('revoking one token leaves the others of the same user active', async () => {
      const a = await issue();
      const b = await issue();
      assert.equal((await revoke(a)).statusCode, 204);
      assert.equal((await introspect(b)).json().active, true);
    });

    test("another platform's token → 404, and it stays active for its owner", async () => {
      const foreign = await issue(other.hmac, 'BOB001');
      const response = await revoke(foreign);
      assert.equal(response.statusCode, 404);
      assert.deepEqual(response.json(), { error: 'token not found' });
      assert.equal((await introspect(foreign, other.hmac)).json().active, true);
    });

    test('garbage → 404', async () => {
      for (const token of ['garbage', 'a.b.c', '..']) {
        const response = await revoke(token);
        assert.equal(response.statusCode, 404, token);
        assert.deepEqual(response.json(), { error: 'token not found' });
      }
    });

    test('an expired token of ours can still be revoked (expiry aside)', async () => {
      const token = await issue();
      t.clock.advance(3700);
      assert.equal((await revoke(token)).statusCode, 204);
    });

    test('revocations are audited with the jti, never the token', async () => {
      const token = await issue();
      const response = await revoke(token);
      await t.ctx.audit.flush();
      const row = await t.ctx.db
        .selectFrom('audit_events')
        .selectAll()
        .where('action', '=', 'client_token.revoke')
        .where('request_id', '=', String(response.headers['x-request-id']))
        .executeTakeFirstOrThrow();
      assert.equal(row.outcome, 'success');
      assert.equal(row.detail?.jti, decodeJwt(token).jti);
      assert.ok(!JSON.stringify(row).includes(token.split('.')[2] as string));
    });
  });

  describe('forged tokens: inactive on introspection, 404 on revocation', () => {
    let genuine: string;
    let header: { alg: string; kid: string; typ: string };
    let claims: Record<string, unknown>;
    before(async () => {
      genuine = await issue();
      const [h] = genuine.split('.') as [string];
      header = JSON.parse(Buffer.from(h, 'base64url').toString());
      claims = decodeJwt(genuine);
      assert.equal((await introspect(genuine)).json().active, true);
    });

    test('alg none, with and without a signature part', async () => {
      for (const alg of ['none', 'None', 'NONE']) {
        const unsigned = `${forge(genuine, { ...header, alg })}.`;
        await assertRejected(unsigned, alg);
        await assertRejected(`${unsigned}${genuine.split('.')[2]}`, `${alg} + signature`);
      }
    });

    test('HS256 signed with the public key as the HMAC secret (algorithm confusion)', async () => {
      const publicJwk = t.ctx.keyRing.signingKey().publicJwk;
      const pem = await exportSPKI(t.ctx.keyRing.signingKey().publicKey);
      const der = createPublicKey({ key: publicJwk as JWK & { kty: string }, format: 'jwk' }).export({
        type: 'spki',
        format: 'der',
      });
      const secrets: Array<[string, Uint8Array]> = [
        ['PEM', new TextEncoder().encode(pem)],
        ['PEM without newline', new TextEncoder().encode(pem.trim())],
        ['DER', new Uint8Array(der)],
        ['JWK JSON', new TextEncoder().encode(JSON.stringify(publicJwk))],
      ];
      for (const [name, secret] of secrets) {
        for (const alg of ['HS256', 'HS384', 'HS512']) {
          const forged = await new SignJWT(claims).setProtectedHeader({ ...header, alg }).sign(secret);
          await assertRejected(forged, `${alg} with ${name}`);
        }
      }
    });

    test('a tampered payload under the original signature', async () => {
      const signature = genuine.split('.')[2] as string;
      const tampered = [
        { ...claims, permissions: ['crypto-withdrawals'] },
        { ...claims, exp: (claims.exp as number) + 86_400 },
        { ...claims, participant_code: 'ALICE2' },
      ];
      for (const c of tampered) await assertRejected(`${forge(genuine, header, c)}.${signature}`, JSON.stringify(c));
      // Even the same claims, re-serialised (other bytes), no longer match the signature.
      const [h] = genuine.split('.') as [string];
      await assertRejected(`${h}.${base64url.encode(JSON.stringify(claims, null, 1))}.${signature}`, 're-encoded');
    });

    test('a tampered header (typ or kid changed) under the original signature', async () => {
      const [, payload, signature] = genuine.split('.') as [string, string, string];
      for (const h of [
        { ...header, typ: 'JWT' },
        { ...header, kid: 'other' },
        { ...header, extra: 1 },
      ]) {
        await assertRejected(`${base64url.encode(JSON.stringify(h))}.${payload}.${signature}`, JSON.stringify(h));
      }
    });

    test('signed by a foreign ES256 key that claims our kid', async () => {
      const { privateKey } = await generateKeyPair('ES256');
      const forged = await new SignJWT(claims).setProtectedHeader(header).sign(privateKey);
      await assertRejected(forged, 'foreign key, our kid');
      const unknownKid = await new SignJWT(claims)
        .setProtectedHeader({ ...header, kid: 'attacker-key' })
        .sign(privateKey);
      await assertRejected(unknownKid, 'foreign key, unknown kid');
    });

    test('signed by our own key but not a client access token: wrong typ, audience or issuer', async () => {
      const key = t.ctx.keyRing.signingKey();
      const sign = (h: Record<string, unknown>, c: Record<string, unknown>) =>
        new SignJWT(c).setProtectedHeader({ alg: key.alg, kid: key.kid, ...h }).sign(key.privateKey);
      await assertRejected(await sign({ typ: 'JWT' }, claims), 'typ JWT');
      await assertRejected(await sign({}, claims), 'no typ');
      await assertRejected(await sign({ typ: 'client-auth+jwt' }, { ...claims, aud: 'handoff-user' }), 'aud');
      await assertRejected(await sign({ typ: 'client-auth+jwt' }, { ...claims, iss: 'https://evil.test' }), 'iss');
      // The control: the same key and claims with the right typ is accepted, so the cases above fail for typ/aud/iss.
      const control = await sign({ typ: 'client-auth+jwt' }, { ...claims, jti: 'control-jti' });
      assert.equal((await introspect(control)).json().active, true);
    });

    test('a partner-API token of the same platform is not a client access token', async () => {
      const partnerToken = await signToken(t.ctx.keyRing, 'partner', {
        issuer: t.ctx.config.issuer,
        subject: 'PLAT01',
        claims: { platform_code: 'PLAT01' },
        nowMs: t.clock.now,
        ttlSeconds: 600,
      });
      await assertRejected(partnerToken.token, 'partner token');
    });
  });
});
