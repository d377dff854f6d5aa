import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createLocalJWKSet, decodeProtectedHeader, type JSONWebKeySet, jwtVerify } from 'jose';
import { createPartnerAccount, createUser, type NewPartnerAccount } from '../src/admin/accounts.ts';
import { Cluster, clusterSkip, signedHttpRequest } from './cluster.ts';

const identifierOf = (n: number) => `scaleout${String(n).padStart(4, '0')}`.padEnd(40, 'x');

describe('scale-out: 3 instances on one PostgreSQL + Redis', { skip: clusterSkip }, () => {
  let cluster: Cluster;
  let partner: NewPartnerAccount;
  const users = 12;

  before(async () => {
    cluster = await Cluster.start({ instances: 3 });
    const { db, masterKey } = await cluster.store();
    partner = await createPartnerAccount(db, masterKey, { name: 'Scale', platformCode: 'SCALE1' });
    for (let n = 0; n < users; n++) {
      await createUser(
        db,
        {
          partnerCode: 'SCALE1',
          email: `user${n}@example.com`,
          participantCode: `SCU${String(n).padStart(3, '0')}`,
          identifier: identifierOf(n),
        },
        new Date(),
      );
    }
  });
  after(() => cluster?.destroy());

  test('a signed request replayed to another instance is refused as a replay', async () => {
    const [a, b, c] = cluster.instances as [(typeof cluster.instances)[0], ...typeof cluster.instances];
    const { path, init } = signedHttpRequest(partner.hmac, { participant_code: 'SCU000', permissions: ['onboarding'] });
    const first = await fetch(`${a.url}${path}`, init);
    assert.equal(first.status, 201, await first.text());
    for (const other of [b, c]) {
      const replayed = await fetch(`${other?.url}${path}`, init);
      assert.equal(replayed.status, 403);
      assert.deepEqual(await replayed.json(), { error: 'request signature already used (replay)' });
    }
  });

  test('tokens from any instance verify against the JWKS of any other: one key, one kid', async () => {
    const tokens: string[] = [];
    const jwksets: JSONWebKeySet[] = [];
    for (const instance of cluster.instances) {
      const { path, init } = signedHttpRequest(partner.hmac, {
        participant_code: 'SCU001',
        permissions: ['onboarding'],
        reference_id: `jwks-${instance.url}`,
      });
      const response = await fetch(`${instance.url}${path}`, init);
      assert.equal(response.status, 201);
      tokens.push(((await response.json()) as { message: { token: string } }).message.token);
      jwksets.push((await (await fetch(`${instance.url}/.well-known/jwks.json`)).json()) as JSONWebKeySet);
    }
    assert.equal(new Set(tokens.map((token) => decodeProtectedHeader(token).kid)).size, 1);
    for (const jwks of jwksets) {
      assert.deepEqual(jwks, jwksets[0]);
      for (const token of tokens) {
        const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), {
          issuer: 'http://handoff.test',
          audience: 'handoff-sdk',
          typ: 'client-auth+jwt',
        });
        assert.equal(payload.participant_code, 'SCU001');
      }
    }
  });

  test('N login tokens redeemed concurrently across instances: each exactly once', async () => {
    const redemptionsPerToken = 6;
    const issued: Array<{ uuid: string; token: string }> = [];
    for (let n = 0; n < users; n++) {
      const response = await fetch(`${cluster.next().url}/api/v1/user/login-token`, {
        headers: { 'x-api-key': partner.api_key, 'user-identifier': identifierOf(n) },
      });
      assert.equal(response.status, 200);
      issued.push((await response.json()) as { uuid: string; token: string });
    }
    // Every attempt is sent at once; each token's attempts land on all three instances.
    const attempts = issued.flatMap((login) =>
      Array.from({ length: redemptionsPerToken }, () =>
        fetch(`${cluster.next().url}/api/v2/user/login-with-token`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': partner.api_key },
          body: JSON.stringify({ uuid: login.uuid, token: login.token }),
        }).then(async (response) => ({
          uuid: login.uuid,
          status: response.status,
          body: (await response.json()) as { uuid?: string; errors?: Record<string, unknown> },
        })),
      ),
    );
    const results = await Promise.all(attempts);
    for (const login of issued) {
      const mine = results.filter((r) => r.uuid === login.uuid);
      const won = mine.filter((r) => r.status === 200);
      assert.equal(won.length, 1, `token of ${login.uuid} redeemed ${won.length} times`);
      assert.equal(won[0]?.body.uuid, login.uuid);
      for (const lost of mine.filter((r) => r.status !== 200)) {
        assert.equal(lost.status, 400);
        assert.deepEqual(Object.keys(lost.body.errors ?? {}), ['ER333']);
      }
    }
    const db = await cluster.db();
    const spent = await db
      .selectFrom('login_tokens')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('used_at', 'is not', null)
      .executeTakeFirstOrThrow();
    assert.equal(Number(spent.n), users);
  });

  test('an instance on PostgreSQL without REDIS_URL is refused while others run, with a clear message', async () => {
    const started = Date.now();
    const loner = cluster.spawnInstance({ REDIS_URL: '' });
    const exit = await loner.exited;
    assert.notEqual(exit.code, 0);
    assert.ok(Date.now() - started < 15_000);
    assert.match(
      loner.stderr.join('\n'),
      /another Handoff instance already runs on this database; without REDIS_URL replay and rate-limit state would be per instance, so set REDIS_URL on every instance/,
    );
    // The refused process changed nothing: the cluster still serves.
    const { path, init } = signedHttpRequest(partner.hmac, { participant_code: 'SCU002', permissions: ['onboarding'] });
    assert.equal((await fetch(`${cluster.next().url}${path}`, init)).status, 201);
  });

  test('SIGTERM: every instance exits 0', async () => {
    const reports = await cluster.stop();
    assert.deepEqual(
      reports.map((r) => r.code),
      [0, 0, 0],
    );
  });
});
