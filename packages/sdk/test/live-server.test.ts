import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, SignJWT } from 'jose';
import type { LocalHandoff } from '../../../examples/local-handoff.ts';
import {
  type ClientAuthTokenRequest,
  createClientAuthTokenVerifier,
  createClientTokenClient,
  createPartnerClient,
  HandoffApiError,
  HandoffClientError,
  HandoffTokenError,
  privatePageUrl,
  type TokenRejection,
  type VerifyClientAuthTokenOptions,
  verifyClientAuthToken,
} from '../src/index.ts';
import { observedFetch, startServer, storeName } from './local-server.ts';

/** Every SDK method against a real `handoff serve` process on loopback. */

const alice = {
  email: 'alice@example.com',
  password: 'correct horse battery staple',
  participantCode: 'ALICE1',
  identifier: `alice${'0'.repeat(35)}`,
};
const returnOrigin = 'https://app.example.test';

async function rejection(work: Promise<unknown>): Promise<unknown> {
  return work.then(
    () => assert.fail('expected a rejection'),
    (error: unknown) => error,
  );
}

async function apiError(work: Promise<unknown>, code: string, status: number): Promise<HandoffApiError> {
  const error = await rejection(work);
  assert.ok(error instanceof HandoffApiError, String(error));
  assert.equal(error.code, code);
  assert.equal(error.status, status);
  assert.ok(error.solution.length > 0);
  return error;
}

async function refused(work: Promise<unknown>, reason: TokenRejection): Promise<void> {
  const error = await rejection(work);
  assert.ok(error instanceof HandoffTokenError, String(error));
  assert.equal(error.reason, reason, error.message);
}

describe(`@handoff/sdk against handoff serve (${storeName})`, () => {
  let handoff: LocalHandoff;
  let verification: VerifyClientAuthTokenOptions;
  const tokens = () =>
    createClientTokenClient({
      baseUrl: handoff.url,
      apiKey: handoff.partner.hmac.api_key,
      secret: handoff.partner.hmac.secret,
      passphrase: handoff.partner.hmac.passphrase,
    });
  const issue = (body: Partial<ClientAuthTokenRequest> = {}) =>
    tokens().createClientAuthToken({
      participant_code: alice.participantCode,
      permissions: ['crypto-buy'],
      reference_id: randomBytes(8).toString('hex'),
      ...body,
    });

  before(async () => {
    handoff = await startServer(async (cli, partner) => {
      await cli(
        ...['user', 'create', '--partner', partner.platform_code, '--email', alice.email, '--password', alice.password],
        ...['--participant-code', alice.participantCode, '--identifier', alice.identifier],
      );
      await cli('partner', 'settings', partner.platform_code, '--return-origin', returnOrigin);
    });
    verification = { issuer: handoff.url, audience: 'handoff-sdk', jwksUrl: `${handoff.url}/.well-known/jwks.json` };
  });
  after(() => handoff?.stop());

  describe('client-token client and verifier', () => {
    test('createClientAuthToken → a token verifyClientAuthToken accepts, with typed claims', async () => {
      const issued = await issue({
        permissions: ['fwc', 'crypto-buy'],
        deposit_details: { account_label: 'main', deposit_amount: '25.00', denominated_currency: 'USD' },
      });
      assert.match(issued.deposit_intent_id ?? '', /^[0-9a-f-]{36}$/);
      const claims = await verifyClientAuthToken(issued.token, verification);
      assert.equal(claims.platform_code, handoff.partner.platform_code);
      assert.equal(claims.participant_code, alice.participantCode);
      assert.deepEqual(claims.permissions, ['fwc', 'crypto-buy']);
      assert.equal(claims.payload.deposit_intent_id, issued.deposit_intent_id);
      assert.deepEqual(claims.payload.deposit_details, {
        account_label: 'main',
        deposit_amount: '25.00',
        denominated_currency: 'USD',
      });
      assert.equal(claims.iss, handoff.url);
      assert.equal(claims.exp - claims.iat, 3600);
      assert.equal(decodeProtectedHeader(issued.token).alg, 'ES256');
    });

    test('introspect, revokeAuthToken, and a revoked token refused when the verifier checks revocation', async () => {
      const client = tokens();
      const { token } = await issue();
      const live = await client.introspect(token);
      assert.equal(live.active, true);
      assert.equal(live.active && live.participant_code, alice.participantCode);

      await client.revokeAuthToken(token);
      await client.revokeAuthToken(token);
      assert.deepEqual(await client.introspect(token), { active: false });

      // Offline verification cannot know; asked to check, the verifier refuses.
      assert.equal((await verifyClientAuthToken(token, verification)).jti, decodeJwt(token).jti);
      await refused(verifyClientAuthToken(token, { ...verification, checkRevocation: client }), 'revoked');
      await refused(
        verifyClientAuthToken(token, {
          ...verification,
          checkRevocation: async (t) => !(await client.introspect(t)).active,
        }),
        'revoked',
      );
      const other = await issue();
      assert.ok(await verifyClientAuthToken(other.token, { ...verification, checkRevocation: client }));
    });

    test("the server's errors arrive as HandoffClientError with its messages", async () => {
      const invalid = await rejection(
        tokens().createClientAuthToken({
          participant_code: alice.participantCode,
          permissions: ['teleport'] as unknown as ClientAuthTokenRequest['permissions'],
          email: 'not-an-email',
        }),
      );
      assert.ok(invalid instanceof HandoffClientError);
      assert.equal(invalid.status, 400);
      assert.ok(invalid.messages.some((m) => m.startsWith('permissions[0]: must be one of onboarding')));
      assert.ok(invalid.messages.includes('email: must be an email address'), String(invalid.messages));

      const missing = await rejection(issue({ participant_code: 'NOPE00' }));
      assert.ok(missing instanceof HandoffClientError);
      assert.equal(missing.status, 404);
      assert.deepEqual(missing.messages, ['participant not found']);
      assert.match(missing.requestId ?? '', /.+/);

      const wrongPassphrase = createClientTokenClient({
        baseUrl: handoff.url,
        apiKey: handoff.partner.hmac.api_key,
        secret: handoff.partner.hmac.secret,
        passphrase: 'wrong',
      });
      const forbidden = await rejection(wrongPassphrase.introspect('x'));
      assert.ok(forbidden instanceof HandoffClientError);
      assert.equal(forbidden.status, 403);
      assert.deepEqual(forbidden.messages, ['invalid passphrase']);
    });

    test('a retry after an answer lost on the way back is re-signed: the replay guard lets it through', async () => {
      let lost = 0;
      let sent = 0;
      const client = createClientTokenClient({
        baseUrl: handoff.url,
        apiKey: handoff.partner.hmac.api_key,
        secret: handoff.partner.hmac.secret,
        passphrase: handoff.partner.hmac.passphrase,
        retries: 1,
        // The server handles the first request, but its answer "never arrives".
        fetch: (async (input: URL | string, init?: RequestInit) => {
          const response = await fetch(input, init);
          sent++;
          if (lost++ === 0) {
            await response.arrayBuffer();
            throw new TypeError('socket hang up');
          }
          return response;
        }) as typeof fetch,
      });
      const answer = await client.introspect('not-a-token');
      assert.deepEqual(answer, { active: false });
      assert.equal(sent, 2);
    });

    test('identical requests in a row are sent as distinct signatures, not replays', async () => {
      const client = tokens();
      const { token } = await issue();
      const answers = await Promise.all([client.introspect(token), client.introspect(token)]);
      assert.deepEqual(
        answers.map((a) => a.active),
        [true, true],
      );
    });

    test('refuses tampered, forged, foreign, misaddressed and expired tokens', async () => {
      const { token } = await issue();
      const [header, payload, signature] = token.split('.') as [string, string, string];
      const claims = decodeJwt(token);

      const inflated = Buffer.from(JSON.stringify({ ...claims, permissions: ['crypto-buy', 'crypto-withdrawals'] }));
      await refused(
        verifyClientAuthToken(`${header}.${inflated.toString('base64url')}.${signature}`, verification),
        'signature',
      );

      const none = Buffer.from(
        JSON.stringify({ alg: 'none', typ: 'client-auth+jwt', kid: decodeProtectedHeader(token).kid }),
      );
      await refused(verifyClientAuthToken(`${none.toString('base64url')}.${payload}.`, verification), 'algorithm');

      const hs256 = await new SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256', typ: 'client-auth+jwt', kid: decodeProtectedHeader(token).kid as string })
        .sign(randomBytes(32));
      await refused(verifyClientAuthToken(hs256, verification), 'algorithm');

      const foreign = await generateKeyPair('ES256');
      const foreignToken = await new SignJWT(claims)
        .setProtectedHeader({ alg: 'ES256', typ: 'client-auth+jwt', kid: 'not-a-handoff-key' })
        .sign(foreign.privateKey);
      await refused(verifyClientAuthToken(foreignToken, verification), 'unknown_key');
      // A foreign key claiming Handoff's kid fails on the signature.
      const impostor = await new SignJWT(claims)
        .setProtectedHeader({ alg: 'ES256', typ: 'client-auth+jwt', kid: decodeProtectedHeader(token).kid as string })
        .sign(foreign.privateKey);
      await refused(verifyClientAuthToken(impostor, verification), 'signature');
      assert.ok((await exportJWK(foreign.publicKey)).x);

      // A partner JWT, signed by the same keys, is another kind of token.
      const authenticated = await fetch(`${handoff.url}/api/v1/authenticate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: handoff.partner.username, password: handoff.partner.password }),
      });
      const { token: partnerToken } = (await authenticated.json()) as { token: string };
      await refused(verifyClientAuthToken(partnerToken, verification), 'type');

      await refused(verifyClientAuthToken(token, { ...verification, audience: 'someone-else' }), 'claims');
      await refused(verifyClientAuthToken(token, { ...verification, issuer: 'https://evil.example' }), 'claims');
      await refused(verifyClientAuthToken(token, { ...verification, algorithms: ['EdDSA'] }), 'algorithm');
      await refused(verifyClientAuthToken('not.a.jwt', verification), 'malformed');
      assert.throws(
        () => createClientAuthTokenVerifier({ ...verification, algorithms: ['HS256'] as never }),
        /subset of ES256, EdDSA, RS256/,
      );

      const exp = claims.exp as number;
      const at = (seconds: number) => () => seconds * 1000;
      await refused(verifyClientAuthToken(token, { ...verification, clock: at(exp + 6) }), 'expired');
      assert.ok(await verifyClientAuthToken(token, { ...verification, clock: at(exp + 6), clockTolerance: 10 }));
      await refused(
        verifyClientAuthToken(token, { ...verification, clock: at((claims.nbf as number) - 60) }),
        'not_yet_valid',
      );
    });
  });

  describe('partner client', () => {
    const apiKeyClient = () => createPartnerClient({ baseUrl: handoff.url, apiKey: handoff.partner.api_key });

    test('every method, with an API key', async () => {
      const partner = apiKeyClient();
      const info = await partner.systemInfo();
      assert.equal(info.privateUrls.kyc, `${handoff.url}/private/kyc`);
      assert.equal(info.urls.jwks, `${handoff.url}/.well-known/jwks.json`);

      const created = await partner.createUser({ emailAddress: 'bob@example.com', password: 'bob password 123' });
      assert.equal(created.status, 'submitted');
      assert.equal(created.emailAddress, 'bob@example.com');
      assert.match(created.participantCode, /^[A-Z0-9]{6}$/);
      await apiError(partner.createUser({ emailAddress: 'bob@example.com' }), 'ER821', 409);

      const session = await partner.userLogin({ emailAddress: alice.email, password: alice.password });
      assert.equal(session.identifier, alice.identifier);
      await apiError(partner.userLogin({ emailAddress: alice.email, password: 'wrong password' }), 'ER820', 401);

      const rotated = await partner.userRefresh({ refreshToken: session.refreshToken });
      assert.notEqual(rotated.refreshToken, session.refreshToken);
      await apiError(partner.userRefresh({ refreshToken: session.refreshToken }), 'ER811', 401);

      const link = await partner.registerIdentifier({
        identifier: `bob${'1'.repeat(37)}`,
        returnUrl: `${returnOrigin}/linked`,
      });
      assert.ok(link.redirectUrl.startsWith(`${handoff.url}/private/link-identifier?request=`), link.redirectUrl);
      await apiError(partner.registerIdentifier({ identifier: 'short', returnUrl: `${returnOrigin}/x` }), 'ER707', 400);
      await apiError(
        partner.registerIdentifier({ identifier: `bob${'2'.repeat(37)}`, returnUrl: 'https://evil.example/x' }),
        'ER822',
        400,
      );

      const byToken = await partner.getLoginToken({
        userToken: (await partner.userLogin({ emailAddress: alice.email, password: alice.password })).token,
      });
      const byIdentifier = await partner.getLoginToken({ identifier: alice.identifier });
      assert.equal(byToken.uuid, byIdentifier.uuid);
      assert.match(byToken.expiryDate, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      assert.equal(
        privatePageUrl(info, 'upgrade', byToken),
        `${handoff.url}/private/upgrade?token=${byToken.token}&uuid=${byToken.uuid}`,
      );

      const redeemed = await partner.loginWithToken({ uuid: byToken.uuid, token: byToken.token });
      assert.equal(redeemed.uuid, byToken.uuid);
      assert.equal(decodeProtectedHeader(redeemed.token).typ, 'user+jwt');
      await apiError(partner.loginWithToken({ uuid: byToken.uuid, token: byToken.token }), 'ER333', 400);

      await partner.userLogout({ userToken: redeemed.token });
      await apiError(partner.getLoginToken({ userToken: redeemed.token }), 'ER702', 401);
      await apiError(partner.getLoginToken({ identifier: `nobody${'0'.repeat(34)}` }), 'ER705', 404);
    });

    test('username and password: one login, refresh before expiry with the rotated token, once for concurrent calls', async () => {
      let offsetMs = 0;
      const refreshTokens: string[] = [];
      const observed = observedFetch(async (request, response) => {
        if (request.path === '/api/v1/authenticate' || request.path === '/api/v1/refresh') {
          refreshTokens.push(((await response.json()) as { refreshToken: string }).refreshToken);
        }
      });
      const partner = createPartnerClient({
        baseUrl: handoff.url,
        username: handoff.partner.username,
        password: handoff.partner.password,
        fetch: observed.fetch,
        clock: () => Date.now() + offsetMs,
      });
      await partner.systemInfo();
      await partner.systemInfo();
      assert.equal(observed.count('POST /api/v1/authenticate'), 1);
      assert.equal(observed.count('POST /api/v1/refresh'), 0);

      // 30 s before the partner JWT expires (it lives 1 h; the SDK renews 60 s ahead).
      offsetMs = (3600 - 30) * 1000;
      await Promise.all(Array.from({ length: 5 }, () => partner.systemInfo()));
      assert.equal(observed.count('POST /api/v1/refresh'), 1);

      // The next renewal must present the rotated refresh token: a spent one would be refused (and revoke the
      // family), which would show as a second login.
      offsetMs += 3600 * 1000;
      await partner.systemInfo();
      assert.equal(observed.count('POST /api/v1/refresh'), 2);
      assert.equal(observed.count('POST /api/v1/authenticate'), 1);
      assert.equal(observed.count('GET /api/v1/system/info'), 8);
    });

    test('username and password: a refused refresh token means a new login, not a failed call', async () => {
      let offsetMs = 0;
      let latestRefreshToken = '';
      const observed = observedFetch(async (request, response) => {
        if (request.path === '/api/v1/authenticate' || request.path === '/api/v1/refresh') {
          latestRefreshToken = ((await response.json()) as { refreshToken: string }).refreshToken;
        }
      });
      const partner = createPartnerClient({
        baseUrl: handoff.url,
        username: handoff.partner.username,
        password: handoff.partner.password,
        fetch: observed.fetch,
        clock: () => Date.now() + offsetMs,
      });
      await partner.systemInfo();
      // Someone else spends the SDK's refresh token first.
      const stolen = await fetch(`${handoff.url}/api/v1/refresh`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ refreshToken: latestRefreshToken }),
      });
      assert.equal(stolen.status, 200);
      offsetMs = 3600 * 1000;
      const info = await partner.systemInfo();
      assert.ok(info.privateUrls.kyc);
      assert.equal(observed.count('POST /api/v1/refresh'), 1);
      assert.equal(observed.count('POST /api/v1/authenticate'), 2);
    });

    test('bad partner credentials are catalogue errors', async () => {
      await apiError(
        createPartnerClient({
          baseUrl: handoff.url,
          username: handoff.partner.username,
          password: 'wrong',
        }).systemInfo(),
        'ER810',
        401,
      );
      await apiError(createPartnerClient({ baseUrl: handoff.url, apiKey: 'hk_not_a_key' }).systemInfo(), 'ER805', 401);
    });
  });
});
