import assert from 'node:assert/strict';
import { createHmac, randomInt } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { NewPartnerAccount } from '../src/admin/accounts.ts';
import { startTestApp, storeName, type TestApp } from './harness.ts';

/**
 * Seeded fuzzing of the HMAC surface: correctly signed requests with random bodies must never get a 5xx, and every
 * error must have the documented shape. The seed is fixed (HANDOFF_FUZZ_SEED=random explores); a failure names its seed,
 * and `HANDOFF_FUZZ_SEED=<seed>` replays exactly that run.
 */
// A fixed seed keeps CI reproducible; HANDOFF_FUZZ_SEED=random explores new inputs locally.
const seedSetting = process.env.HANDOFF_FUZZ_SEED ?? '20261123';
const seed = seedSetting === 'random' ? randomInt(2 ** 31) : Number(seedSetting);
const requestCount = 600;
const bodyLimit = 16 * 1024;

/** mulberry32: a tiny deterministic PRNG, so one seed always generates the same requests. */
function mulberry32(state: number): () => number {
  let a = state >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Random {
  constructor(readonly next: () => number) {}
  int(maxExclusive: number): number {
    return Math.floor(this.next() * maxExclusive);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }
}

const fieldNames = [
  'participant_code',
  'email',
  'phone_number',
  'otp_verified',
  'reference_id',
  'merchant_participant_code',
  'permissions',
  'withdrawal_details',
  'deposit_details',
  'payment_details',
  'client_device_info',
  'custom_fees_and_spreads',
  'token',
] as const;
const nestedNames = [
  'quoted_asset',
  'withdrawal_request_amount',
  'external_account_id',
  'account_label',
  'deposit_amount',
  'denominated_currency',
  'purchase_amount',
  'ip_address',
  'location',
  'crypto_buy',
  'crypto_sell',
  'spread_bps',
  'fees',
  'type',
  'amount',
  'name',
];
const pollutingKeys = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '__defineGetter__'];
const permissionNames = [
  'onboarding',
  'crypto-buy',
  'crypto-sell',
  'crypto-withdrawals',
  'crypto-payouts',
  'crypto-pay',
  'fwc',
  'participant-profile',
  'csp-recovery',
];
/** Characters that break naive code: NUL, controls, lone surrogates, RTL, combining marks, emoji, BOM. */
const nastyChars = [
  '\u0000',
  '\u0001',
  '\n',
  '\r',
  '\t',
  '"',
  '\\',
  '/',
  '\ud800',
  '\udfff',
  '\udbff\udfff',
  '\u202e',
  '\u0301',
  '\ufeff',
  '\uffff',
  '😀',
  'é',
  'ß',
  '中',
  '%00',
  '%s%n',
  '<script>',
  "' OR 1=1 --",
];
const templates: ReadonlyArray<() => Record<string, unknown>> = [
  () => ({ participant_code: 'ALICE1', permissions: ['crypto-buy'] }),
  () => ({ email: 'alice@example.com', permissions: ['onboarding'], phone_number: '+14155550100' }),
  () => ({
    participant_code: 'ALICE1',
    permissions: ['crypto-withdrawals'],
    withdrawal_details: { quoted_asset: 'BTC', withdrawal_request_amount: '1.5', external_account_id: 'acct' },
  }),
  () => ({ participant_code: 'ALICE1', permissions: ['fwc'], deposit_details: { account_label: 'main' } }),
  () => ({
    participant_code: 'ALICE1',
    permissions: ['crypto-pay'],
    payment_details: { purchase_amount: '9.99', denominated_currency: 'USD' },
  }),
  () => ({
    participant_code: 'ALICE1',
    permissions: ['crypto-buy', 'crypto-sell'],
    client_device_info: { ip_address: '10.0.0.1', location: 'US-NY' },
    custom_fees_and_spreads: {
      crypto_buy: { spread_bps: '10', fees: [{ type: 'bps', amount: '1', name: 'fee' }] },
      crypto_sell: { spread_bps: '0', fees: [] },
    },
  }),
];

function randomString(r: Random, maxLength: number): string {
  const length = r.chance(0.1) ? r.int(maxLength + 1) : r.int(24);
  let s = '';
  while (s.length < length) {
    const kind = r.int(4);
    if (kind === 0) s += r.pick(nastyChars);
    else if (kind === 1) s += String.fromCharCode(r.int(0x10000));
    else s += String.fromCharCode(32 + r.int(95));
  }
  return s;
}

function randomNumber(r: Random): number {
  return r.pick([0, -0, 1, -1, 0.5, 1e308, -1e308, 2 ** 53 + 1, Number.MIN_VALUE, r.int(1e9), -r.int(1e6) / 7]);
}

function randomValue(r: Random, depth: number): unknown {
  const kind = depth > 4 ? r.int(5) : r.int(8);
  switch (kind) {
    case 0:
      return null;
    case 1:
      return r.chance(0.5);
    case 2:
      return randomNumber(r);
    case 3:
      return randomString(r, 2000);
    case 4:
      return r.pick([...permissionNames, 'ALICE1', 'alice@example.com', '', '1.5', 'USD', 'US-NY']);
    case 5:
      return Array.from({ length: r.int(6) }, () => randomValue(r, depth + 1));
    default:
      return randomObject(r, depth + 1);
  }
}

function randomKey(r: Random): string {
  const kind = r.int(5);
  if (kind === 0) return r.pick(pollutingKeys);
  if (kind === 1) return r.pick(nestedNames);
  if (kind === 2) return randomString(r, 40);
  return r.pick(fieldNames);
}

function randomObject(r: Random, depth: number): Record<string, unknown> {
  const object: Record<string, unknown> = {};
  for (let i = r.int(6); i > 0; i--) {
    // defineProperty, so a "__proto__" key becomes an own property that JSON.stringify writes out.
    Object.defineProperty(object, randomKey(r), {
      value: randomValue(r, depth),
      enumerable: true,
      configurable: true,
      writable: true,
    });
  }
  return object;
}

/** A valid body with a few fields replaced, removed, or added (including prototype-polluting keys). */
function mutatedBody(r: Random): unknown {
  const body = r.pick(templates)();
  for (let i = 1 + r.int(3); i > 0; i--) {
    const nested = body.withdrawal_details;
    const target: Record<string, unknown> =
      r.chance(0.3) && nested !== null && typeof nested === 'object' ? (nested as Record<string, unknown>) : body;
    const key = r.chance(0.7) ? r.pick(Object.keys(target).concat(fieldNames)) : randomKey(r);
    if (r.chance(0.2)) delete target[key];
    else Object.defineProperty(target, key, { value: randomValue(r, 1), enumerable: true, configurable: true });
  }
  return body;
}

/** Nesting as deep as fits the body limit, somewhere a validator or a recursive function might follow it. */
function deepBody(r: Random): string {
  const depth = 100 + r.int(r.chance(0.5) ? 500 : 8000);
  const inner = r.chance(0.5) ? '['.repeat(depth) + ']'.repeat(depth) : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
  const where = r.int(4);
  if (where === 0) return inner;
  if (where === 1) return `{"participant_code":"ALICE1","permissions":[${inner},${inner}]}`;
  if (where === 2)
    return `{"participant_code":"ALICE1","permissions":["crypto-buy"],"custom_fees_and_spreads":${inner}}`;
  return `{"participant_code":"ALICE1","permissions":["onboarding"],"${r.pick(pollutingKeys)}":${inner}}`;
}

/** A valid body with one string grown to around the 16 KiB limit: some just under, some just over, some far over. */
function hugeBody(r: Random): string {
  const field = r.pick(['reference_id', 'email', 'participant_code', 'merchant_participant_code', 'zzz', 'token']);
  const base = `{"participant_code":"ALICE1","permissions":["onboarding"],"${field}":""}`;
  const target = r.pick([bodyLimit - 1, bodyLimit, bodyLimit + 1, 1000 + r.int(bodyLimit), bodyLimit + r.int(50_000)]);
  const filler = r.pick(['x', 'é', '😀', '\\u0000', '\\ud800']);
  let value = '';
  while (Buffer.byteLength(base) + Buffer.byteLength(value) + Buffer.byteLength(filler) <= target) value += filler;
  return base.replace(`"${field}":""`, `"${field}":"${value}"`);
}

/** Bytes that are not valid UTF-8 or not valid JSON. */
function garbageBytes(r: Random): Buffer {
  const kind = r.int(7);
  if (kind === 0) return Buffer.from(Array.from({ length: 1 + r.int(300) }, () => r.int(256)));
  if (kind === 1) return Buffer.concat([Buffer.from('{"email":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]);
  // A UTF-16 surrogate encoded as UTF-8 (CESU-8): not valid UTF-8.
  if (kind === 2)
    return Buffer.concat([Buffer.from('{"reference_id":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')]);
  if (kind === 3)
    return Buffer.from([
      0xef,
      0xbb,
      0xbf,
      ...Buffer.from('{"participant_code":"ALICE1","permissions":["onboarding"]}'),
    ]);
  if (kind === 4) return Buffer.from('{"permissions":["onboarding"],"permissions":5,"participant_code":"ALICE1"}');
  if (kind === 5) {
    const valid = JSON.stringify(r.pick(templates)());
    return Buffer.from(valid.slice(0, r.int(valid.length)));
  }
  return Buffer.from(r.pick(['', ' ', 'null', 'true', '0', '""', '[]', '{}', 'NaN', "{'a':1}", '{"a":1,}', '\u0000']));
}

interface FuzzRequest {
  path: string;
  body: Buffer;
  contentType: string | undefined;
  kind: string;
}

function randomRequest(r: Random): FuzzRequest {
  const path = r.pick([
    '/client_auth_token',
    '/client_auth_token',
    '/client_auth_token',
    '/introspect',
    '/revoke_auth_token',
  ]);
  const contentType = r.chance(0.92)
    ? r.pick(['application/json', 'application/json; charset=utf-8', 'application/vnd.api+json'])
    : r.pick([
        undefined,
        'text/plain',
        'application/x-www-form-urlencoded',
        'application/json; charset=latin1',
        'json',
      ]);
  const kind = r.pick(['value', 'mutated', 'mutated', 'mutated', 'deep', 'huge', 'garbage']);
  let body: Buffer;
  if (kind === 'value') body = Buffer.from(JSON.stringify(randomValue(r, 0)) ?? 'null');
  else if (kind === 'mutated') {
    body = Buffer.from(JSON.stringify(path === '/client_auth_token' ? mutatedBody(r) : { token: randomValue(r, 3) }));
  } else if (kind === 'deep') body = Buffer.from(deepBody(r));
  else if (kind === 'huge') body = Buffer.from(hugeBody(r));
  else body = garbageBytes(r);
  return { path, body, contentType, kind };
}

/** Signs the raw bytes exactly as the contract says (an empty body signs `{}`). */
function signBytes(partner: NewPartnerAccount, path: string, body: Buffer, timestamp: number): Record<string, string> {
  const signature = createHmac('sha256', Buffer.from(partner.hmac.secret, 'base64'))
    .update(`${timestamp}POST${path}`)
    .update(body.length > 0 ? body : Buffer.from('{}'))
    .digest('base64');
  return {
    'x-scx-api-key': partner.hmac.api_key,
    'x-scx-signed': signature,
    'x-scx-timestamp': String(timestamp),
    'x-scx-passphrase': partner.hmac.passphrase,
  };
}

/** The documented shapes: `{"errors":[string…]}` for 400, `{"error":string}` for every other error. */
function assertDocumentedShape(status: number, contentType: string, text: string, path: string): void {
  if (status === 204) {
    assert.equal(path, '/revoke_auth_token');
    assert.equal(text, '');
    return;
  }
  assert.match(contentType, /^application\/json/);
  const body = JSON.parse(text) as Record<string, unknown>;
  assert.doesNotMatch(text, /\bat .+:\d+:\d+|node_modules|\.ts:\d+|Error:/, 'no stack trace or internals');
  if (status === 201) {
    assert.equal(path, '/client_auth_token');
    assert.equal(typeof (body.message as { token?: unknown }).token, 'string');
  } else if (status === 200) {
    assert.equal(path, '/introspect');
    assert.equal(typeof body.active, 'boolean');
  } else if (status === 400) {
    assert.deepEqual(Object.keys(body), ['errors']);
    assert.ok(Array.isArray(body.errors) && body.errors.length > 0);
    for (const message of body.errors as unknown[]) assert.equal(typeof message, 'string');
  } else {
    // No 403: every request is correctly signed, so the fuzzer tests the body, not the authentication.
    assert.ok([404, 409, 413, 415, 422].includes(status), `unexpected status ${status}`);
    assert.deepEqual(Object.keys(body), ['error']);
    assert.equal(typeof body.error, 'string');
  }
}

describe(`fuzzing the HMAC surface with signed random bodies (${storeName})`, () => {
  let t: TestApp;
  let partner: NewPartnerAccount;

  before(async () => {
    // No rate limit: this suite sends hundreds of requests from one credential on purpose.
    t = await startTestApp({ env: { HANDOFF_RATE_LIMIT_PER_MINUTE: '0' } });
    partner = await t.createPartner({ platformCode: 'PLAT01' });
    await t.createUser({ partnerCode: 'PLAT01', email: 'alice@example.com', participantCode: 'ALICE1' });
  });
  after(() => t.close());

  /** One correctly signed request; the clock then moves a second, so equal bodies are never replays. */
  async function send(path: string, body: Buffer, contentType: string | undefined = 'application/json') {
    const response = await t.app.inject({
      method: 'POST',
      url: path,
      headers: {
        ...(contentType ? { 'content-type': contentType } : {}),
        ...signBytes(partner, path, body, t.clock.seconds),
      },
      payload: body,
    });
    t.clock.advance(1);
    return response;
  }

  test(`seed ${seed}: ${requestCount} requests, never a 5xx, always the documented shape`, async () => {
    const r = new Random(mulberry32(seed));
    const statuses = new Map<number, number>();
    for (let i = 0; i < requestCount; i++) {
      const request = randomRequest(r);
      const response = await send(request.path, request.body, request.contentType);
      const context = `seed ${seed}, request ${i} (${request.kind}, ${request.path}): ${request.body.subarray(0, 200).toString()}`;
      assert.ok(response.statusCode < 500, `${context} → ${response.statusCode} ${response.body}`);
      try {
        assertDocumentedShape(
          response.statusCode,
          String(response.headers['content-type']),
          response.body,
          request.path,
        );
      } catch (error) {
        assert.fail(`${context} → ${response.statusCode} ${response.body.slice(0, 500)}: ${(error as Error).message}`);
      }
      statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1);
    }
    // The generator reaches the interesting outcomes, not just one kind of rejection.
    for (const status of [201, 400, 413]) {
      assert.ok(statuses.has(status), `seed ${seed}: no ${status} in ${[...statuses]}`);
    }
    assert.ok(!t.logs.text.includes('"level":50'), 'no request logged an unhandled error');
  });

  test('strings no store can keep (NUL, unpaired surrogates) are a 400 naming the field, not a database error', async () => {
    const cases: Array<[string, string[]]> = [
      [
        '{"participant_code":"ALICE1","permissions":["crypto-withdrawals"],"withdrawal_details":{"quoted_asset":"BTC","withdrawal_request_amount":"1","external_account_id":"a\\u0000b"}}',
        ['withdrawal_details.external_account_id: must not contain NUL or unpaired surrogates'],
      ],
      [
        '{"participant_code":"ALICE1","permissions":["fwc"],"deposit_details":{"account_label":"\\ud800"}}',
        ['deposit_details.account_label: must not contain NUL or unpaired surrogates'],
      ],
      [
        '{"participant_code":"ALICE1","permissions":["onboarding"],"merchant_participant_code":"\u4e2d\\udfff"}',
        ['merchant_participant_code: must not contain NUL or unpaired surrogates'],
      ],
      [
        '{"participant_code":"ALICE1","permissions":["onboarding"],"reference_id":"x\\udc00\\ud800"}',
        ['reference_id: must not contain NUL or unpaired surrogates'],
      ],
      // Escapes in upper case, and in a field name (the walk is skipped only for a body with no such escape).
      [
        '{"participant_code":"ALICE1","permissions":["onboarding"],"reference_id":"\\uDBFF"}',
        ['reference_id: must not contain NUL or unpaired surrogates'],
      ],
      [
        '{"participant_code":"ALICE1","permissions":["fwc"],"deposit_details":{"a\\u0000":"x"}}',
        [
          'deposit_details.a\u0000: field name must not contain NUL or unpaired surrogates',
          'deposit_details.account_label: is required',
          'deposit_details.a\u0000: is not a known field',
        ],
      ],
      [
        '{"participant_code":"ALICE1","permissions":["onboarding","\\u0000"]}',
        [
          'permissions[1]: must not contain NUL or unpaired surrogates',
          'permissions[1]: must be one of onboarding, update-participant, csp-active, csp-recovery, fiat-deposits, fiat-withdrawals, crypto-withdrawals, crypto-buy, crypto-sell, fwc, participant-profile, crypto-account-link, crypto-payouts, crypto-pay, fiat-account-link',
        ],
      ],
    ];
    for (const [raw, errors] of cases) {
      const response = await send('/client_auth_token', Buffer.from(raw));
      assert.equal(response.statusCode, 400, `${raw} → ${response.body}`);
      assert.deepEqual(response.json(), { errors }, raw);
    }
    // A correctly paired surrogate (an emoji) is an ordinary character.
    const emoji = '{"participant_code":"ALICE1","permissions":["onboarding"],"reference_id":"\\ud83d\\ude00 ok"}';
    const ok = await send('/client_auth_token', Buffer.from(emoji));
    assert.equal(ok.statusCode, 201, ok.body);
  });

  test('the body limit is exact: 16 KiB accepted, one byte more is 413', async () => {
    const base = '{"participant_code":"ALICE1","permissions":["onboarding"],"reference_id":"r"}';
    for (const [size, status] of [
      [bodyLimit, 201],
      [bodyLimit + 1, 413],
    ] as const) {
      const body = Buffer.from(base.padEnd(size, ' '));
      assert.equal(body.length, size);
      const response = await send('/client_auth_token', body);
      assert.equal(response.statusCode, status, response.body);
    }
  });
});
