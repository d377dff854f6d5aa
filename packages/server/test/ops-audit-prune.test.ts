import assert from 'node:assert/strict';
import { createHook } from 'node:async_hooks';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import type { NewPartnerAccount } from '../src/admin/accounts.ts';
import { AuditLog } from '../src/audit/audit-log.ts';
import { auditRecord, formatAuditTable, parseSince } from '../src/cli/audit.ts';
import { parseConfig } from '../src/config.ts';
import { listAuditEvents } from '../src/store/audit.ts';
import { revokeToken } from '../src/store/client-tokens.ts';
import type { Db } from '../src/store/database.ts';
import { insertLinkRequest } from '../src/store/identifiers.ts';
import { insertLoginToken } from '../src/store/login-tokens.ts';
import type { Participant } from '../src/store/participants.ts';
import { findPartnerByCode } from '../src/store/partners.ts';
import { expiredGraceMs, pruneExpired } from '../src/store/pruning.ts';
import { insertRefreshToken } from '../src/store/refresh-tokens.ts';
import { runCli } from './cluster.ts';
import { signedRequest, startTestApp, storeName, type TestApp } from './harness.ts';

const day = 86_400_000;
const cliSkip = storeName === 'pglite' ? 'the CLI runs against PostgreSQL (HANDOFF_TEST_DATABASE_URL)' : false;

describe(`audit trail queries and pruning (${storeName})`, () => {
  let t: TestApp;
  let partner: NewPartnerAccount;
  let partnerId: string;
  let user: Participant;

  before(async () => {
    t = await startTestApp();
    partner = await t.createPartner({ platformCode: 'AUDIT1' });
    await t.createPartner({ platformCode: 'AUDIT2' });
    partnerId = ((await findPartnerByCode(t.ctx.db, 'AUDIT1')) as { id: string }).id;
    user = await t.createUser({ partnerCode: 'AUDIT1', participantCode: 'AUDITU' });
  });
  after(() => t.close());

  test('flush returns once everything recorded before it is written, even when another flush took part of it', async () => {
    const log = new AuditLog(t.ctx.db, pino({ level: 'silent' }), {
      flushMs: 60_000,
      batchSize: 500,
      maxBuffered: 1000,
    });
    const event = (action: string) => ({
      at: new Date(t.clock.now),
      surface: 'cli' as const,
      action,
      outcome: 'success' as const,
    });
    const count = async (action: string) =>
      (await t.ctx.db.selectFrom('audit_events').select('id').where('action', '=', action).execute()).length;
    log.record(event('flush-order-first'));
    const first = log.flush(); // its batch is in flight…
    log.record(event('flush-order-second')); // …when this arrives
    await log.flush(); // the first flush's caller writes the second batch: this must still wait for it
    assert.equal(log.pending, 0, 'nothing buffered, nothing in flight');
    assert.equal(await count('flush-order-second'), 1);
    await first;
    assert.equal(await count('flush-order-first'), 1);
    await log.close();
  });

  test('events recorded while a batch is being written wait in the buffer: no flush, no promise per event', async () => {
    const log = new AuditLog(t.ctx.db, pino({ level: 'silent' }), {
      flushMs: 60_000,
      batchSize: 100,
      maxBuffered: 10_000,
    });
    let promises = 0;
    const hook = createHook({
      init(_id, type) {
        if (type === 'PROMISE') promises += 1;
      },
    });
    hook.enable();
    // One synchronous burst: the 100th event starts the first insert, which cannot finish before the burst ends,
    // so the other 1,900 arrive while it is in flight.
    for (let i = 0; i < 2000; i++)
      log.record({ at: new Date(t.clock.now), surface: 'cli', action: 'burst-while-writing', outcome: 'success' });
    hook.disable();
    assert.ok(promises < 100, `${promises} promises created by 2,000 record() calls`);
    await log.close();
    assert.equal(log.pending, 0);
    const written = await t.ctx.db
      .selectFrom('audit_events')
      .select(({ fn }) => fn.countAll<string>().as('n'))
      .where('action', '=', 'burst-while-writing')
      .executeTakeFirstOrThrow();
    assert.equal(Number(written.n), 2000, 'every event written once');
  });

  test('--since takes ISO dates and times or an age; anything else is refused with the accepted forms', () => {
    const now = new Date('2026-11-23T12:00:00Z');
    assert.equal(parseSince('90m', now).toISOString(), '2026-11-23T10:30:00.000Z');
    assert.equal(parseSince('1h', now).toISOString(), '2026-11-23T11:00:00.000Z');
    assert.equal(parseSince('7d', now).toISOString(), '2026-11-16T12:00:00.000Z');
    assert.equal(parseSince('2w', now).toISOString(), '2026-11-09T12:00:00.000Z');
    assert.equal(parseSince('2026-11-01', now).toISOString(), '2026-11-01T00:00:00.000Z');
    assert.equal(parseSince('2026-11-01T08:30:00+02:00', now).toISOString(), '2026-11-01T06:30:00.000Z');
    for (const bad of ['yesterday', '1y', '-1h', '2026-13-45', '1700000000']) {
      assert.throws(() => parseSince(bad, now), /use an ISO date or time .* or 30m, 1h, 7d, 2w/);
    }
  });

  test("a partner's trail: filtered by time, action and outcome, newest kept when limited, never another's", async () => {
    const start = t.clock.now;
    assert.equal(
      (
        await signedRequest(t, partner.hmac, '/client_auth_token', {
          participant_code: 'AUDITU',
          permissions: ['onboarding'],
        })
      ).statusCode,
      201,
    );
    const forged = { ...partner.hmac, secret: randomBytes(32).toString('base64') };
    assert.equal(
      (
        await signedRequest(t, forged, '/client_auth_token', {
          participant_code: 'AUDITU',
          permissions: ['onboarding'],
        })
      ).statusCode,
      403,
    );
    await t.ctx.audit.flush();
    const since = new Date(start);
    const all = await listAuditEvents(t.ctx.db, { partnerId, since });
    assert.deepEqual(
      all.map((row) => [row.action, row.outcome, row.reason]),
      [
        ['client_token.issue', 'success', null],
        ['client_token.issue', 'rejected', 'bad_signature'],
      ],
    );
    const rejected = await listAuditEvents(t.ctx.db, { partnerId, since, outcome: 'rejected' });
    assert.equal(rejected.length, 1);
    const issued = await listAuditEvents(t.ctx.db, {
      partnerId,
      since,
      actions: ['client_token.issue'],
      limit: 1,
      newest: true,
    });
    assert.deepEqual(
      issued.map((row) => row.reason),
      ['bad_signature'],
    );
    const other = ((await findPartnerByCode(t.ctx.db, 'AUDIT2')) as { id: string }).id;
    assert.deepEqual(await listAuditEvents(t.ctx.db, { partnerId: other, since }), []);

    const [success] = all;
    const record = auditRecord(success as (typeof all)[number]);
    assert.equal(record.participant_id, user.uuid);
    assert.match(String((record.detail as { jti: string }).jti), /^[A-Za-z0-9_-]{22}$/);
    assert.doesNotMatch(JSON.stringify(record), /eyJ/, 'no token material in the trail');
    const table = formatAuditTable(all).split('\n');
    assert.match(table[0] ?? '', /^AT\s+ACTION\s+OUTCOME\s+REASON\s+PARTICIPANT\s+IP\s+REQUEST ID$/);
    assert.match(
      table[2] ?? '',
      /^2026-11-23T\d\d:\d\d:\d\dZ\s+client_token\.issue\s+rejected\s+bad_signature\s+-\s+127\.0\.0\.1\s+\S+$/,
    );
  });

  test('pruning deletes what expired over a day ago and audit events past the retention; nothing live', async () => {
    const now = new Date(t.clock.now);
    const stale = new Date(now.getTime() - expiredGraceMs - 1000);
    const recent = new Date(now.getTime() - expiredGraceMs + 60_000);
    const later = new Date(now.getTime() + 3600_000);
    await seedExpiring(t.ctx.db, partnerId, user.uuid, { stale, recent, later, now });
    await t.ctx.db
      .insertInto('audit_events')
      .values([
        {
          at: new Date(now.getTime() - 31 * day),
          surface: 'cli',
          action: 'old',
          outcome: 'success',
          partner_id: partnerId,
        },
        {
          at: new Date(now.getTime() - 29 * day),
          surface: 'cli',
          action: 'kept',
          outcome: 'success',
          partner_id: partnerId,
        },
      ])
      .execute();

    const deleted = await pruneExpired(t.ctx.db, { now, auditRetentionDays: 30 });
    assert.deepEqual(deleted, {
      audit_events: 1,
      login_tokens: 1,
      refresh_tokens: 1,
      revoked_tokens: 1,
      identifier_link_requests: 1,
      page_sessions: 2,
    });
    const left = await remaining(t.ctx.db);
    assert.deepEqual(left, {
      login_tokens: ['recent', 'live'],
      refresh_tokens: ['recent', 'live'],
      revoked_tokens: ['recent', 'live'],
      identifier_link_requests: ['recent', 'live'],
      page_sessions: ['live'],
    });
    assert.deepEqual(
      (await listAuditEvents(t.ctx.db, { partnerId, actions: ['old', 'kept'] })).map((row) => row.action),
      ['kept'],
    );
    // Retention 0 keeps the trail forever; a second run finds nothing left to delete.
    assert.deepEqual(Object.values(await pruneExpired(t.ctx.db, { now, auditRetentionDays: 0 })), [0, 0, 0, 0, 0, 0]);
    assert.equal(parseConfig({}).config?.auditRetentionDays, 365);
    assert.match(
      String(parseConfig({ HANDOFF_AUDIT_RETENTION_DAYS: 'forever' }).errors),
      /HANDOFF_AUDIT_RETENTION_DAYS/,
    );
  });

  test('the CLI: `handoff audit` (table and JSON Lines) and `handoff prune --json`', { skip: cliSkip }, async () => {
    const env = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      HANDOFF_LOG_LEVEL: 'silent',
      DATABASE_URL: t.ctx.config.databaseUrl as string,
      HANDOFF_MASTER_KEY: t.ctx.masterKey.toString('base64'),
      HANDOFF_AUDIT_RETENTION_DAYS: '30',
    };
    await t.ctx.audit.flush();
    const json = await runCli(
      ['audit', '--partner', 'AUDIT1', '--since', '2026-01-01', '--action', 'client_token.issue', '--json'],
      env,
    );
    assert.equal(json.code, 0, json.stderr);
    const events = json.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    assert.deepEqual(
      events.map((e) => [e.action, e.outcome, e.reason]),
      [
        ['client_token.issue', 'success', null],
        ['client_token.issue', 'rejected', 'bad_signature'],
      ],
    );
    const table = await runCli(['audit', '--partner', 'AUDIT1', '--outcome', 'rejected', '--limit', '1'], env);
    assert.equal(table.code, 0);
    assert.match(table.stdout, /^AT\s+ACTION/);
    assert.equal(table.stdout.trim().split('\n').length, 2);
    assert.match(table.stderr, /showing the newest 1 events/);
    const unknown = await runCli(['audit', '--partner', 'NOSUCH'], env);
    assert.deepEqual([unknown.code, unknown.stderr.trim()], [1, 'handoff: no partner with platform code NOSUCH']);

    // Rows seeded on the real clock this time, the CLI's; the earlier tests' rows (test clock, which the real
    // one leaves behind by more than the retention as the calendar moves on) go first.
    for (const table of [
      'audit_events',
      'login_tokens',
      'refresh_tokens',
      'revoked_tokens',
      'identifier_link_requests',
      'page_sessions',
    ] as const) {
      await t.ctx.db.deleteFrom(table).execute();
    }
    const now = new Date();
    await seedExpiring(t.ctx.db, partnerId, user.uuid, {
      stale: new Date(now.getTime() - 2 * day),
      recent: new Date(now.getTime() - 3600_000),
      later: new Date(now.getTime() + 3600_000),
      now,
    });
    const prune = await runCli(['prune', '--json'], env);
    assert.equal(prune.code, 0, prune.stderr);
    const result = JSON.parse(prune.stdout);
    assert.equal(result.audit_retention_days, 30);
    assert.deepEqual(result.deleted, {
      audit_events: 0,
      login_tokens: 1,
      refresh_tokens: 1,
      revoked_tokens: 1,
      identifier_link_requests: 1,
      page_sessions: 2,
    });
  });
});

/**
 * One row of each pruned kind per age: `stale` (expired over a day ago), `recent` (expired, within the day) and
 * `live`; two sessions ended (idle, and idle and absolute), one live.
 */
async function seedExpiring(
  db: Db,
  partnerId: string,
  participantId: string,
  at: { stale: Date; recent: Date; later: Date; now: Date },
) {
  const ages = { stale: at.stale, recent: at.recent, live: at.later } as const;
  for (const [name, expiresAt] of Object.entries(ages)) {
    const createdAt = new Date(expiresAt.getTime() - 600_000);
    const key = `${name}-${randomUUID()}`;
    await insertLoginToken(db, { tokenHash: key, partnerId, user: { participantId }, createdAt, expiresAt });
    await insertRefreshToken(db, {
      tokenHash: key,
      familyId: randomUUID(),
      subject: 'user',
      partnerId,
      participantId,
      createdAt,
      expiresAt,
    });
    await revokeToken(db, { jti: key, partnerId, expiresAt });
    await insertLinkRequest(db, {
      tokenHash: key,
      identifier: 'linkRequest'.padEnd(40, '0'),
      partnerId,
      returnUrl: 'https://partner.example/back',
      createdAt,
      expiresAt,
    });
  }
  const session = (name: string, idle: Date, absolute: Date) => ({
    id_hash: `${name}-${randomUUID()}`,
    partner_id: partnerId,
    participant_id: participantId,
    auth_method: 'password' as const,
    created_at: at.stale,
    idle_expires_at: idle,
    absolute_expires_at: absolute,
  });
  await db
    .insertInto('page_sessions')
    .values([
      session('idle', at.stale, at.later),
      session('ended', at.stale, at.stale),
      session('live', at.later, at.later),
    ])
    .execute();
}

async function remaining(db: Db) {
  const names = (rows: Array<{ key: string }>) =>
    rows
      .map((row) => row.key.split('-')[0])
      .sort()
      .reverse();
  return {
    login_tokens: names(await db.selectFrom('login_tokens').select('token_hash as key').execute()),
    refresh_tokens: names(await db.selectFrom('refresh_tokens').select('token_hash as key').execute()),
    revoked_tokens: names(await db.selectFrom('revoked_tokens').select('jti as key').execute()),
    identifier_link_requests: names(
      await db.selectFrom('identifier_link_requests').select('token_hash as key').execute(),
    ),
    page_sessions: names(await db.selectFrom('page_sessions').select('id_hash as key').execute()),
  };
}
