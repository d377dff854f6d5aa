import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { NewPartnerAccount } from '../src/admin/accounts.ts';
import { buildApp } from '../src/app.ts';
import { createLogger } from '../src/logger.ts';
import { openServerContext } from '../src/server.ts';
import { createHmacCredential } from '../src/store/credentials.ts';
import { findPartnerByCode, updatePartnerSettings } from '../src/store/partners.ts';
import {
  type Credential,
  LogCapture,
  signHeaders,
  startTestApp,
  storeName,
  type TestApp,
  testDatabaseUrl,
  testRedisUrl,
} from './harness.ts';

const path = '/client_auth_token';
const body = { participant_code: 'RATEU1', permissions: ['onboarding'] };

describe(`rate limits: HMAC surface and partner login (${storeName})`, () => {
  let t: TestApp;
  let partner: NewPartnerAccount;
  let partnerId: string;
  let secondCredential: Credential & { id: string };

  before(async () => {
    t = await startTestApp({
      env: {
        HANDOFF_PARTNER_RATE_LIMIT_PER_MINUTE: '5',
        HANDOFF_IP_RATE_LIMIT_PER_MINUTE: '8',
        // Settings changes apply at once instead of after the credential cache's few seconds.
        HANDOFF_CREDENTIAL_CACHE_SECONDS: '0',
      },
    });
    partner = await t.createPartner({ platformCode: 'RATE01' });
    await t.createUser({ partnerCode: 'RATE01', participantCode: 'RATEU1' });
    partnerId = ((await findPartnerByCode(t.ctx.db, 'RATE01')) as { id: string }).id;
    secondCredential = await createHmacCredential(t.ctx.db, t.ctx.masterKey, partnerId, 'second');
  });
  after(() => t.close());

  // Every test starts on a fresh one-minute window and with the default settings.
  beforeEach(async () => {
    t.clock.now = Math.ceil((t.clock.now + 1) / 60_000) * 60_000;
    await updatePartnerSettings(t.ctx.db, 'RATE01', {});
  });

  /** A signed request from a given client address; the clock then moves a second, as between real requests. */
  async function issueFrom(ip: string, credential: Credential = partner.hmac, app: FastifyInstance = t.app) {
    const raw = JSON.stringify(body);
    const response = await app.inject({
      method: 'POST',
      url: path,
      remoteAddress: ip,
      headers: { 'content-type': 'application/json', ...signHeaders(credential, 'POST', path, raw, t.clock.seconds) },
      payload: raw,
    });
    t.clock.advance(1);
    return response;
  }

  test("per credential: the partner's rateLimitPerMinute, then 429 with Retry-After until the window ends", async () => {
    await updatePartnerSettings(t.ctx.db, 'RATE01', { rateLimitPerMinute: 3 });
    for (let n = 0; n < 3; n++) assert.equal((await issueFrom('198.51.100.1', partner.hmac)).statusCode, 201);
    const limited = await issueFrom('198.51.100.1', partner.hmac);
    assert.equal(limited.statusCode, 429);
    assert.deepEqual(limited.json(), { error: 'rate limit exceeded' });
    // Three requests moved the clock three seconds into the minute.
    assert.equal(limited.headers['retry-after'], '57');
    // The partner's other credential has its own count.
    assert.equal((await issueFrom('198.51.100.1', secondCredential)).statusCode, 201);
    t.clock.advance(57);
    assert.equal((await issueFrom('198.51.100.1', partner.hmac)).statusCode, 201);
  });

  test('per partner: all its credentials share one budget', async () => {
    // Five per partner (HANDOFF_PARTNER_RATE_LIMIT_PER_MINUTE), whichever credential signs.
    const statuses: number[] = [];
    for (let n = 0; n < 6; n++) {
      statuses.push((await issueFrom('198.51.100.1', n % 2 ? secondCredential : partner.hmac)).statusCode);
    }
    assert.deepEqual(statuses, [201, 201, 201, 201, 201, 429]);
    const rejection = await lastAuditRow('rate_limited');
    assert.deepEqual([rejection.partner_id, rejection.credential_id], [partnerId, secondCredential.id]);
  });

  test("per partner, never below one credential's own limit", async () => {
    await updatePartnerSettings(t.ctx.db, 'RATE01', { rateLimitPerMinute: 7 });
    const statuses: number[] = [];
    for (let n = 0; n < 8; n++) statuses.push((await issueFrom(`198.51.100.${n}`, partner.hmac)).statusCode);
    assert.deepEqual(statuses, [201, 201, 201, 201, 201, 201, 201, 429]);
  });

  test('per IP: every request counts, refused ones too; over the limit, 429 until the window ends', async () => {
    // One second into a fresh window (each issueFrom moves the clock a second).
    t.clock.advance(60 - (t.clock.seconds % 60) + 1);
    const flood = '203.0.113.9';
    for (let n = 0; n < 8; n++) {
      const forged = await t.app.inject({ method: 'POST', url: path, remoteAddress: flood, payload: '{}' });
      assert.equal(forged.statusCode, 403);
    }
    // The ninth, correctly signed, is counted with its admission: over.
    const limited = await issueFrom(flood, partner.hmac);
    assert.equal(limited.statusCode, 429);
    assert.equal(limited.headers['retry-after'], '59');
    // From then on, whatever it sends: 429 for the rest of the window; other IPs are unaffected.
    const unsigned = await t.app.inject({ method: 'POST', url: path, remoteAddress: flood, payload: '{}' });
    assert.equal(unsigned.statusCode, 429);
    assert.equal((await issueFrom('203.0.113.10', partner.hmac)).statusCode, 201);
    t.clock.advance(55);
    assert.equal((await issueFrom(flood, partner.hmac)).statusCode, 429);
    t.clock.advance(1);
    assert.equal((await issueFrom(flood, partner.hmac)).statusCode, 201);
  });

  test('a rate-limited request is counted by reason in /metrics', async () => {
    await updatePartnerSettings(t.ctx.db, 'RATE01', { rateLimitPerMinute: 1 });
    await issueFrom('198.51.100.1', partner.hmac);
    assert.equal((await issueFrom('198.51.100.1', partner.hmac)).statusCode, 429);
    const metrics = await t.app.inject({ method: 'GET', url: '/metrics' });
    assert.match(metrics.body, /handoff_requests_rejected_total\{surface="client-token",reason="rate_limited"\} [1-9]/);
  });

  test('partner login (the same limiter): per account, 429 ER901 with Retry-After, the right password included', async () => {
    const attempt = (password: string) =>
      t.app.inject({
        method: 'POST',
        url: '/api/v1/authenticate',
        remoteAddress: '192.0.2.50',
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify({ username: partner.username, password }),
      });
    for (let n = 0; n < 10; n++) assert.equal((await attempt('wrong password')).statusCode, 401);
    // Past the limit even the right password is refused, so guessing cannot go on at full speed.
    const limited = await attempt(partner.password);
    assert.equal(limited.statusCode, 429);
    assert.deepEqual(Object.keys(limited.json().errors), ['ER901']);
    assert.match(String(limited.headers['retry-after']), /^[1-9]\d*$/);
    t.clock.advance(60);
    assert.equal((await attempt(partner.password)).statusCode, 200);
  });

  const sharedSkip = testDatabaseUrl && testRedisUrl ? false : 'needs PostgreSQL and Redis (one process holds PGlite)';
  test('shared through Redis: two instances count against one limit', { skip: sharedSkip }, async () => {
    await updatePartnerSettings(t.ctx.db, 'RATE01', { rateLimitPerMinute: 4 });
    const logs = new LogCapture();
    const second = await openServerContext(t.ctx.config, {
      logger: createLogger(t.ctx.config, logs),
      clock: t.clock.read,
    });
    const secondApp = buildApp(second.ctx);
    try {
      const statuses: number[] = [];
      for (let n = 0; n < 6; n++) {
        statuses.push((await issueFrom('198.51.100.1', partner.hmac, n % 2 ? secondApp : t.app)).statusCode);
      }
      assert.deepEqual(statuses, [201, 201, 201, 201, 429, 429]);
    } finally {
      await secondApp.close();
      await second.close();
    }
  });

  async function lastAuditRow(reason: string) {
    await t.ctx.audit.flush();
    return t.ctx.db
      .selectFrom('audit_events')
      .selectAll()
      .where('reason', '=', reason)
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
  }
});
