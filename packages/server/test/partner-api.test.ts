import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { SignJWT } from 'jose';
import type { NewPartnerAccount } from '../src/admin/accounts.ts';
import type { Participant } from '../src/store/participants.ts';
import { updatePartnerSettings } from '../src/store/partners.ts';
import { signedRequest, startTestApp, storeName, type TestApp } from './harness.ts';

/** The contract's catalogue, copied from the spec: the server must answer these byte for byte. */
const contract: Record<string, [number, string, string]> = {
  ER700: [401, 'User authorization token not found.', 'Provide a user authorization token.'],
  ER701: [401, 'User authorization token has expired.', 'Request a new authorization token, or refresh the token.'],
  ER702: [401, 'User authorization token is invalid.', 'Provide a valid user authorization token.'],
  ER703: [
    403,
    'User identifier does not belong to the user in the user authorization token.',
    'Provide a valid user identifier, or remove the user identifier header.',
  ],
  ER704: [
    400,
    'No user identifier found in headers.',
    'Provide a valid user identifier, or use the user/password authentication mechanism to request a user token and send that.',
  ],
  ER705: [
    404,
    'User identifier is not linked to a user.',
    'Provide a valid user identifier, link this user identifier to a user account, or use the user/password authentication mechanism.',
  ],
  ER706: [
    409,
    'User identifier is invalid.',
    'Provide a valid user identifier, a unique identifier string for the user account that is not already in use.',
  ],
  ER707: [
    400,
    'User identifier is invalid.',
    'Please provide an identifier, consisting of 36 - 255 characters, numeric or alphanumeric only.',
  ],
  ER709: [404, 'User not found, or user has been deleted.', 'Provide a valid user identifier.'],
  ER800: [401, 'Authorization token is invalid.', 'Provide a valid authorization token.'],
  ER801: [401, 'Authorization token has expired.', 'Request a new authorization token.'],
  ER802: [401, 'Authorization token not found.', 'Provide an authorization token.'],
  ER803: [400, 'Multiple authorization methods used.', 'Use exactly one authorization method.'],
  ER805: [401, 'API key is invalid.', 'Provide a valid API key.'],
  ER806: [401, 'API key not found.', 'Provide an API key.'],
};

function expectError(response: LightMyRequestResponse, code: string, status?: number) {
  const body = response.json();
  assert.deepEqual(Object.keys(body.errors), [code], response.body);
  const entry = body.errors[code];
  assert.equal(entry.code, code);
  const expected = contract[code];
  if (expected) {
    assert.equal(response.statusCode, expected[0], `${code} status`);
    assert.equal(entry.message, expected[1]);
    assert.equal(entry.solution, expected[2]);
  } else {
    assert.equal(response.statusCode, status, `${code} status`);
    assert.equal(typeof entry.message, 'string');
    assert.equal(typeof entry.solution, 'string');
  }
  assert.deepEqual(Object.keys(body), ['errors']);
}

const identifierOf = (seed: string) => seed.padEnd(40, '0');

describe(`partner API and login tokens (${storeName})`, () => {
  let t: TestApp;
  let partner: NewPartnerAccount;
  let other: NewPartnerAccount;
  let alice: Participant;
  let bob: Participant;
  const password = 'correct horse battery';

  before(async () => {
    t = await startTestApp();
    partner = await t.createPartner({ platformCode: 'PART01' });
    other = await t.createPartner({ platformCode: 'PART02' });
    alice = await t.createUser({
      partnerCode: 'PART01',
      email: 'alice@example.com',
      password,
      identifier: identifierOf('aliceIdentifier'),
    });
    bob = await t.createUser({
      partnerCode: 'PART02',
      email: 'bob@example.com',
      password,
      identifier: identifierOf('bobIdentifier'),
    });
  });
  after(() => t.close());

  const call = (method: 'GET' | 'POST', url: string, headers: Record<string, string> = {}, body?: unknown) =>
    t.app.inject({
      method,
      url,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
  const asPartner = () => ({ 'x-api-key': partner.api_key });
  const asOther = () => ({ 'x-api-key': other.api_key });

  async function partnerToken(account = partner) {
    const response = await call(
      'POST',
      '/api/v1/authenticate',
      {},
      { username: account.username, password: account.password },
    );
    assert.equal(response.statusCode, 200, response.body);
    return response.json() as { token: string; refreshToken: string };
  }

  async function userLogin(email = 'alice@example.com', headers = asPartner()) {
    const response = await call('POST', '/api/v1/user/login', headers, { emailAddress: email, password });
    assert.equal(response.statusCode, 200, response.body);
    return response.json() as { token: string; refreshToken: string; identifier?: string };
  }

  async function loginToken(userHeaders: Record<string, string>, headers = asPartner()) {
    const response = await call('GET', '/api/v1/user/login-token', { ...headers, ...userHeaders });
    assert.equal(response.statusCode, 200, response.body);
    return response.json() as { uuid: string; token: string; expiryDate: string };
  }

  describe('partner authentication', () => {
    test('username/password → a partner JWT and a refresh token that authenticate', async () => {
      const { token, refreshToken } = await partnerToken();
      assert.ok(refreshToken.length >= 43);
      const info = await call('GET', '/api/v1/system/info', { authorization: `Bearer ${token}` });
      assert.equal(info.statusCode, 200);
      assert.deepEqual(info.json().privateUrls, {
        kyc: 'http://handoff.test/private/kyc',
        upgrade: 'http://handoff.test/private/upgrade',
        support: 'http://handoff.test/private/support',
      });
    });

    test('wrong password and unknown username give the same ER810', async () => {
      const wrong = await call('POST', '/api/v1/authenticate', {}, { username: partner.username, password: 'nope' });
      const unknown = await call('POST', '/api/v1/authenticate', {}, { username: 'nobody', password: 'nope' });
      expectError(wrong, 'ER810', 401);
      assert.deepEqual(unknown.json(), wrong.json());
    });

    test('the header matrix: none, both, and each broken', async () => {
      const { token } = await partnerToken();
      const url = '/api/v1/system/info';
      expectError(await call('GET', url), 'ER802');
      expectError(await call('GET', url, { authorization: `Bearer ${token}`, 'x-api-key': partner.api_key }), 'ER803');
      expectError(await call('GET', url, { authorization: 'Basic dXNlcjpwYXNz' }), 'ER800');
      expectError(await call('GET', url, { authorization: 'Bearer not-a-jwt' }), 'ER800');
      const [h, p, s] = token.split('.') as [string, string, string];
      const tampered = `${h}.${Buffer.from(JSON.stringify({ sub: 'x' })).toString('base64url')}.${s}`;
      expectError(await call('GET', url, { authorization: `Bearer ${tampered}` }), 'ER800');
      expectError(await call('GET', url, { authorization: `Bearer ${h}.${p}.${s.slice(0, -4)}AAAA` }), 'ER800');
      expectError(await call('GET', url, { 'x-api-key': '' }), 'ER806');
      expectError(await call('GET', url, { 'x-api-key': 'hk_unknown' }), 'ER805');
      t.clock.advance(3601);
      expectError(await call('GET', url, { authorization: `Bearer ${token}` }), 'ER801');
    });

    test('alg none and HS256-forged partner tokens are refused', async () => {
      const claims = {
        sub: 'x',
        platform_code: 'PART01',
        jti: 'j',
        iss: 'http://handoff.test',
        aud: 'handoff-partner-api',
      };
      const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'partner+jwt' })).toString('base64url')}.${Buffer.from(JSON.stringify({ ...claims, exp: t.clock.seconds + 60 })).toString('base64url')}.`;
      expectError(await call('GET', '/api/v1/system/info', { authorization: `Bearer ${none}` }), 'ER800');
      const hs = await new SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256', typ: 'partner+jwt' })
        .setExpirationTime(t.clock.seconds + 60)
        .sign(new TextEncoder().encode('guessed secret guessed secret 32'));
      expectError(await call('GET', '/api/v1/system/info', { authorization: `Bearer ${hs}` }), 'ER800');
    });

    test('a revoked API key is refused; a disabled partner is refused', async () => {
      const extra = await t.createPartner({ platformCode: 'PART03' });
      const { revokeApiKey } = await import('../src/store/credentials.ts');
      const { findPartnerByCode, setPartnerStatus } = await import('../src/store/partners.ts');
      const p3 = await findPartnerByCode(t.ctx.db, 'PART03');
      assert.ok(await revokeApiKey(t.ctx.db, p3!.id, extra.api_key.slice(0, 10), new Date()));
      expectError(await call('GET', '/api/v1/system/info', { 'x-api-key': extra.api_key }), 'ER805');
      const extra2 = await t.createPartner({ platformCode: 'PART04' });
      await setPartnerStatus(t.ctx.db, 'PART04', 'disabled');
      expectError(await call('GET', '/api/v1/system/info', { 'x-api-key': extra2.api_key }), 'ER813', 403);
      expectError(
        await call('POST', '/api/v1/authenticate', {}, { username: extra2.username, password: extra2.password }),
        'ER813',
        403,
      );
    });

    test('API keys are cached per instance: a revocation made elsewhere applies within the cache time (5 s)', async () => {
      const extra = await t.createPartner({ platformCode: 'PART05' });
      const { revokeApiKey } = await import('../src/store/credentials.ts');
      const { findPartnerByCode } = await import('../src/store/partners.ts');
      assert.equal((await call('GET', '/api/v1/system/info', { 'x-api-key': extra.api_key })).statusCode, 200);
      // As the CLI would: straight to the store, which this instance's cache does not see.
      const p5 = await findPartnerByCode(t.ctx.db, 'PART05');
      assert.ok(await revokeApiKey(t.ctx.db, p5!.id, extra.api_key.slice(0, 10), new Date()));
      t.clock.advance(4);
      assert.equal((await call('GET', '/api/v1/system/info', { 'x-api-key': extra.api_key })).statusCode, 200);
      t.clock.advance(2);
      expectError(await call('GET', '/api/v1/system/info', { 'x-api-key': extra.api_key }), 'ER805');
    });

    test('refresh tokens rotate; reusing a spent one revokes the whole family', async () => {
      const first = await partnerToken();
      const second = await call('POST', '/api/v1/refresh', {}, { refreshToken: first.refreshToken });
      assert.equal(second.statusCode, 200);
      const { refreshToken: next, token } = second.json();
      assert.notEqual(next, first.refreshToken);
      assert.equal((await call('GET', '/api/v1/system/info', { authorization: `Bearer ${token}` })).statusCode, 200);
      expectError(await call('POST', '/api/v1/refresh', {}, { refreshToken: first.refreshToken }), 'ER811', 401);
      // Theft detection: the legitimate holder's newer token died with the family.
      expectError(await call('POST', '/api/v1/refresh', {}, { refreshToken: next }), 'ER811', 401);
      expectError(await call('POST', '/api/v1/refresh', {}, { refreshToken: 'made-up' }), 'ER811', 401);
    });

    test('refresh tokens slide: 30 days from the last rotation, then ER812', async () => {
      const first = await partnerToken();
      t.clock.advance(29 * 86400);
      const rotated = await call('POST', '/api/v1/refresh', {}, { refreshToken: first.refreshToken });
      assert.equal(rotated.statusCode, 200);
      t.clock.advance(29 * 86400);
      const again = await call('POST', '/api/v1/refresh', {}, { refreshToken: rotated.json().refreshToken });
      assert.equal(again.statusCode, 200);
      t.clock.advance(31 * 86400);
      expectError(await call('POST', '/api/v1/refresh', {}, { refreshToken: again.json().refreshToken }), 'ER812', 401);
    });

    test('login attempts are rate-limited per username (429 ER901 with Retry-After)', async () => {
      let last: LightMyRequestResponse | undefined;
      for (let i = 0; i < 11; i++) {
        last = await call('POST', '/api/v1/authenticate', {}, { username: 'victim', password: `guess${i}` });
      }
      expectError(last!, 'ER901', 429);
      assert.ok(Number(last!.headers['retry-after']) >= 1);
      t.clock.advance(61);
    });

    test('validation errors are ER900 naming the field, unknown routes ER903', async () => {
      const response = await call('POST', '/api/v1/authenticate', {}, { username: 'x', extra: 1 });
      expectError(response, 'ER900', 400);
      assert.match(response.json().errors.ER900.message, /password: is required/);
      assert.match(response.json().errors.ER900.message, /extra: is not a known field/);
      expectError(await call('GET', '/api/v1/nothing-here'), 'ER903', 404);
      const malformed = await t.app.inject({
        method: 'POST',
        url: '/api/v1/authenticate',
        headers: { 'content-type': 'application/json' },
        payload: '{"username":',
      });
      expectError(malformed, 'ER900', 400);
    });
  });

  describe('users', () => {
    test('a partner creates a user; the same email again is ER821; bad input ER900', async () => {
      const created = await call('POST', '/api/v1/user', asPartner(), {
        emailAddress: 'carol@example.com',
        password: 'long enough pw',
      });
      assert.equal(created.statusCode, 201, created.body);
      const body = created.json();
      assert.match(body.uuid, /^[0-9a-f-]{36}$/);
      assert.match(body.participantCode, /^[A-Z0-9]{6}$/);
      assert.equal(body.status, 'submitted');
      expectError(await call('POST', '/api/v1/user', asPartner(), { emailAddress: 'CAROL@example.com' }), 'ER821', 409);
      // Another partner may have a user with the same email.
      assert.equal(
        (await call('POST', '/api/v1/user', asOther(), { emailAddress: 'carol@example.com' })).statusCode,
        201,
      );
      expectError(
        await call('POST', '/api/v1/user', asPartner(), { emailAddress: 'nope', password: 'short' }),
        'ER900',
        400,
      );
      const login = await call('POST', '/api/v1/user/login', asPartner(), {
        emailAddress: 'carol@example.com',
        password: 'long enough pw',
      });
      assert.equal(login.statusCode, 200);
    });

    test('user login returns a token pair and the linked identifier', async () => {
      const { token, refreshToken, identifier } = await userLogin();
      assert.ok(token && refreshToken);
      assert.equal(identifier, identifierOf('aliceIdentifier'));
    });

    test("wrong password, unknown email, and another partner's user are the same ER820", async () => {
      const wrong = await call('POST', '/api/v1/user/login', asPartner(), {
        emailAddress: 'alice@example.com',
        password: 'x',
      });
      const unknown = await call('POST', '/api/v1/user/login', asPartner(), {
        emailAddress: 'zed@example.com',
        password,
      });
      const foreign = await call('POST', '/api/v1/user/login', asPartner(), {
        emailAddress: 'bob@example.com',
        password,
      });
      expectError(wrong, 'ER820', 401);
      assert.deepEqual(unknown.json(), wrong.json());
      assert.deepEqual(foreign.json(), wrong.json());
    });

    test('user refresh rotates; reuse revokes the family; a partner cannot use another partner’s refresh token', async () => {
      const first = await userLogin();
      const rotated = await call('POST', '/api/v1/user/refresh', asPartner(), { refreshToken: first.refreshToken });
      assert.equal(rotated.statusCode, 200);
      expectError(
        await call('POST', '/api/v1/user/refresh', asPartner(), { refreshToken: first.refreshToken }),
        'ER811',
        401,
      );
      expectError(
        await call('POST', '/api/v1/user/refresh', asPartner(), { refreshToken: rotated.json().refreshToken }),
        'ER811',
        401,
      );
      const again = await userLogin();
      expectError(
        await call('POST', '/api/v1/user/refresh', asOther(), { refreshToken: again.refreshToken }),
        'ER811',
        401,
      );
      // A partner refresh token is not a user refresh token, and the reverse.
      const partnerPair = await partnerToken();
      expectError(
        await call('POST', '/api/v1/user/refresh', asPartner(), { refreshToken: partnerPair.refreshToken }),
        'ER811',
        401,
      );
      const userPair = await userLogin();
      expectError(await call('POST', '/api/v1/refresh', {}, { refreshToken: userPair.refreshToken }), 'ER811', 401);
    });

    test('logout revokes the user token and its refresh family', async () => {
      const pair = await userLogin();
      const out = await call('POST', '/api/v1/user/logout', {
        ...asPartner(),
        'user-authorization': `Bearer ${pair.token}`,
      });
      assert.equal(out.statusCode, 204);
      expectError(
        await call('GET', '/api/v1/user/login-token', { ...asPartner(), 'user-authorization': `Bearer ${pair.token}` }),
        'ER702',
      );
      expectError(
        await call('POST', '/api/v1/user/refresh', asPartner(), { refreshToken: pair.refreshToken }),
        'ER811',
        401,
      );
      expectError(await call('POST', '/api/v1/user/logout', asPartner()), 'ER700');
    });

    test('the user header matrix', async () => {
      const url = '/api/v1/user/login-token';
      const { token } = await userLogin();
      const bobToken = (await userLogin('bob@example.com', asOther())).token;
      expectError(await call('GET', url, asPartner()), 'ER704');
      expectError(await call('GET', url, { ...asPartner(), 'user-authorization': 'Bearer' }), 'ER700');
      expectError(await call('GET', url, { ...asPartner(), 'user-authorization': '' }), 'ER700');
      expectError(await call('GET', url, { ...asPartner(), 'user-authorization': 'Bearer garbage' }), 'ER702');
      expectError(await call('GET', url, { ...asPartner(), 'user-authorization': `Bearer ${bobToken}` }), 'ER702');
      expectError(await call('GET', url, { ...asPartner(), 'user-identifier': 'short' }), 'ER707');
      expectError(await call('GET', url, { ...asPartner(), 'user-identifier': `${'x'.repeat(39)}!` }), 'ER707');
      expectError(await call('GET', url, { ...asPartner(), 'user-identifier': identifierOf('unlinked') }), 'ER705');
      // Bob's identifier exists, but under another partner: answered exactly like an unlinked one.
      expectError(
        await call('GET', url, { ...asPartner(), 'user-identifier': identifierOf('bobIdentifier') }),
        'ER705',
      );
      const carolless = await t.createUser({
        partnerCode: 'PART01',
        password,
        identifier: identifierOf('daveIdentifier'),
      });
      expectError(
        await call('GET', url, {
          ...asPartner(),
          'user-authorization': `Bearer ${token}`,
          'user-identifier': identifierOf('daveIdentifier'),
        }),
        'ER703',
      );
      const both = await call('GET', url, {
        ...asPartner(),
        'user-authorization': `Bearer ${token}`,
        'user-identifier': identifierOf('aliceIdentifier'),
      });
      assert.equal(both.statusCode, 200);
      const { softDeleteParticipant } = await import('../src/store/participants.ts');
      const daveLogin = await userLogin(carolless.email as string);
      await softDeleteParticipant(t.ctx.db, carolless.partnerId, carolless.uuid, new Date(t.clock.now));
      expectError(
        await call('GET', url, { ...asPartner(), 'user-identifier': identifierOf('daveIdentifier') }),
        'ER709',
      );
      expectError(
        await call('GET', url, { ...asPartner(), 'user-authorization': `Bearer ${daveLogin.token}` }),
        'ER709',
      );
      t.clock.advance(3601);
      expectError(await call('GET', url, { ...asPartner(), 'user-authorization': `Bearer ${token}` }), 'ER701');
    });

    test('tokens of one kind are never accepted as another', async () => {
      const partnerPair = await partnerToken();
      const userPair = await userLogin();
      const url = '/api/v1/user/login-token';
      // A user token as the partner's bearer, a partner token as a user token.
      expectError(await call('GET', '/api/v1/system/info', { authorization: `Bearer ${userPair.token}` }), 'ER800');
      expectError(
        await call('GET', url, { ...asPartner(), 'user-authorization': `Bearer ${partnerPair.token}` }),
        'ER702',
      );
      // A client access token for either.
      const client = await signedRequest(t, partner.hmac, '/client_auth_token', {
        participant_code: alice.participantCode,
        permissions: ['onboarding'],
      });
      const clientToken = client.json().message.token as string;
      expectError(await call('GET', '/api/v1/system/info', { authorization: `Bearer ${clientToken}` }), 'ER800');
      expectError(await call('GET', url, { ...asPartner(), 'user-authorization': `Bearer ${clientToken}` }), 'ER702');
      // A refresh token or a login token as a bearer.
      expectError(
        await call('GET', '/api/v1/system/info', { authorization: `Bearer ${partnerPair.refreshToken}` }),
        'ER800',
      );
      const login = await loginToken({ 'user-authorization': `Bearer ${userPair.token}` });
      expectError(await call('GET', '/api/v1/system/info', { authorization: `Bearer ${login.token}` }), 'ER800');
      expectError(await call('POST', '/api/v1/refresh', {}, { refreshToken: login.token }), 'ER811', 401);
      // Partner and user tokens are not client access tokens either.
      const introspect = await signedRequest(t, partner.hmac, '/introspect', { token: userPair.token });
      assert.deepEqual(introspect.json(), { active: false });
    });
  });

  describe('login tokens', () => {
    test('issue: uuid, a 256-bit URL-safe token, expiry 5 minutes ahead to the second; only the hash is stored', async () => {
      const { token } = await userLogin();
      const issued = await loginToken({ 'user-authorization': `Bearer ${token}` });
      assert.equal(issued.uuid, alice.uuid);
      assert.match(issued.token, /^[A-Za-z0-9_-]{43}$/);
      assert.match(issued.expiryDate, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
      assert.equal(Date.parse(issued.expiryDate), (t.clock.seconds + 300) * 1000);
      const rows = await t.ctx.db.selectFrom('login_tokens').selectAll().execute();
      const hash = createHash('sha256').update(issued.token).digest('hex');
      assert.ok(rows.some((r) => r.token_hash === hash));
      assert.ok(!JSON.stringify(rows).includes(issued.token));
    });

    test('by identifier too; per-partner lifetime, capped at one hour', async () => {
      await updatePartnerSettings(t.ctx.db, 'PART02', { loginTokenTtlSeconds: 90 });
      t.ctx.apiKeys.invalidate();
      const viaIdentifier = await loginToken({ 'user-identifier': identifierOf('bobIdentifier') }, asOther());
      assert.equal(viaIdentifier.uuid, bob.uuid);
      assert.equal(Date.parse(viaIdentifier.expiryDate), (t.clock.seconds + 90) * 1000);
      await updatePartnerSettings(t.ctx.db, 'PART02', { loginTokenTtlSeconds: 86400 });
      t.ctx.apiKeys.invalidate();
      const capped = await loginToken({ 'user-identifier': identifierOf('bobIdentifier') }, asOther());
      assert.equal(Date.parse(capped.expiryDate), (t.clock.seconds + 3600) * 1000);
      await updatePartnerSettings(t.ctx.db, 'PART02', {});
      t.ctx.apiKeys.invalidate();
    });

    test('login-with-token: once, then ER333; the user pair it returns works', async () => {
      const issued = await loginToken({ 'user-identifier': identifierOf('aliceIdentifier') });
      const redeemed = await call('POST', '/api/v2/user/login-with-token', asPartner(), {
        uuid: issued.uuid,
        token: issued.token,
      });
      assert.equal(redeemed.statusCode, 200, redeemed.body);
      const body = redeemed.json();
      assert.equal(body.uuid, alice.uuid);
      const again = await call('GET', '/api/v1/user/login-token', {
        ...asPartner(),
        'user-authorization': `Bearer ${body.token}`,
      });
      assert.equal(again.statusCode, 200);
      const refreshed = await call('POST', '/api/v1/user/refresh', asPartner(), { refreshToken: body.refreshToken });
      assert.equal(refreshed.statusCode, 200);
      expectError(
        await call('POST', '/api/v2/user/login-with-token', asPartner(), { uuid: issued.uuid, token: issued.token }),
        'ER333',
        400,
      );
    });

    test('wrong uuid or other partner → ER333 and nothing spent; expired → ER334; user gone → ER335', async () => {
      const issued = await loginToken({ 'user-identifier': identifierOf('aliceIdentifier') });
      const redeem = (body: unknown, headers = asPartner()) =>
        call('POST', '/api/v2/user/login-with-token', headers, body);
      expectError(await redeem({ uuid: bob.uuid, token: issued.token }), 'ER333', 400);
      expectError(await redeem({ uuid: 'not-a-uuid', token: issued.token }), 'ER333', 400);
      expectError(await redeem({ uuid: issued.uuid, token: issued.token }, asOther()), 'ER333', 400);
      expectError(await redeem({ uuid: issued.uuid, token: 'unknown' }), 'ER333', 400);
      assert.equal((await redeem({ uuid: issued.uuid, token: issued.token })).statusCode, 200);

      const late = await loginToken({ 'user-identifier': identifierOf('aliceIdentifier') });
      t.clock.advance(301);
      expectError(await redeem({ uuid: late.uuid, token: late.token }), 'ER334', 400);

      const eve = await t.createUser({ partnerCode: 'PART01', password, identifier: identifierOf('eveIdentifier') });
      const gone = await loginToken({ 'user-identifier': identifierOf('eveIdentifier') });
      const { softDeleteParticipant } = await import('../src/store/participants.ts');
      await softDeleteParticipant(t.ctx.db, eve.partnerId, eve.uuid, new Date(t.clock.now));
      expectError(await redeem({ uuid: gone.uuid, token: gone.token }), 'ER335', 400);
      expectError(await redeem({ uuid: gone.uuid }), 'ER900', 400);
    });

    test('exactly once under concurrency: 50 simultaneous redemptions → 1 success, 49 ER333', async () => {
      const issued = await loginToken({ 'user-identifier': identifierOf('aliceIdentifier') });
      const responses = await Promise.all(
        Array.from({ length: 50 }, () =>
          call('POST', '/api/v2/user/login-with-token', asPartner(), { uuid: issued.uuid, token: issued.token }),
        ),
      );
      assert.equal(responses.filter((r) => r.statusCode === 200).length, 1);
      for (const r of responses.filter((x) => x.statusCode !== 200)) expectError(r, 'ER333', 400);
    });

    test('issue, redemption and rejection are audited; neither the token nor its hash is ever logged', async () => {
      const issued = await loginToken({ 'user-identifier': identifierOf('aliceIdentifier') });
      await call('POST', '/api/v2/user/login-with-token', asPartner(), { uuid: issued.uuid, token: issued.token });
      await call('POST', '/api/v2/user/login-with-token', asPartner(), { uuid: issued.uuid, token: issued.token });
      await t.ctx.audit.flush();
      const rows = await t.ctx.db
        .selectFrom('audit_events')
        .select(['action', 'outcome', 'reason', 'participant_id', 'detail'])
        .where('surface', '=', 'partner-api')
        .execute();
      const has = (action: string, outcome: string, reason?: string) =>
        rows.some((r) => r.action === action && r.outcome === outcome && (reason === undefined || r.reason === reason));
      assert.ok(has('login_token.issue', 'success'));
      assert.ok(has('login_token.redeem', 'success'));
      assert.ok(has('login_token.redeem', 'rejected', 'ER333'));
      const hash = createHash('sha256').update(issued.token).digest('hex');
      for (const haystack of [t.logs.text, JSON.stringify(rows)]) {
        assert.ok(!haystack.includes(issued.token));
        assert.ok(!haystack.includes(hash));
      }
      assert.ok(t.logs.text.includes('/api/v2/user/login-with-token'), 'requests are logged, by route');
    });
  });

  describe('identifiers and system info', () => {
    test('register-identifier: validation, registered origins only, taken identifiers', async () => {
      const url = '/api/v1/user/register-identifier';
      const id = identifierOf('newIdentifier');
      expectError(
        await call('POST', url, asPartner(), { identifier: 'short', returnUrl: 'https://app.example/done' }),
        'ER707',
      );
      expectError(
        await call('POST', url, asPartner(), { identifier: id, returnUrl: 'https://app.example/done' }),
        'ER822',
        400,
      );
      await updatePartnerSettings(t.ctx.db, 'PART01', { allowedReturnOrigins: ['https://app.example'] });
      t.ctx.apiKeys.invalidate();
      expectError(
        await call('POST', url, asPartner(), { identifier: id, returnUrl: 'https://evil.example/x' }),
        'ER822',
        400,
      );
      expectError(
        await call('POST', url, asPartner(), { identifier: id, returnUrl: 'javascript:alert(1)' }),
        'ER822',
        400,
      );
      const ok = await call('POST', url, asPartner(), { identifier: id, returnUrl: 'https://app.example/done?x=1' });
      assert.equal(ok.statusCode, 200, ok.body);
      const redirect = new URL(ok.json().redirectUrl);
      assert.equal(redirect.origin, 'http://handoff.test');
      assert.equal(redirect.pathname, '/private/link-identifier');
      assert.match(redirect.searchParams.get('request') ?? '', /^[A-Za-z0-9_-]{43}$/);
      expectError(
        await call('POST', url, asPartner(), {
          identifier: identifierOf('bobIdentifier'),
          returnUrl: 'https://app.example/',
        }),
        'ER706',
      );
    });

    test('system info needs partner authentication', async () => {
      expectError(await call('GET', '/api/v1/system/info'), 'ER802');
      const info = await call('GET', '/api/v1/system/info', asPartner());
      assert.equal(info.json().urls.jwks, 'http://handoff.test/.well-known/jwks.json');
    });
  });
});
