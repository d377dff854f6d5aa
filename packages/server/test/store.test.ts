import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import pg from 'pg';
import { randomToken, sha256Hex } from '../src/crypto/random.ts';
import { insertAuditEvents, listAuditEvents } from '../src/store/audit.ts';
import { isTokenRevoked, ReferenceConflictError, recordIssuance, revokeToken } from '../src/store/client-tokens.ts';
import {
  createApiKey,
  createHmacCredential,
  findHmacCredential,
  listHmacCredentials,
  revokeApiKey,
  revokeHmacCredential,
} from '../src/store/credentials.ts';
import { type DatabaseHandle, type Db, migrate, openDatabase } from '../src/store/database.ts';
import { IdentifierTakenError, isIdentifierTaken, linkIdentifier } from '../src/store/identifiers.ts';
import { insertLoginToken, spendLoginToken } from '../src/store/login-tokens.ts';
import {
  DuplicateParticipantError,
  findParticipantByCode,
  findParticipantByEmail,
  findParticipantByIdentifier,
  findParticipantByUuid,
  insertParticipant,
  type Participant,
  setParticipantStatus,
  softDeleteParticipant,
} from '../src/store/participants.ts';
import {
  findPartnerByCode,
  findPartnerById,
  findPartnerLogin,
  insertPartner,
  listPartners,
  type Partner,
  setPartnerStatus,
  updatePartnerSettings,
} from '../src/store/partners.ts';
import { createTestDatabase, testDatabaseUrl } from './harness.ts';

/**
 * One conformance suite for the store modules, run on every store: embedded PGlite always, PostgreSQL when
 * HANDOFF_TEST_DATABASE_URL is set. Both must behave identically, including under concurrency.
 */
const stores: Array<{
  name: string;
  open(): Promise<{ handle: DatabaseHandle; drop(): Promise<void>; url?: string }>;
}> = [
  {
    name: 'pglite',
    open: async () => ({ handle: await openDatabase({ databaseUrl: undefined }), drop: async () => {} }),
  },
];
if (testDatabaseUrl) {
  const adminUrl = testDatabaseUrl;
  stores.push({
    name: 'postgres',
    async open() {
      const database = await createTestDatabase(adminUrl);
      return {
        handle: await openDatabase({ databaseUrl: database.url, poolSize: 20 }),
        drop: database.drop,
        url: database.url,
      };
    },
  });
}

const rejectsWithCode = (promise: Promise<unknown>, code: string) =>
  assert.rejects(promise, (error: { code?: string }) => error.code === code);

for (const store of stores) {
  describe(`store conformance (${store.name})`, () => {
    let db: Db;
    let databaseUrl: string | undefined;
    let close: () => Promise<void>;
    const masterKey = randomBytes(32);
    const now = new Date(Date.UTC(2026, 10, 23, 12));
    let acme: Partner;
    let globex: Partner;

    const newPartner = (platformCode: string, name = `Partner ${platformCode}`) =>
      insertPartner(db, { name, platformCode, username: platformCode.toLowerCase(), passwordHash: 'scrypt$test' });

    before(async () => {
      const opened = await store.open();
      db = opened.handle.db;
      databaseUrl = opened.url;
      close = async () => {
        await opened.handle.close();
        await opened.drop();
      };
      const applied = await migrate(db);
      assert.ok(applied.includes('0001-core'));
      acme = await newPartner('ACME01', 'Acme');
      globex = await newPartner('GLOBX1', 'Globex');
    });
    after(() => close());

    test('migrations are applied once: a second run applies nothing', async () => {
      assert.deepEqual(await migrate(db), []);
    });

    test('the embedded store runs with 16 MB of shared buffers and does not zero-fill new WAL segments', {
      skip: store.name === 'pglite' ? false : 'PGlite only (a PostgreSQL server has its own configuration)',
    }, async () => {
      const setting = async (name: string) =>
        (await sql<{ setting: string }>`SELECT current_setting(${name}) AS setting`.execute(db)).rows[0]?.setting;
      assert.equal(await setting('shared_buffers'), '16MB');
      assert.equal(await setting('wal_buffers'), '4MB');
      assert.equal(await setting('wal_init_zero'), 'off');
    });

    describe('partners', () => {
      test('insert and find by code, id and username; the platform code is also a platform participant', async () => {
        assert.equal(acme.platformCode, 'ACME01');
        assert.equal(acme.status, 'active');
        assert.deepEqual(acme.settings, {});
        assert.deepEqual(await findPartnerByCode(db, 'ACME01'), acme);
        assert.deepEqual(await findPartnerById(db, acme.id), acme);
        assert.equal((await findPartnerLogin(db, 'acme01'))?.passwordHash, 'scrypt$test');
        assert.equal(await findPartnerByCode(db, 'NOPE00'), undefined);
        assert.equal(await findPartnerLogin(db, 'nobody'), undefined);
        const platform = await findParticipantByCode(db, acme.id, 'ACME01');
        assert.equal(platform?.kind, 'platform');
        const codes = (await listPartners(db)).map((p) => p.platformCode);
        assert.ok(codes.includes('ACME01') && codes.includes('GLOBX1'));
      });

      test('a duplicate platform code or username is a unique violation, and nothing is half-written', async () => {
        await rejectsWithCode(newPartner('ACME01'), '23505');
        await rejectsWithCode(
          insertPartner(db, { name: 'x', platformCode: 'ACME02', username: 'acme01', passwordHash: 'x' }),
          '23505',
        );
        // The failed partner's platform participant was rolled back with it.
        assert.equal(await findPartnerByCode(db, 'ACME02'), undefined);
        const rows = await db
          .selectFrom('participants')
          .select('id')
          .where('participant_code', '=', 'ACME02')
          .execute();
        assert.equal(rows.length, 0);
      });

      test('a malformed platform code is refused by the schema', async () => {
        await rejectsWithCode(newPartner('acme'), '23514');
      });

      test('status and settings', async () => {
        const p = await newPartner('STAT01');
        assert.equal(await setPartnerStatus(db, 'STAT01', 'disabled'), true);
        assert.equal((await findPartnerByCode(db, 'STAT01'))?.status, 'disabled');
        assert.equal(await setPartnerStatus(db, 'NOPE00', 'disabled'), false);
        const settings = { clientTokenTtlSeconds: 600, allowedReturnOrigins: ['https://a.example'] };
        assert.equal(await updatePartnerSettings(db, 'STAT01', settings), true);
        assert.deepEqual((await findPartnerById(db, p.id))?.settings, settings);
      });
    });

    describe('credentials', () => {
      test('create, find and unseal; the secret and passphrase are never stored in the clear', async () => {
        const issued = await createHmacCredential(db, masterKey, acme.id, 'ci');
        const secret = Buffer.from(issued.secret, 'base64');
        assert.equal(secret.length, 32);
        // 144 random bits behind a prefix: a key starting with '-' would be read as an option by the CLI.
        assert.match(issued.api_key, /^ck_[A-Za-z0-9_-]{24}$/);
        const found = await findHmacCredential(db, masterKey, issued.api_key);
        assert.ok(found);
        assert.deepEqual(found.secret, secret);
        assert.equal(found.passphraseDigest.toString('hex'), sha256Hex(issued.passphrase));
        assert.equal(found.platformCode, 'ACME01');
        assert.equal(found.partnerId, acme.id);
        assert.equal(found.revoked, false);
        assert.equal(found.partnerStatus, 'active');

        const row = await db
          .selectFrom('hmac_credentials')
          .selectAll()
          .where('api_key', '=', issued.api_key)
          .executeTakeFirstOrThrow();
        const stored = JSON.stringify(row);
        for (const spelling of [
          issued.secret,
          secret.toString('base64url'),
          secret.toString('hex'),
          issued.passphrase,
          Buffer.from(issued.passphrase).toString('base64'),
        ]) {
          assert.ok(!stored.includes(spelling), `stored row contains ${spelling.slice(0, 6)}…`);
        }
        assert.match(row.secret_sealed, /^v1\./);
      });

      test('a sealed secret does not open under another master key', async () => {
        const issued = await createHmacCredential(db, masterKey, acme.id);
        await assert.rejects(findHmacCredential(db, randomBytes(32), issued.api_key));
      });

      test('unknown keys are not found; revocation is once, and listed', async () => {
        assert.equal(await findHmacCredential(db, masterKey, 'unknown'), undefined);
        const issued = await createHmacCredential(db, masterKey, globex.id, 'to revoke');
        assert.equal(await revokeHmacCredential(db, issued.api_key, now), true);
        assert.equal(await revokeHmacCredential(db, issued.api_key, now), false);
        assert.equal(await revokeHmacCredential(db, 'unknown', now), false);
        assert.equal((await findHmacCredential(db, masterKey, issued.api_key))?.revoked, true);
        const listed = (await listHmacCredentials(db, globex.id)).find((c) => c.api_key === issued.api_key);
        assert.equal(listed?.label, 'to revoke');
        assert.equal(listed?.revoked_at?.getTime(), now.getTime());
        assert.ok(!JSON.stringify(await listHmacCredentials(db, globex.id)).includes('sealed'));
      });

      test('API keys are stored as a hash and prefix only; revocable by prefix, within their partner', async () => {
        const { id, api_key } = await createApiKey(db, acme.id, 'bearer');
        assert.ok(Buffer.from(api_key.slice(3), 'base64url').length >= 16);
        const row = await db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
        assert.equal(row.key_hash, sha256Hex(api_key));
        assert.ok(!JSON.stringify(row).includes(api_key));
        assert.equal(await revokeApiKey(db, globex.id, row.prefix, now), false);
        assert.equal(await revokeApiKey(db, acme.id, 'not-a-uuid', now), false);
        assert.equal(await revokeApiKey(db, acme.id, row.prefix, now), true);
        assert.equal(await revokeApiKey(db, acme.id, id, now), false);
      });
    });

    describe('participants', () => {
      let alice: Participant;
      before(async () => {
        alice = await insertParticipant(db, {
          partnerId: acme.id,
          email: 'Alice@Example.com',
          participantCode: 'ALICE1',
        });
      });

      test('insert with defaults; a generated code is [A-Z0-9]{6}', async () => {
        assert.equal(alice.status, 'approved');
        assert.equal(alice.kind, 'individual');
        assert.equal(alice.deleted, false);
        const generated = await insertParticipant(db, { partnerId: acme.id, email: null, status: 'locked' });
        assert.match(generated.participantCode, /^[A-Z0-9]{6}$/);
        assert.equal(generated.status, 'locked');
        assert.match(generated.uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      });

      test("find by code and by email (any case), only within the participant's partner", async () => {
        assert.deepEqual(await findParticipantByCode(db, acme.id, 'ALICE1'), alice);
        assert.equal(await findParticipantByCode(db, globex.id, 'ALICE1'), undefined);
        assert.equal((await findParticipantByEmail(db, acme.id, 'alice@example.COM'))?.uuid, alice.uuid);
        assert.equal(await findParticipantByEmail(db, globex.id, 'alice@example.com'), undefined);
        assert.equal((await findParticipantByUuid(db, acme.id, alice.uuid))?.participantCode, 'ALICE1');
        assert.equal(await findParticipantByUuid(db, globex.id, alice.uuid), undefined);
        assert.equal(await findParticipantByUuid(db, acme.id, 'not-a-uuid'), undefined);
      });

      test('email is unique per partner, case-insensitively; another partner may use it', async () => {
        await assert.rejects(
          insertParticipant(db, { partnerId: acme.id, email: 'ALICE@example.com' }),
          (error) => error instanceof DuplicateParticipantError && /email/.test(error.message),
        );
        const elsewhere = await insertParticipant(db, { partnerId: globex.id, email: 'alice@example.com' });
        assert.equal(elsewhere.partnerId, globex.id);
      });

      test('participant codes are unique system-wide', async () => {
        await assert.rejects(
          insertParticipant(db, { partnerId: globex.id, email: 'other@example.com', participantCode: 'ALICE1' }),
          (error) => error instanceof DuplicateParticipantError && error.message === 'participant code already in use',
        );
      });

      test('status changes stay within the partner', async () => {
        const p = await insertParticipant(db, { partnerId: acme.id, email: 'status@example.com' });
        assert.equal(await setParticipantStatus(db, globex.id, p.participantCode, 'closed'), false);
        assert.equal(await setParticipantStatus(db, acme.id, p.participantCode, 'pending_unlock'), true);
        assert.equal((await findParticipantByCode(db, acme.id, p.participantCode))?.status, 'pending_unlock');
      });

      test('soft delete: gone from lookups by code and email, still known by uuid, email free again', async () => {
        const p = await insertParticipant(db, { partnerId: acme.id, email: 'gone@example.com' });
        assert.equal(await softDeleteParticipant(db, globex.id, p.uuid, now), false);
        assert.equal(await softDeleteParticipant(db, acme.id, p.uuid, now), true);
        assert.equal(await softDeleteParticipant(db, acme.id, p.uuid, now), false);
        assert.equal(await findParticipantByCode(db, acme.id, p.participantCode), undefined);
        assert.equal(await findParticipantByEmail(db, acme.id, 'gone@example.com'), undefined);
        assert.equal((await findParticipantByUuid(db, acme.id, p.uuid))?.deleted, true);
        const again = await insertParticipant(db, { partnerId: acme.id, email: 'gone@example.com' });
        assert.notEqual(again.uuid, p.uuid);
      });
    });

    describe('identifiers', () => {
      const identifier = 'A'.repeat(20) + randomBytes(10).toString('hex');
      test('linked to a participant, found for its partner only, taken system-wide', async () => {
        const p = await insertParticipant(db, { partnerId: acme.id, email: 'ident@example.com' });
        assert.equal(await isIdentifierTaken(db, identifier), false);
        await linkIdentifier(db, { identifier, partnerId: acme.id, participantId: p.uuid, at: now });
        assert.deepEqual(await findParticipantByIdentifier(db, acme.id, identifier), p);
        assert.equal(await findParticipantByIdentifier(db, globex.id, identifier), undefined);
        assert.equal(await isIdentifierTaken(db, identifier), true);
        const q = await insertParticipant(db, { partnerId: globex.id, email: 'ident@example.com' });
        await assert.rejects(
          linkIdentifier(db, { identifier, partnerId: globex.id, participantId: q.uuid, at: now }),
          IdentifierTakenError,
        );
      });

      test('a malformed identifier is refused by the schema', async () => {
        const p = await insertParticipant(db, { partnerId: acme.id, email: null });
        await rejectsWithCode(
          linkIdentifier(db, { identifier: 'too-short', partnerId: acme.id, participantId: p.uuid, at: now }),
          '23514',
        );
      });
    });

    describe('client tokens', () => {
      const issuance = (referenceId: string | undefined, contentHash: string, label = 'main') => ({
        partnerId: acme.id,
        participantId: null,
        referenceId,
        contentHash,
        depositDetails: { account_label: label },
        payment: undefined,
      });

      test('nothing to record records nothing', async () => {
        assert.deepEqual(await recordIssuance(db, { ...issuance(undefined, 'h'), depositDetails: undefined }), {});
      });

      test('deposit intents and payments are recorded with their details', async () => {
        const records = await recordIssuance(db, {
          ...issuance(undefined, 'h'),
          payment: { kind: 'payout', details: { quoted_asset: 'BTC' } },
        });
        assert.ok(records.depositIntentId && records.paymentId);
        const payment = await db
          .selectFrom('payments')
          .selectAll()
          .where('id', '=', records.paymentId)
          .executeTakeFirstOrThrow();
        assert.equal(payment.kind, 'payout');
        assert.deepEqual(payment.details, { quoted_asset: 'BTC' });
        assert.equal(payment.status, 'pending');
      });

      test('a reference_id: same content returns the first records; other content is a conflict', async () => {
        const first = await recordIssuance(db, issuance('ref-1', 'hash-a'));
        assert.deepEqual(await recordIssuance(db, issuance('ref-1', 'hash-a')), first);
        await assert.rejects(recordIssuance(db, issuance('ref-1', 'hash-b', 'other')), ReferenceConflictError);
        // The reference is per partner: another partner may use the same one.
        const other = await recordIssuance(db, { ...issuance('ref-1', 'hash-b'), partnerId: globex.id });
        assert.notEqual(other.depositIntentId, first.depositIntentId);
      });

      test('concurrent first uses of one reference_id record exactly once', async () => {
        const results = await Promise.all(Array.from({ length: 12 }, () => recordIssuance(db, issuance('race', 'h'))));
        assert.equal(new Set(results.map((r) => r.depositIntentId)).size, 1);
        const rows = await db.selectFrom('deposit_intents').select('id').where('reference_id', '=', 'race').execute();
        assert.equal(rows.length, 1);
      });

      test('revokeToken is idempotent', async () => {
        const jti = randomToken(16);
        assert.equal(await isTokenRevoked(db, jti), false);
        await revokeToken(db, { jti, partnerId: acme.id, expiresAt: now });
        await revokeToken(db, { jti, partnerId: acme.id, expiresAt: now });
        assert.equal(await isTokenRevoked(db, jti), true);
        const rows = await db.selectFrom('revoked_tokens').selectAll().where('jti', '=', jti).execute();
        assert.equal(rows.length, 1);
        assert.equal(rows[0]?.expires_at.getTime(), now.getTime());
      });
    });

    describe('login tokens', () => {
      let user: Participant;
      const later = (seconds: number) => new Date(now.getTime() + seconds * 1000);
      async function newToken(participant = user, expiresIn = 300) {
        const token = randomToken();
        await insertLoginToken(db, {
          tokenHash: sha256Hex(token),
          partnerId: participant.partnerId,
          user: { participantId: participant.uuid },
          createdAt: now,
          expiresAt: later(expiresIn),
        });
        return sha256Hex(token);
      }
      before(async () => {
        user = await insertParticipant(db, { partnerId: acme.id, email: 'login@example.com' });
      });

      test('spent once; the second spend is not_found', async () => {
        const tokenHash = await newToken();
        const first = await spendLoginToken(db, { tokenHash, participantId: user.uuid, partnerId: acme.id, now });
        assert.deepEqual(first, { ok: true, token: { participantId: user.uuid, partnerId: acme.id } });
        const second = await spendLoginToken(db, { tokenHash, participantId: user.uuid, now });
        assert.deepEqual(second, { ok: false, reason: 'not_found' });
      });

      test('on PostgreSQL the hot statements are prepared once per connection, then executed by name', {
        skip: store.name === 'postgres' ? false : 'PostgreSQL only (PGlite has no connection-level statements)',
      }, async () => {
        await db.connection().execute(async (connection) => {
          for (let i = 0; i < 2; i++) {
            const tokenHash = sha256Hex(randomToken());
            await insertLoginToken(connection, {
              tokenHash,
              partnerId: acme.id,
              user: { participantId: user.uuid },
              createdAt: now,
              expiresAt: later(300),
            });
            assert.equal((await spendLoginToken(connection, { tokenHash, participantId: user.uuid, now })).ok, true);
          }
          const { rows } = await sql<{ name: string; statement: string }>`
            SELECT name, statement FROM pg_prepared_statements ORDER BY name`.execute(connection);
          // The spend ran twice on this connection: one named statement.
          const spends = rows.filter((row) => /update "login_tokens"/i.test(row.statement));
          assert.equal(spends.length, 1, JSON.stringify(rows));
          assert.match(spends[0]?.name ?? '', /^handoff_\d+$/);
        });
      });

      test('expired → expired, and not spent by the attempt', async () => {
        const tokenHash = await newToken(user, 60);
        assert.deepEqual(await spendLoginToken(db, { tokenHash, participantId: user.uuid, now: later(60) }), {
          ok: false,
          reason: 'expired',
        });
        const row = await db
          .selectFrom('login_tokens')
          .select('used_at')
          .where('token_hash', '=', tokenHash)
          .executeTakeFirstOrThrow();
        assert.equal(row.used_at, null);
      });

      test('wrong user, wrong partner, unknown token, malformed uuid → not_found; a deleted user → no_user', async () => {
        const tokenHash = await newToken();
        const other = await insertParticipant(db, { partnerId: acme.id, email: null });
        for (const attempt of [
          { tokenHash, participantId: other.uuid, now },
          { tokenHash, participantId: user.uuid, partnerId: globex.id, now },
          { tokenHash: sha256Hex('unknown'), participantId: user.uuid, now },
          { tokenHash, participantId: 'not-a-uuid', now },
        ]) {
          assert.deepEqual(await spendLoginToken(db, attempt), { ok: false, reason: 'not_found' });
        }
        const doomed = await insertParticipant(db, { partnerId: acme.id, email: null });
        const doomedHash = await newToken(doomed);
        await softDeleteParticipant(db, acme.id, doomed.uuid, now);
        assert.deepEqual(await spendLoginToken(db, { tokenHash: doomedHash, participantId: doomed.uuid, now }), {
          ok: false,
          reason: 'no_user',
        });
        // None of the failed attempts spent the token.
        assert.equal((await spendLoginToken(db, { tokenHash, participantId: user.uuid, now })).ok, true);
      });

      test('50 concurrent spends of one token: exactly one succeeds', async () => {
        const tokenHash = await newToken();
        const results = await Promise.all(
          Array.from({ length: 50 }, () => spendLoginToken(db, { tokenHash, participantId: user.uuid, now })),
        );
        assert.equal(results.filter((r) => r.ok).length, 1);
        assert.ok(results.filter((r) => !r.ok).every((r) => !r.ok && r.reason === 'not_found'));
      });

      const refreshFor = () => ({
        tokenHash: sha256Hex(randomToken()),
        familyId: randomUUID(),
        createdAt: now,
        expiresAt: later(3600),
      });
      const storedRefresh = (hashes: string[]) =>
        db
          .selectFrom('refresh_tokens')
          .select(['token_hash', 'participant_id'])
          .where('token_hash', 'in', hashes)
          .execute();

      test('50 concurrent redemptions of one token, batched: one succeeds and only its refresh token is stored', async () => {
        const tokenHash = await newToken();
        const refreshes = Array.from({ length: 50 }, () => refreshFor());
        const results = await Promise.all(
          refreshes.map((refresh) =>
            spendLoginToken(db, { tokenHash, participantId: user.uuid, partnerId: acme.id, now, refresh }),
          ),
        );
        const won = results.flatMap((r, i) => (r.ok ? [refreshes[i]?.tokenHash] : []));
        assert.equal(won.length, 1);
        assert.ok(results.every((r) => r.ok || r.reason === 'not_found'));
        const stored = await storedRefresh(refreshes.map((r) => r.tokenHash));
        assert.deepEqual(stored, [{ token_hash: won[0], participant_id: user.uuid }]);
      });

      test("concurrent redemptions of many users' tokens, batched: each gets its own user and refresh token", async () => {
        const users = await Promise.all(
          Array.from({ length: 4 }, () => insertParticipant(db, { partnerId: acme.id, email: null })),
        );
        const attempts = await Promise.all(
          Array.from({ length: 40 }, async (_, i) => {
            const owner = users[i % users.length] as Participant;
            // Every fifth attempt names another user: refused, and stores nothing.
            const claimed = i % 5 === 4 ? (users[(i + 1) % users.length] as Participant) : owner;
            return { tokenHash: await newToken(owner), owner, claimed, refresh: refreshFor() };
          }),
        );
        const results = await Promise.all(
          attempts.map((a) =>
            spendLoginToken(db, { tokenHash: a.tokenHash, participantId: a.claimed.uuid, now, refresh: a.refresh }),
          ),
        );
        results.forEach((result, i) => {
          const a = attempts[i] as (typeof attempts)[number];
          if (a.claimed === a.owner) {
            assert.deepEqual(result, { ok: true, token: { participantId: a.owner.uuid, partnerId: acme.id } });
          } else assert.deepEqual(result, { ok: false, reason: 'not_found' });
        });
        const stored = await storedRefresh(attempts.map((a) => a.refresh.tokenHash));
        const expected = attempts
          .filter((a) => a.claimed === a.owner)
          .map((a) => ({ token_hash: a.refresh.tokenHash, participant_id: a.owner.uuid }));
        const byHash = (x: { token_hash: string }, y: { token_hash: string }) => (x.token_hash < y.token_hash ? -1 : 1);
        assert.deepEqual(stored.sort(byHash), expected.sort(byHash));
      });

      test('a deadlock with another transaction fails no redemption: the batch is retried one token at a time', {
        skip: store.name === 'postgres' ? false : 'PostgreSQL only (PGlite runs one statement at a time)',
      }, async () => {
        const [first, second, third, fourth] = (await Promise.all(Array.from({ length: 4 }, () => newToken()))).sort();
        const spend = (tokenHash: string | undefined) =>
          spendLoginToken(db, {
            tokenHash: tokenHash as string,
            participantId: user.uuid,
            now,
            refresh: refreshFor(),
          });
        const holder = new pg.Client({ connectionString: databaseUrl });
        const blocker = new pg.Client({ connectionString: databaseUrl });
        await Promise.all([holder.connect(), blocker.connect()]);
        const lock = (client: pg.Client, hash: string | undefined) =>
          client.query('UPDATE login_tokens SET created_at = created_at WHERE token_hash = $1', [hash]);
        try {
          // The blocker holds the two tokens whose spends fill both statement slots; the holder holds the second
          // of the two batched tokens and, with a long deadlock_timeout, lets the batch be the one PostgreSQL aborts.
          await blocker.query('BEGIN');
          await Promise.all([lock(blocker, third), lock(blocker, fourth)]);
          await holder.query("BEGIN; SET LOCAL deadlock_timeout = '20s'");
          await lock(holder, second);
          const slots = [spend(third), spend(fourth)];
          const batched = [spend(first), spend(second)];
          await blocker.query('ROLLBACK');
          // The batch has locked `first` and waits for `second`: the holder now waits for `first`.
          const waiting = async () =>
            (
              await holder.query(
                "SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%jsonb_to_recordset%'",
              )
            ).rows[0].n;
          const deadline = Date.now() + 5000;
          while ((await waiting()) === 0) {
            assert.ok(Date.now() < deadline, 'the two batched spends never went out as one statement');
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
          await lock(holder, first);
          await holder.query('COMMIT');
          const results = await Promise.all([...slots, ...batched]);
          assert.deepEqual(
            results.map((r) => r.ok),
            [true, true, true, true],
          );
        } finally {
          await Promise.allSettled([holder.end(), blocker.end()]);
        }
      });

      test("a disabled partner's token is refused unspent (partner_disabled), and spendable once enabled", async () => {
        const tokenHash = await newToken();
        await setPartnerStatus(db, 'ACME01', 'disabled');
        try {
          const refused = await spendLoginToken(db, { tokenHash, participantId: user.uuid, now });
          assert.deepEqual(refused, { ok: false, reason: 'partner_disabled' });
        } finally {
          await setPartnerStatus(db, 'ACME01', 'active');
        }
        assert.equal((await spendLoginToken(db, { tokenHash, participantId: user.uuid, now })).ok, true);
      });

      test('by identifier, the lookup is part of the INSERT: nothing stored for unknown, foreign or deleted', async () => {
        const linked = await insertParticipant(db, { partnerId: acme.id, email: 'linked-login@example.com' });
        const identifier = `L${randomBytes(20).toString('hex')}`;
        await linkIdentifier(db, { identifier, partnerId: acme.id, participantId: linked.uuid, at: now });
        const issue = (partnerId: string, id: string) =>
          insertLoginToken(db, {
            tokenHash: sha256Hex(randomToken()),
            partnerId,
            user: { identifier: id },
            createdAt: now,
            expiresAt: later(300),
          });
        const count = async () =>
          Number(
            (
              await db
                .selectFrom('login_tokens')
                .select((eb) => eb.fn.countAll().as('n'))
                .where('participant_id', '=', linked.uuid)
                .executeTakeFirstOrThrow()
            ).n,
          );
        assert.equal(await issue(acme.id, identifier), linked.uuid);
        assert.equal(await count(), 1);
        assert.equal(await issue(globex.id, identifier), undefined);
        assert.equal(await issue(acme.id, `${identifier}0`), undefined);
        await softDeleteParticipant(db, acme.id, linked.uuid, now);
        assert.equal(await issue(acme.id, identifier), undefined);
        assert.equal(await count(), 1);
      });

      test('a spend can store the user refresh token in the same statement, only when it succeeds', async () => {
        const tokenHash = await newToken();
        const refresh = (familyId = randomUUID()) => ({
          tokenHash: sha256Hex(randomToken()),
          familyId,
          createdAt: now,
          expiresAt: later(3600),
        });
        const first = refresh();
        const spent = await spendLoginToken(db, { tokenHash, participantId: user.uuid, now, refresh: first });
        assert.deepEqual(spent, { ok: true, token: { participantId: user.uuid, partnerId: acme.id } });
        const stored = await db
          .selectFrom('refresh_tokens')
          .selectAll()
          .where('token_hash', '=', first.tokenHash)
          .executeTakeFirstOrThrow();
        assert.deepEqual(
          [stored.family_id, stored.subject, stored.partner_id, stored.participant_id, stored.used_at],
          [first.familyId, 'user', acme.id, user.uuid, null],
        );
        assert.equal(stored.expires_at.getTime(), first.expiresAt.getTime());
        // Spent already: refused, and that refresh token is not stored.
        const second = refresh();
        const again = await spendLoginToken(db, { tokenHash, participantId: user.uuid, now, refresh: second });
        assert.deepEqual(again, { ok: false, reason: 'not_found' });
        const none = await db
          .selectFrom('refresh_tokens')
          .select('token_hash')
          .where('token_hash', '=', second.tokenHash)
          .execute();
        assert.deepEqual(none, []);
      });
    });

    describe('audit', () => {
      test('insert in batches and list by partner, time and limit', async () => {
        await insertAuditEvents(db, []);
        const at = (seconds: number) => new Date(now.getTime() + seconds * 1000);
        const credentialId = randomUUID();
        const participantId = randomUUID();
        await insertAuditEvents(db, [
          {
            at: at(0),
            surface: 'client-token',
            action: 'client_token.issue',
            outcome: 'success',
            partnerId: acme.id,
            credentialId,
            participantId,
            requestId: 'req-1',
            ip: '203.0.113.9',
            detail: { reference_id: 'order-1' },
          },
          {
            at: at(10.123),
            surface: 'client-token',
            action: 'client_token.issue',
            outcome: 'rejected',
            reason: 'bad_signature',
            partnerId: acme.id,
          },
          { at: at(20), surface: 'cli', action: 'partner.create', outcome: 'success', partnerId: globex.id },
        ]);
        const mine = await listAuditEvents(db, { partnerId: acme.id });
        assert.deepEqual(
          mine.map((e) => [e.outcome, e.reason]),
          [
            ['success', null],
            ['rejected', 'bad_signature'],
          ],
        );
        // Every column lands where it belongs (the batch is positional).
        assert.deepEqual(
          [mine[0]?.surface, mine[0]?.action, mine[0]?.credential_id, mine[0]?.participant_id, mine[0]?.reason],
          ['client-token', 'client_token.issue', credentialId, participantId, null],
        );
        assert.equal(mine[0]?.request_id, 'req-1');
        assert.equal(mine[0]?.ip, '203.0.113.9');
        assert.deepEqual(mine[0]?.detail, { reference_id: 'order-1' });
        const withoutDetail = await db
          .selectFrom('audit_events')
          .select('id')
          .where('partner_id', '=', acme.id)
          .where('detail', 'is', null)
          .execute();
        assert.deepEqual(
          withoutDetail.map((e) => e.id),
          [mine[1]?.id],
          'an event without detail stores NULL, not the JSON value null',
        );
        assert.equal(mine[1]?.request_id, null);
        assert.equal(mine[0]?.at.getTime(), now.getTime());
        assert.equal(mine[1]?.at.getTime(), now.getTime() + 10_123, 'times keep their milliseconds');
        assert.equal((await listAuditEvents(db, { partnerId: acme.id, since: at(5) })).length, 1);
        assert.equal((await listAuditEvents(db, { partnerId: acme.id, limit: 1 })).length, 1);
        assert.equal((await listAuditEvents(db, { partnerId: globex.id }))[0]?.action, 'partner.create');
      });
    });
  });
}
