import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import type { NewPartnerAccount } from '../src/admin/accounts.ts';
import type { Participant } from '../src/store/participants.ts';
import { signedRequest, signHeaders, startTestApp, storeName, type TestApp } from './harness.ts';

const path = '/client_auth_token';

describe(`POST /client_auth_token (${storeName})`, () => {
  let t: TestApp;
  let partner: NewPartnerAccount;
  let other: NewPartnerAccount;
  let user: Participant;
  let otherUser: Participant;

  before(async () => {
    t = await startTestApp();
    partner = await t.createPartner({ platformCode: 'PLAT01' });
    other = await t.createPartner({ platformCode: 'PLAT02' });
    user = await t.createUser({ partnerCode: 'PLAT01', email: 'alice@example.com', participantCode: 'ALICE1' });
    otherUser = await t.createUser({ partnerCode: 'PLAT02', email: 'bob@example.com', participantCode: 'BOB001' });
  });
  after(() => t.close());

  const issue = (body: unknown, options?: Parameters<typeof signedRequest>[4]) =>
    signedRequest(t, partner.hmac, path, body, options);

  async function verify(token: string) {
    const jwks = await t.app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
    return jwtVerify(token, createLocalJWKSet(jwks.json()), {
      issuer: 'http://handoff.test',
      audience: 'handoff-sdk',
      algorithms: ['ES256'],
      typ: 'client-auth+jwt',
      currentDate: new Date(t.clock.now),
    });
  }

  test('issues a JWT that an independent verifier accepts with the published JWKS', async () => {
    const response = await issue({ participant_code: 'ALICE1', permissions: ['crypto-buy', 'onboarding'] });
    assert.equal(response.statusCode, 201);
    assert.match(String(response.headers['x-request-id']), /.+/);
    const { token } = response.json().message;
    const { payload, protectedHeader } = await verify(token);
    assert.equal(protectedHeader.alg, 'ES256');
    assert.equal(protectedHeader.typ, 'client-auth+jwt');
    assert.ok(protectedHeader.kid);
    assert.equal(payload.platform_code, 'PLAT01');
    assert.equal(payload.participant_code, 'ALICE1');
    assert.deepEqual(payload.permissions, ['crypto-buy', 'onboarding']);
    assert.deepEqual(payload.payload, {});
    assert.equal((payload.exp as number) - (payload.iat as number), 3600);
    assert.equal(payload.nbf, payload.iat);
    assert.ok(Buffer.from(payload.jti as string, 'base64url').length >= 16);
    assert.equal(payload.email, undefined);
  });

  test('copies every other accepted field into payload', async () => {
    const body = {
      participant_code: 'ALICE1',
      permissions: ['crypto-buy', 'crypto-sell'],
      reference_id: 'order-42',
      otp_verified: 'sms',
      client_device_info: { ip_address: '2001:db8::1', location: 'US-NY' },
      custom_fees_and_spreads: {
        crypto_buy: { spread_bps: '25', fees: [{ type: 'bps', amount: '10', name: 'platform fee' }] },
        crypto_sell: { spread_bps: '0', fees: [{ type: 'notional', amount: '1.50', name: 'flat' }] },
      },
    };
    const response = await issue(body);
    assert.equal(response.statusCode, 201, response.body);
    const { payload } = await verify(response.json().message.token);
    assert.deepEqual(payload.payload, {
      reference_id: 'order-42',
      otp_verified: 'sms',
      client_device_info: body.client_device_info,
      custom_fees_and_spreads: body.custom_fees_and_spreads,
    });
  });

  test('withdrawal permissions live 5 minutes and record a pending payment', async () => {
    const response = await issue({
      participant_code: 'ALICE1',
      permissions: ['crypto-withdrawals'],
      withdrawal_details: { quoted_asset: 'BTC', withdrawal_request_amount: '0.015', external_account_id: 'acct-1' },
    });
    assert.equal(response.statusCode, 201, response.body);
    const { token, payment_id } = response.json().message;
    assert.match(payment_id, /^[0-9a-f-]{36}$/);
    const { payload } = await verify(token);
    assert.equal((payload.exp as number) - (payload.iat as number), 300);
    assert.equal((payload.payload as Record<string, unknown>).payment_id, payment_id);
    const row = await t.ctx.db
      .selectFrom('payments')
      .selectAll()
      .where('id', '=', payment_id)
      .executeTakeFirstOrThrow();
    assert.equal(row.kind, 'withdrawal');
    assert.equal(row.participant_id, user.uuid);
    assert.equal(row.details.withdrawal_request_amount, '0.015');
  });

  test('crypto-payouts also live 5 minutes; crypto-pay records a payment', async () => {
    const payout = await issue({
      participant_code: 'ALICE1',
      permissions: ['crypto-payouts', 'participant-profile'],
      withdrawal_details: { quoted_asset: 'USDC', withdrawal_request_amount: '5', external_account_id: 'x' },
    });
    assert.equal(payout.statusCode, 201, payout.body);
    const payoutClaims = (await verify(payout.json().message.token)).payload;
    assert.equal((payoutClaims.exp as number) - (payoutClaims.iat as number), 300);
    const pay = await issue({
      participant_code: 'ALICE1',
      permissions: ['crypto-pay'],
      payment_details: { purchase_amount: '19.99', denominated_currency: 'USD' },
    });
    assert.equal(pay.statusCode, 201, pay.body);
    assert.match(pay.json().message.payment_id, /^[0-9a-f-]{36}$/);
    assert.equal(pay.json().message.deposit_intent_id, undefined);
  });

  test('fwc records a deposit intent and returns its id', async () => {
    const response = await issue({
      participant_code: 'ALICE1',
      permissions: ['fwc'],
      deposit_details: { account_label: 'main', deposit_amount: '100', denominated_currency: 'USD' },
    });
    assert.equal(response.statusCode, 201, response.body);
    const { deposit_intent_id, token } = response.json().message;
    const row = await t.ctx.db
      .selectFrom('deposit_intents')
      .selectAll()
      .where('id', '=', deposit_intent_id)
      .executeTakeFirstOrThrow();
    assert.equal(row.details.account_label, 'main');
    assert.equal(
      ((await verify(token)).payload.payload as Record<string, unknown>).deposit_intent_id,
      deposit_intent_id,
    );
  });

  test('a reference_id reused with the same content gets the same records; with other content 409', async () => {
    const body = {
      participant_code: 'ALICE1',
      permissions: ['fwc'],
      reference_id: 'dep-1',
      deposit_details: { account_label: 'main' },
    };
    const first = await issue(body);
    const again = await issue(body);
    assert.equal(first.statusCode, 201);
    assert.equal(again.statusCode, 201);
    assert.equal(again.json().message.deposit_intent_id, first.json().message.deposit_intent_id);
    const conflict = await issue({ ...body, deposit_details: { account_label: 'other' } });
    assert.equal(conflict.statusCode, 409);
    assert.deepEqual(conflict.json(), { error: 'reference_id already used with different content' });
  });

  test('concurrent first uses of one reference_id record one deposit intent', async () => {
    const body = {
      participant_code: 'ALICE1',
      permissions: ['fwc'],
      reference_id: 'race-1',
      deposit_details: { account_label: 'main' },
    };
    // Distinct timestamps inside the window make distinct signatures (not replays) of the same content.
    const responses = await Promise.all(
      Array.from({ length: 8 }, (_, i) => issue(body, { timestamp: t.clock.seconds - i })),
    );
    assert.deepEqual(
      responses.map((r) => r.statusCode),
      Array(8).fill(201),
    );
    const ids = new Set(responses.map((r) => r.json().message.deposit_intent_id));
    assert.equal(ids.size, 1);
    const rows = await t.ctx.db
      .selectFrom('deposit_intents')
      .select('id')
      .where('reference_id', '=', 'race-1')
      .execute();
    assert.equal(rows.length, 1);
    t.clock.advance(1);
  });

  describe('who the token is for', () => {
    test("another platform's participant answers exactly like an unknown one", async () => {
      const foreign = await issue({ participant_code: otherUser.participantCode, permissions: ['onboarding'] });
      const unknown = await issue({ participant_code: 'ZZZZZZ', permissions: ['onboarding'] });
      assert.equal(foreign.statusCode, 404);
      assert.deepEqual(foreign.json(), { error: 'participant not found' });
      assert.deepEqual(unknown.json(), foreign.json());
    });

    test('the platform participant itself is not an end user', async () => {
      const response = await issue({ participant_code: 'PLAT01', permissions: ['onboarding'] });
      assert.equal(response.statusCode, 404);
    });

    test('participant_code with a different email is 422; with the same email (any case) is fine', async () => {
      const mismatch = await issue({
        participant_code: 'ALICE1',
        email: 'eve@example.com',
        permissions: ['onboarding'],
      });
      assert.equal(mismatch.statusCode, 422);
      assert.deepEqual(mismatch.json(), { error: 'email does not match participant' });
      const match = await issue({
        participant_code: 'ALICE1',
        email: 'ALICE@example.com',
        permissions: ['onboarding'],
      });
      assert.equal(match.statusCode, 201);
    });

    test("email only: an existing participant's email yields its token", async () => {
      const response = await issue({ email: 'alice@example.com', permissions: ['crypto-buy'] });
      assert.equal(response.statusCode, 201, response.body);
      const { payload } = await verify(response.json().message.token);
      assert.equal(payload.participant_code, 'ALICE1');
      assert.equal(payload.email, undefined);
    });

    test('email only, unknown: a pre-onboarding token carrying email and phone, onboarding only', async () => {
      const response = await issue({
        email: 'new@example.com',
        phone_number: '+14155550100',
        permissions: ['onboarding'],
      });
      assert.equal(response.statusCode, 201, response.body);
      const { payload } = await verify(response.json().message.token);
      assert.equal(payload.participant_code, undefined);
      assert.equal(payload.email, 'new@example.com');
      assert.equal(payload.phone_number, '+14155550100');
      const more = await issue({ email: 'new@example.com', permissions: ['onboarding', 'crypto-buy'] });
      assert.equal(more.statusCode, 422);
      assert.match(more.json().error, /pre-onboarding/);
    });

    test("another platform's participant email is a pre-onboarding case, never its token", async () => {
      const response = await issue({ email: 'bob@example.com', permissions: ['crypto-buy'] });
      assert.equal(response.statusCode, 422);
    });

    test('neither participant_code nor email → 400', async () => {
      const response = await issue({ permissions: ['onboarding'] });
      assert.equal(response.statusCode, 400);
      assert.deepEqual(response.json(), { errors: ['body: participant_code or email is required'] });
    });

    test('merchant_participant_code must be a merchant of this platform', async () => {
      await t.createUser({
        partnerCode: 'PLAT01',
        email: 'shop@example.com',
        participantCode: 'SHOP01',
        kind: 'merchant',
      });
      await t.createUser({
        partnerCode: 'PLAT02',
        email: 'shop2@example.com',
        participantCode: 'SHOP02',
        kind: 'merchant',
      });
      const ok = await issue({
        participant_code: 'ALICE1',
        merchant_participant_code: 'SHOP01',
        permissions: ['onboarding'],
      });
      assert.equal(ok.statusCode, 201);
      assert.equal((await verify(ok.json().message.token)).payload.payload && true, true);
      for (const code of ['SHOP02', 'ALICE1', 'NOPE']) {
        const response = await issue({
          participant_code: 'ALICE1',
          merchant_participant_code: code,
          permissions: ['onboarding'],
        });
        assert.equal(response.statusCode, 404, code);
        assert.deepEqual(response.json(), { error: 'merchant participant not found' });
      }
    });
  });

  describe('participant status table', () => {
    const cases: Array<[string, string[], string[]]> = [
      ['approved', ['crypto-buy', 'fiat-withdrawals', 'csp-active'], []],
      ['submitted', ['onboarding', 'update-participant', 'participant-profile'], ['crypto-buy']],
      ['pending_approval', ['onboarding', 'update-participant', 'participant-profile'], ['fiat-deposits']],
      ['locked', ['participant-profile', 'csp-recovery'], ['onboarding']],
      ['pending_unlock', ['participant-profile', 'csp-recovery'], ['csp-active']],
      ['pending_disable', ['participant-profile', 'csp-recovery'], ['crypto-sell']],
      ['rejected', [], ['participant-profile']],
      ['disabled', [], ['onboarding']],
      ['divested', [], ['csp-recovery']],
      ['closed', [], ['participant-profile']],
    ];
    for (const [status, allowed, denied] of cases) {
      test(`${status}: allows [${allowed.join(', ')}], denies [${denied.join(', ')}]`, async () => {
        const p = await t.createUser({ partnerCode: 'PLAT01', status: status as Participant['status'] });
        if (allowed.length > 0) {
          const ok = await issue({ participant_code: p.participantCode, permissions: allowed });
          assert.equal(ok.statusCode, 201, ok.body);
        }
        for (const permission of denied) {
          const response = await issue({ participant_code: p.participantCode, permissions: [...allowed, permission] });
          assert.equal(response.statusCode, 422);
          assert.deepEqual(response.json(), {
            error: `participant ${p.participantCode} is ${status}; ${permission} not allowed`,
          });
        }
      });
    }
  });

  describe('validation (400, one message per problem, naming the field)', () => {
    const base = { participant_code: 'ALICE1' };
    const cases: Array<[string, unknown, string[]]> = [
      ['permissions missing', { ...base }, ['permissions: is required']],
      ['permissions empty', { ...base, permissions: [] }, ['permissions: must have at least 1 items']],
      [
        'unknown permission',
        { ...base, permissions: ['onboarding', 'crypto-buy', 'fly'] },
        [
          'permissions[2]: must be one of onboarding, update-participant, csp-active, csp-recovery, fiat-deposits, fiat-withdrawals, crypto-withdrawals, crypto-buy, crypto-sell, fwc, participant-profile, crypto-account-link, crypto-payouts, crypto-pay, fiat-account-link',
        ],
      ],
      [
        'duplicate permissions',
        { ...base, permissions: ['onboarding', 'onboarding'] },
        ['permissions: must not contain duplicates (items 0 and 1 are equal)'],
      ],
      ['permissions not an array', { ...base, permissions: 'onboarding' }, ['permissions: must be a array']],
      ['unknown field', { ...base, permissions: ['onboarding'], colour: 'red' }, ['colour: is not a known field']],
      [
        'participant_code too short and lower case',
        { participant_code: 'abc', permissions: ['onboarding'] },
        ['participant_code: must match ^[A-Z0-9]{6}$'],
      ],
      [
        'participant_code a number',
        { participant_code: 123456, permissions: ['onboarding'] },
        ['participant_code: must be a string'],
      ],
      ['bad email', { email: 'not-an-email', permissions: ['onboarding'] }, ['email: must be an email address']],
      [
        'bad phone',
        { email: 'x@example.com', phone_number: '0044 20', permissions: ['onboarding'] },
        ['phone_number: must match ^\\+[1-9][0-9]{1,14}$'],
      ],
      [
        'bad otp_verified',
        { ...base, otp_verified: 'fax', permissions: ['onboarding'] },
        ['otp_verified: must be one of email, sms'],
      ],
      [
        'reference_id too long',
        { ...base, reference_id: 'r'.repeat(51), permissions: ['onboarding'] },
        ['reference_id: must have at most 50 characters'],
      ],
      [
        'merchant code empty',
        { ...base, merchant_participant_code: '', permissions: ['onboarding'] },
        ['merchant_participant_code: must have at least 1 characters'],
      ],
      [
        'withdrawal_details missing for crypto-withdrawals',
        { ...base, permissions: ['crypto-withdrawals'] },
        ['withdrawal_details: is required with permission crypto-withdrawals'],
      ],
      [
        'withdrawal_details incomplete and amount zero',
        {
          ...base,
          permissions: ['crypto-payouts'],
          withdrawal_details: { quoted_asset: 'BTC', withdrawal_request_amount: '0' },
        },
        [
          'withdrawal_details.external_account_id: is required',
          'withdrawal_details.withdrawal_request_amount: must be a decimal string > 0 (e.g. "12.50")',
        ],
      ],
      [
        'deposit_details missing for fwc',
        { ...base, permissions: ['fwc'] },
        ['deposit_details: is required with permission fwc'],
      ],
      [
        'deposit currency other than USD',
        { ...base, permissions: ['fwc'], deposit_details: { account_label: 'a', denominated_currency: 'EUR' } },
        ['deposit_details.denominated_currency: must be one of USD'],
      ],
      [
        'deposit amount negative',
        { ...base, permissions: ['fwc'], deposit_details: { account_label: 'a', deposit_amount: '-1' } },
        ['deposit_details.deposit_amount: must be a decimal string > 0 (e.g. "12.50")'],
      ],
      [
        'payment_details missing for crypto-pay',
        { ...base, permissions: ['crypto-pay'] },
        ['payment_details: is required with permission crypto-pay'],
      ],
      [
        'details without the permission that uses them',
        {
          ...base,
          permissions: ['onboarding'],
          payment_details: { purchase_amount: '1', denominated_currency: 'USD' },
          deposit_details: { account_label: 'x' },
        },
        [
          'deposit_details: is only allowed with permission fwc',
          'payment_details: is only allowed with permission crypto-pay',
        ],
      ],
      [
        'fees without a buy/sell permission',
        {
          ...base,
          permissions: ['onboarding'],
          custom_fees_and_spreads: { crypto_buy: { spread_bps: '1', fees: [] } },
        },
        [
          'custom_fees_and_spreads: is only allowed with permission crypto-buy or crypto-sell',
          'custom_fees_and_spreads.crypto_buy: is only allowed with permission crypto-buy',
        ],
      ],
      [
        'sell fees with only crypto-buy',
        {
          ...base,
          permissions: ['crypto-buy'],
          custom_fees_and_spreads: { crypto_sell: { spread_bps: '1', fees: [] } },
        },
        ['custom_fees_and_spreads.crypto_sell: is only allowed with permission crypto-sell'],
      ],
      [
        'bad fee type and amount',
        {
          ...base,
          permissions: ['crypto-buy'],
          custom_fees_and_spreads: {
            crypto_buy: { spread_bps: 'abc', fees: [{ type: 'percent', amount: '-2', name: 'x' }] },
          },
        },
        [
          'custom_fees_and_spreads.crypto_buy.spread_bps: must be a decimal string ≥ 0 (e.g. "12.50")',
          'custom_fees_and_spreads.crypto_buy.fees[0].type: must be one of bps, notional',
          'custom_fees_and_spreads.crypto_buy.fees[0].amount: must be a decimal string ≥ 0 (e.g. "12.50")',
        ],
      ],
      [
        'client_device_info with bad ip and location',
        { ...base, permissions: ['onboarding'], client_device_info: { ip_address: '999.1.1.1', location: 'New York' } },
        [
          'client_device_info.ip_address: must be an IPv4 or IPv6 address',
          'client_device_info.location: must match ^[A-Z]{2}-[A-Z0-9]{1,3}$',
        ],
      ],
      ['body an array', [1, 2], ['body: must be an object']],
      ['body null', null, ['body: must be an object']],
    ];
    for (const [name, body, errors] of cases) {
      test(name, async () => {
        const response = await issue(body);
        assert.equal(response.statusCode, 400, response.body);
        assert.deepEqual(response.json(), { errors });
      });
    }

    test('malformed JSON', async () => {
      const response = await issue(undefined, { rawBody: '{"permissions": [' });
      assert.equal(response.statusCode, 400);
      assert.deepEqual(response.json(), { errors: ['body: is not valid JSON'] });
    });

    test('no body at all signs {} and is then missing its fields', async () => {
      const response = await issue(undefined);
      assert.equal(response.statusCode, 400);
      assert.deepEqual(response.json(), { errors: ['permissions: is required'] });
    });

    test('a body that is not JSON → 415', async () => {
      const raw = 'permissions=onboarding';
      const response = await issue(undefined, {
        rawBody: raw,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      assert.equal(response.statusCode, 415);
      assert.deepEqual(response.json(), { error: 'request body must be application/json' });
    });

    test('a body over 16 KiB → 413 before any parsing', async () => {
      const raw = JSON.stringify({
        participant_code: 'ALICE1',
        permissions: ['onboarding'],
        reference_id: 'x'.repeat(17_000),
      });
      const response = await issue(undefined, { rawBody: raw });
      assert.equal(response.statusCode, 413);
      assert.deepEqual(response.json(), { error: 'request body too large' });
    });
  });

  describe('request authentication (403)', () => {
    const body = JSON.stringify({ participant_code: 'ALICE1', permissions: ['onboarding'] });
    const send = (headers: Record<string, string>, raw = body, url = path) =>
      t.app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json', ...headers }, payload: raw });

    for (const header of ['x-scx-api-key', 'x-scx-signed', 'x-scx-timestamp', 'x-scx-passphrase']) {
      test(`missing ${header}`, async () => {
        const headers = signHeaders(partner.hmac, 'POST', path, body, t.clock.seconds);
        delete headers[header];
        const response = await send(headers);
        assert.equal(response.statusCode, 403);
        assert.deepEqual(response.json(), { error: `missing header ${header.toUpperCase()}` });
      });
    }

    for (const skew of [-59, 59]) {
      test(`timestamp ${skew > 0 ? '+' : ''}${skew} s is accepted`, async () => {
        const response = await send(signHeaders(partner.hmac, 'POST', path, body, t.clock.seconds + skew));
        assert.equal(response.statusCode, 201, response.body);
      });
    }

    for (const skew of [-61, 61]) {
      test(`timestamp ${skew > 0 ? '+' : ''}${skew} s is refused`, async () => {
        const response = await send(signHeaders(partner.hmac, 'POST', path, body, t.clock.seconds + skew));
        assert.equal(response.statusCode, 403);
        assert.deepEqual(response.json(), { error: 'X-SCX-TIMESTAMP is more than 60 seconds away from server time' });
      });
    }

    test('a non-numeric timestamp is refused', async () => {
      const headers = { ...signHeaders(partner.hmac, 'POST', path, body, t.clock.seconds), 'x-scx-timestamp': '1e9' };
      const response = await send(headers);
      assert.equal(response.statusCode, 403);
      assert.deepEqual(response.json(), { error: 'X-SCX-TIMESTAMP must be Unix time in whole seconds' });
    });

    test('a replayed request is refused, also when its signature is spelled differently', async () => {
      const headers = signHeaders(partner.hmac, 'POST', path, body, t.clock.seconds);
      assert.equal((await send(headers)).statusCode, 201);
      const replay = await send(headers);
      assert.equal(replay.statusCode, 403);
      assert.deepEqual(replay.json(), { error: 'request signature already used (replay)' });
      // Base64 decoding is lenient: a trailing newline decodes to the same bytes and must not slip through.
      const respelled = await send({ ...headers, 'x-scx-signed': `${headers['x-scx-signed']}\n` });
      assert.equal(respelled.statusCode, 403);
      assert.match(respelled.json().error, /replay|signature/);
      t.clock.advance(1);
    });

    test('a replay is still refused at the edge of the window, and the window then refuses it anyway', async () => {
      const ts = t.clock.seconds;
      const headers = signHeaders(partner.hmac, 'POST', path, body, ts);
      assert.equal((await send(headers)).statusCode, 201);
      t.clock.advance(60);
      assert.deepEqual((await send(headers)).json(), { error: 'request signature already used (replay)' });
      t.clock.advance(2);
      assert.deepEqual((await send(headers)).json(), {
        error: 'X-SCX-TIMESTAMP is more than 60 seconds away from server time',
      });
    });

    test('a tampered body is refused', async () => {
      const headers = signHeaders(partner.hmac, 'POST', path, body, t.clock.seconds);
      const response = await send(headers, body.replace('onboarding', 'crypto-buy'));
      assert.equal(response.statusCode, 403);
      assert.deepEqual(response.json(), { error: 'invalid signature' });
    });

    test('re-serialised JSON (same object, other bytes) is refused: the raw body is what is signed', async () => {
      const headers = signHeaders(partner.hmac, 'POST', path, body, t.clock.seconds);
      const response = await send(headers, JSON.stringify(JSON.parse(body), null, 2));
      assert.deepEqual(response.json(), { error: 'invalid signature' });
    });

    test('a signature for another path or query string is refused', async () => {
      const headers = signHeaders(partner.hmac, 'POST', '/introspect', body, t.clock.seconds);
      assert.deepEqual((await send(headers)).json(), { error: 'invalid signature' });
      const withQuery = signHeaders(partner.hmac, 'POST', `${path}?a=1`, body, t.clock.seconds);
      assert.deepEqual((await send(withQuery, body, `${path}?a=2`)).json(), { error: 'invalid signature' });
      const sameQuery = signHeaders(partner.hmac, 'POST', `${path}?a=1`, body, t.clock.seconds);
      assert.equal((await send(sameQuery, body, `${path}?a=1`)).statusCode, 201);
    });

    test('a wrong passphrase, an unknown key and a garbage signature are refused, echoing no secret', async () => {
      const headers = signHeaders(partner.hmac, 'POST', path, body, t.clock.seconds);
      const badPass = await send({ ...headers, 'x-scx-passphrase': 'wrong' });
      assert.deepEqual(badPass.json(), { error: 'invalid passphrase' });
      const otherPass = await send({ ...headers, 'x-scx-passphrase': other.hmac.passphrase });
      assert.deepEqual(otherPass.json(), { error: 'invalid passphrase' });
      const unknown = await send({ ...headers, 'x-scx-api-key': 'nope' });
      assert.deepEqual(unknown.json(), { error: 'unknown api key' });
      const garbage = await send({ ...headers, 'x-scx-signed': '!!!not base64!!!' });
      assert.deepEqual(garbage.json(), { error: 'invalid signature' });
      for (const response of [badPass, otherPass, unknown, garbage]) {
        assert.equal(response.statusCode, 403);
        assert.ok(!response.body.includes(partner.hmac.secret));
        assert.ok(!response.body.includes(partner.hmac.passphrase));
      }
    });

    test("another platform's secret with this api key is refused", async () => {
      const forged = signHeaders({ ...partner.hmac, secret: other.hmac.secret }, 'POST', path, body, t.clock.seconds);
      assert.deepEqual((await send(forged)).json(), { error: 'invalid signature' });
    });

    test('rejections land in the audit trail with their reason', async () => {
      await t.ctx.audit.flush();
      const rows = await t.ctx.db
        .selectFrom('audit_events')
        .select(['reason', 'outcome'])
        .where('outcome', '=', 'rejected')
        .execute();
      const reasons = new Set(rows.map((r) => r.reason));
      for (const reason of [
        'missing_header',
        'timestamp_outside_window',
        'replay',
        'bad_signature',
        'bad_passphrase',
      ]) {
        assert.ok(reasons.has(reason), reason);
      }
    });
  });

  test('a revoked credential and a disabled partner are refused', async () => {
    const p = await t.createPartner({ platformCode: 'PLAT09' });
    await t.createUser({ partnerCode: 'PLAT09', participantCode: 'CAROL1' });
    const body = { participant_code: 'CAROL1', permissions: ['onboarding'] };
    assert.equal((await signedRequest(t, p.hmac, path, body)).statusCode, 201);
    const { revokeHmacCredential } = await import('../src/store/credentials.ts');
    await revokeHmacCredential(t.ctx.db, p.hmac.api_key, new Date());
    t.ctx.credentials.invalidate();
    const revoked = await signedRequest(t, p.hmac, path, body);
    assert.equal(revoked.statusCode, 403);
    assert.deepEqual(revoked.json(), { error: 'api key has been revoked' });

    const q = await t.createPartner({ platformCode: 'PLAT08' });
    await t.createUser({ partnerCode: 'PLAT08', participantCode: 'DAVE01' });
    const { setPartnerStatus } = await import('../src/store/partners.ts');
    await setPartnerStatus(t.ctx.db, 'PLAT08', 'disabled');
    t.ctx.credentials.invalidate();
    const disabled = await signedRequest(t, q.hmac, path, { participant_code: 'DAVE01', permissions: ['onboarding'] });
    assert.deepEqual(disabled.json(), { error: 'platform is disabled' });
  });

  test('a revoked credential stops working on its own once the credential cache expires', async () => {
    const p = await t.createPartner({ platformCode: 'PLAT07' });
    await t.createUser({ partnerCode: 'PLAT07', participantCode: 'ERIN01' });
    const body = { participant_code: 'ERIN01', permissions: ['onboarding'] };
    assert.equal((await signedRequest(t, p.hmac, path, body)).statusCode, 201);
    const { revokeHmacCredential } = await import('../src/store/credentials.ts');
    await revokeHmacCredential(t.ctx.db, p.hmac.api_key, new Date());
    t.clock.advance(6);
    assert.equal((await signedRequest(t, p.hmac, path, body)).statusCode, 403);
  });

  test('participants are cached per instance; a status change made elsewhere gates minting at once on PostgreSQL, within the TTL embedded', async () => {
    const ttl = t.ctx.config.participantCacheSeconds;
    const p = await t.createPartner({ platformCode: 'PLAT05' });
    const body = { participant_code: 'GINA01', permissions: ['crypto-buy'] };
    // Not found is not kept: a user created right after a miss is found at once.
    assert.equal((await signedRequest(t, p.hmac, path, body)).statusCode, 404);
    await t.createUser({ partnerCode: 'PLAT05', participantCode: 'GINA01' });
    assert.equal((await signedRequest(t, p.hmac, path, body)).statusCode, 201);
    // As the KYC pipeline or another instance would: straight to the store, unseen by this instance's cache.
    const { setParticipantStatus } = await import('../src/store/participants.ts');
    const partner = await (await import('../src/store/partners.ts')).findPartnerByCode(t.ctx.db, 'PLAT05');
    await setParticipantStatus(t.ctx.db, partner!.id, 'GINA01', 'rejected');
    let refused = await signedRequest(t, p.hmac, path, body);
    if (storeName === 'pglite') {
      // The embedded store announces nothing (the server is its only writer): the copy lives out its TTL.
      assert.equal(refused.statusCode, 201);
      t.clock.advance(ttl);
      refused = await signedRequest(t, p.hmac, path, body);
    } else {
      // The announcement arrives over another connection: moments, not the TTL (the test clock stands still).
      for (let tries = 0; refused.statusCode === 201 && tries < 40; tries++) {
        await new Promise((resolve) => setTimeout(resolve, 25));
        refused = await signedRequest(t, p.hmac, path, body);
      }
    }
    assert.equal(refused.statusCode, 422);
    assert.deepEqual(refused.json(), { error: 'participant GINA01 is rejected; crypto-buy not allowed' });
  });

  test('partners may configure shorter lifetimes, never longer', async () => {
    const { updatePartnerSettings } = await import('../src/store/partners.ts');
    const p = await t.createPartner({ platformCode: 'PLAT06' });
    await t.createUser({ partnerCode: 'PLAT06', participantCode: 'FRED01' });
    await updatePartnerSettings(t.ctx.db, 'PLAT06', { clientTokenTtlSeconds: 600 });
    t.ctx.credentials.invalidate();
    const short = await signedRequest(t, p.hmac, path, { participant_code: 'FRED01', permissions: ['onboarding'] });
    const claims = (await verify(short.json().message.token)).payload;
    assert.equal((claims.exp as number) - (claims.iat as number), 600);
    const withdrawal = await signedRequest(t, p.hmac, path, {
      participant_code: 'FRED01',
      permissions: ['crypto-withdrawals'],
      withdrawal_details: { quoted_asset: 'BTC', withdrawal_request_amount: '1', external_account_id: 'a' },
    });
    const wClaims = (await verify(withdrawal.json().message.token)).payload;
    assert.equal((wClaims.exp as number) - (wClaims.iat as number), 300);
  });

  test('issued tokens are audited without token material', async () => {
    const response = await issue({
      participant_code: 'ALICE1',
      permissions: ['participant-profile'],
      reference_id: 'aud-1',
    });
    const { token } = response.json().message;
    await t.ctx.audit.flush();
    const row = await t.ctx.db
      .selectFrom('audit_events')
      .selectAll()
      .where('action', '=', 'client_token.issue')
      .where('outcome', '=', 'success')
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    assert.equal(row.participant_id, user.uuid);
    assert.equal(row.request_id, response.headers['x-request-id']);
    assert.equal(row.detail?.reference_id, 'aud-1');
    assert.ok(!JSON.stringify(row).includes(token.split('.')[2] as string));
    assert.ok(!t.logs.text.includes(token.split('.')[2] as string));
    assert.equal(decodeProtectedHeader(token).typ, 'client-auth+jwt');
  });

  test('X-Request-Id is echoed when well-formed and replaced when not', async () => {
    const good = await issue(
      { participant_code: 'ALICE1', permissions: ['onboarding'] },
      { headers: { 'x-request-id': 'req-123' } },
    );
    assert.equal(good.headers['x-request-id'], 'req-123');
    const bad = await issue(
      { participant_code: 'ALICE1', permissions: ['onboarding'] },
      { headers: { 'x-request-id': 'bad id with spaces' } },
    );
    assert.notEqual(bad.headers['x-request-id'], 'bad id with spaces');
  });

  test('unknown routes get a JSON 404', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/wp-admin' });
    assert.equal(response.statusCode, 404);
    assert.deepEqual(response.json(), { error: 'not found' });
    assert.match(String(response.headers['content-type']), /application\/json/);
  });
});
