import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { createTestDatabase, testDatabaseUrl } from './harness.ts';
import { type CliResult, jsonOf, ownStderr, runHandoff, startServe, tempDataDir } from './subprocess.ts';

/**
 * The operator CLI as operators run it: `node packages/server/bin/handoff.mjs …` subprocesses. Each start costs
 * a second or more, so independent scenarios run concurrently, each on its own data directory (the embedded
 * store admits one process at a time).
 */

const uuidV4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const identifier = `ID${'x'.repeat(40)}`;

/** A failed command: non-zero exit, a message on stderr, nothing on stdout. */
function assertFailed(result: CliResult, message: RegExp): void {
  assert.notEqual(result.code, 0, result.stdout);
  assert.equal(result.stdout, '');
  assert.match(result.stderr, message);
}

function assertPartnerAccountShape(account: Record<string, unknown>, platformCode: string): void {
  assert.deepEqual(Object.keys(account), ['platform_code', 'hmac', 'api_key', 'username', 'password']);
  assert.equal(account.platform_code, platformCode);
  const hmac = account.hmac as Record<string, string>;
  assert.deepEqual(Object.keys(hmac), ['api_key', 'secret', 'passphrase']);
  const secret = Buffer.from(hmac.secret as string, 'base64');
  assert.equal(secret.length, 32);
  assert.equal(secret.toString('base64'), hmac.secret);
  assert.ok(Buffer.from(hmac.passphrase as string, 'base64url').length >= 16);
  for (const key of ['api_key', 'username', 'password'] as const) assert.equal(typeof account[key], 'string');
}

describe('handoff CLI on the embedded store', { concurrency: true }, () => {
  const dirs: Array<{ remove(): void }> = [];
  const dataDir = () => {
    const d = tempDataDir();
    dirs.push(d);
    return d.dir;
  };
  after(() => {
    for (const d of dirs) d.remove();
  });

  test('partner, user and credential commands on one data directory', async () => {
    const env = { HANDOFF_DATA_DIR: dataDir() };
    // One command at a time: the embedded store admits one process.
    const run = (...args: string[]) => runHandoff(args, env);

    const account = jsonOf(await run('partner', 'create', '--name', 'X', '--platform-code', 'ABC123', '--json'));
    assertPartnerAccountShape(account, 'ABC123');
    // The embedded default generated its master key, readable by the owner only.
    assert.equal(statSync(path.join(env.HANDOFF_DATA_DIR, 'master.key')).mode & 0o777, 0o600);

    const user = jsonOf(await run('user', 'create', '--partner', 'ABC123', '--email', 'alice@example.com', '--json'));
    assert.deepEqual(Object.keys(user), ['uuid', 'participant_code', 'email', 'status']);
    assert.match(user.uuid as string, uuidV4);
    assert.match(user.participant_code as string, /^[A-Z0-9]{6}$/);
    assert.equal(user.email, 'alice@example.com');
    assert.equal(user.status, 'approved');

    const bob = jsonOf(
      await run(
        ...['user', 'create', '--partner', 'ABC123', '--email', 'bob@example.com', '--status', 'locked'],
        ...['--participant-code', 'BOB001', '--identifier', identifier, '--json'],
      ),
    );
    assert.deepEqual(
      { ...bob, uuid: undefined },
      { uuid: undefined, participant_code: 'BOB001', email: 'bob@example.com', status: 'locked' },
    );

    assertFailed(
      await run('user', 'create', '--partner', 'ABC123', '--email', 'not-an-email', '--json'),
      /^handoff: email must be an email address\n$/,
    );
    assertFailed(
      await run('user', 'create', '--partner', 'NOPE00', '--email', 'a@example.com', '--json'),
      /^handoff: no partner with platform code NOPE00\n$/,
    );

    const created = jsonOf(await run('credential', 'create', '--partner', 'ABC123', '--label', 'second', '--json'));
    assert.deepEqual(Object.keys(created), ['api_key', 'secret', 'passphrase']);
    assert.equal(Buffer.from(created.secret as string, 'base64').length, 32);
    assert.deepEqual(jsonOf(await run('credential', 'revoke', created.api_key as string, '--json')), {
      api_key: created.api_key,
      revoked: true,
    });
    const listed = jsonOf<Array<Record<string, unknown>>>(
      await run('credential', 'list', '--partner', 'ABC123', '--json'),
    );
    assert.deepEqual(
      listed.map((c) => [c.api_key, c.label, c.revoked_at === null]),
      [
        [(account.hmac as Record<string, string>).api_key, 'created with partner', true],
        [created.api_key, 'second', false],
      ],
    );
    // Listing never shows a secret.
    assert.ok(!JSON.stringify(listed).includes(created.secret as string));

    assert.deepEqual(jsonOf(await run('partner', 'disable', 'ABC123', '--json')), {
      platform_code: 'ABC123',
      status: 'disabled',
    });
    // Without --json the output is for people.
    const partners = await run('partner', 'list');
    assert.equal(partners.code, 0, partners.stderr);
    assert.equal(partners.stdout, 'ABC123  disabled  X\n');
  });

  test('bad configuration and an invalid status: one clear message; keys rotate|list; the data-dir lock', async () => {
    const env = { HANDOFF_DATA_DIR: dataDir(), HANDOFF_LOG_LEVEL: 'warn' };
    // These fail before touching the store, so they can run together.
    const [port, alg, status] = await Promise.all([
      runHandoff(['partner', 'list'], { ...env, PORT: 'abc' }),
      runHandoff(['serve'], { ...env, HANDOFF_SIGNING_ALG: 'HS256' }),
      runHandoff(['user', 'create', '--partner', 'ABC123', '--email', 'a@example.com', '--status', 'bogus'], env),
    ]);
    for (const [result, variable] of [
      [port, 'PORT'],
      [alg, 'HANDOFF_SIGNING_ALG'],
    ] as const) {
      assert.equal(result.code, 1);
      assert.equal(result.stdout, '');
      const lines = ownStderr(result.stderr);
      assert.equal(lines.length, 1, result.stderr);
      assert.match(lines[0] as string, new RegExp(`^handoff: invalid configuration: ${variable}: `));
    }
    assertFailed(status, /argument 'bogus' is invalid\. Allowed choices are submitted, pending_approval, approved/);

    // Rotating before the first start leaves only a pending key; the server must still start and sign.
    const rotated = jsonOf(await runHandoff(['keys', 'rotate', '--json'], env));
    assert.deepEqual(Object.keys(rotated), ['kid', 'alg', 'activates_at']);
    assert.equal(rotated.alg, 'ES256');
    assert.ok(Date.parse(rotated.activates_at as string) > Date.now() + 500_000);

    const server = await startServe(env);
    try {
      await server.waitHealthy(60_000);
      const jwks = (await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as {
        keys: Array<{ kid: string }>;
      };
      assert.equal(jwks.keys.length, 2);
      assert.ok(jwks.keys.some((k) => k.kid === rotated.kid));

      const locked = await runHandoff(['partner', 'list'], env);
      assertFailed(locked, new RegExp(`in use by process ${server.child.pid} on .*"handoff serve"`));
      assert.match(locked.stderr, /stop that process first, or set DATABASE_URL/);
    } finally {
      const stopped = await server.stop();
      assert.equal(stopped.code, 0, server.output());
    }

    const keys = jsonOf<Array<Record<string, unknown>>>(await runHandoff(['keys', 'list', '--json'], env));
    assert.deepEqual(keys.map((k) => k.state).sort(), ['active', 'pending']);
    assert.equal(keys.find((k) => k.state === 'pending')?.kid, rotated.kid);
    for (const key of keys) assert.deepEqual(Object.keys(key), ['kid', 'alg', 'state', 'created_at', 'activates_at']);
  });
});

describe('handoff CLI on PostgreSQL', { skip: testDatabaseUrl ? false : 'HANDOFF_TEST_DATABASE_URL not set' }, () => {
  test('migrate, concurrent partner creates (no lock on PostgreSQL), user create, keys rotate|list', async () => {
    const database = await createTestDatabase(testDatabaseUrl as string);
    try {
      const env = { DATABASE_URL: database.url, HANDOFF_MASTER_KEY: randomBytes(32).toString('base64') };
      const migrated = jsonOf<{ applied: string[] }>(await runHandoff(['migrate', '--json'], env));
      assert.ok(migrated.applied.includes('0001-core'));

      const [a, b] = await Promise.all([
        runHandoff(['partner', 'create', '--name', 'A', '--platform-code', 'PGA001', '--json'], env),
        runHandoff(['partner', 'create', '--name', 'B', '--platform-code', 'PGB001', '--json'], env),
      ]);
      assertPartnerAccountShape(jsonOf(a), 'PGA001');
      assertPartnerAccountShape(jsonOf(b), 'PGB001');

      const [user, rotated] = await Promise.all([
        runHandoff(['user', 'create', '--partner', 'PGA001', '--email', 'pg@example.com', '--json'], env),
        runHandoff(['keys', 'rotate', '--alg', 'RS256', '--json'], env),
      ]);
      const created = jsonOf(user);
      assert.equal(created.status, 'approved');
      assert.equal(created.email, 'pg@example.com');
      assert.equal(jsonOf(rotated).alg, 'RS256');

      const keys = jsonOf<Array<Record<string, unknown>>>(await runHandoff(['keys', 'list', '--json'], env));
      assert.deepEqual(
        keys.map((k) => [k.alg, k.state]),
        [['RS256', 'pending']],
      );
    } finally {
      await database.drop();
    }
  });
});
