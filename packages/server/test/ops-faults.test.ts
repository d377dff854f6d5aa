import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { after, before, describe, test } from 'node:test';
import { createPartnerAccount, createUser, type NewPartnerAccount } from '../src/admin/accounts.ts';
import { Cluster, clusterSkip, delay, type Instance, type ProxyFault, signedHttpRequest, TcpProxy } from './cluster.ts';
import { testDatabaseUrl, testRedisUrl } from './harness.ts';

/**
 * One instance reaching PostgreSQL and Redis through loopback proxies that the test cuts and restores. Every
 * surface is probed during each fault; the observations form the fault matrix printed at the end.
 */

interface Observation {
  status: number;
  body: unknown;
  ms: number;
}

const identifier = 'faultIdentifier'.padEnd(40, '0');
const boundMs = 5000;

describe('faults: PostgreSQL and Redis cut mid-test', { skip: clusterSkip }, () => {
  let database: TcpProxy;
  let redis: TcpProxy;
  let cluster: Cluster;
  let instance: Instance;
  let partner: NewPartnerAccount;
  let userUuid: string;
  let sequence = 0;
  /** Live client tokens, one per probe of /introspect (so each probe is a fresh signature that needs the database). */
  const tokensToIntrospect: string[] = [];
  const faults = 6;
  const matrix = new Map<string, Map<string, string>>();
  const answered201: string[] = [];

  before(async () => {
    database = await TcpProxy.start(testDatabaseUrl as string);
    redis = await TcpProxy.start(testRedisUrl as string);
    cluster = await Cluster.start({ instances: 1, through: { database, redis } });
    instance = cluster.instances[0] as Instance;
    const { db, masterKey } = await cluster.store();
    partner = await createPartnerAccount(db, masterKey, { name: 'Faults', platformCode: 'FAULT0' });
    const user = await createUser(
      db,
      { partnerCode: 'FAULT0', email: 'fault@example.com', participantCode: 'FAULT1', identifier },
      new Date(),
    );
    userUuid = user.uuid;
    for (let n = 0; n < faults; n++) {
      const { path, init } = signedHttpRequest(partner.hmac, {
        participant_code: 'FAULT1',
        permissions: ['onboarding'],
        reference_id: `introspect-${n}`,
      });
      const response = await fetch(`${instance.url}${path}`, init);
      tokensToIntrospect.push(((await response.json()) as { message: { token: string } }).message.token);
    }
  });
  after(async () => {
    await cluster?.destroy();
    await database?.close();
    await redis?.close();
  });

  async function timed(path: string, init: RequestInit = {}): Promise<Observation> {
    const started = performance.now();
    const response = await fetch(`${instance.url}${path}`, { ...init, signal: AbortSignal.timeout(15_000) });
    const text = await response.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // Prometheus text or empty.
    }
    return { status: response.status, body, ms: Math.round(performance.now() - started) };
  }

  /** A signed client_auth_token request that writes a payment and its reference row in one transaction. */
  function issuePayment(requestId = `req-${++sequence}`) {
    const { path, init } = signedHttpRequest(
      partner.hmac,
      {
        participant_code: 'FAULT1',
        permissions: ['crypto-pay'],
        reference_id: `ref-${requestId}`,
        payment_details: { purchase_amount: '12.50', denominated_currency: 'USD' },
      },
      { requestId },
    );
    return timed(path, init).then((observation) => {
      if (observation.status === 201) answered201.push(requestId);
      return { ...observation, requestId };
    });
  }

  async function loginToken(): Promise<Observation & { token?: string }> {
    const observation = await timed('/api/v1/user/login-token', {
      headers: { 'x-api-key': partner.api_key, 'user-identifier': identifier },
    });
    return { ...observation, ...(observation.status === 200 ? (observation.body as { token: string }) : {}) };
  }

  /** Each surface once, concurrently; recorded under `fault` in the matrix. */
  async function probeSurfaces(fault: string, spare: { token?: string | undefined }) {
    const introspect = signedHttpRequest(partner.hmac, { token: tokensToIntrospect.pop() }, { path: '/introspect' });
    const probes: Record<string, Promise<Observation>> = {
      'POST /client_auth_token': issuePayment(),
      'POST /introspect': timed(introspect.path, introspect.init),
      'POST /api/v1/authenticate': timed('/api/v1/authenticate', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: partner.username, password: partner.password }),
      }),
      'GET /api/v1/user/login-token': loginToken(),
      'POST /api/v2/user/login-with-token': timed('/api/v2/user/login-with-token', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': partner.api_key },
        body: JSON.stringify({ uuid: userUuid, token: spare.token ?? 'none' }),
      }),
      'GET /readyz': timed('/readyz'),
      'GET /healthz': timed('/healthz'),
      'GET /.well-known/jwks.json': timed('/.well-known/jwks.json'),
    };
    const observed: Record<string, Observation> = {};
    const column = new Map<string, string>();
    for (const [surface, probe] of Object.entries(probes)) {
      const o = await probe;
      observed[surface] = o;
      // Successful bodies carry tokens: shown by their field names only.
      const shown =
        o.status < 300 && surface !== 'GET /readyz' && surface !== 'GET /healthz'
          ? `{${Object.keys(o.body as object).join(', ')}}`
          : JSON.stringify(o.body).replace(/,?"solution":"[^"]*"/, '');
      column.set(surface, `${o.status} ${shown.slice(0, 90)} (${o.ms} ms)`);
    }
    matrix.set(fault, column);
    return observed;
  }

  /** Tokens minted by waitForRecovery's own probes: one may succeed before /readyz does, and the next attempt mints again. */
  let mintedByRecovery = 0;
  async function waitForRecovery(): Promise<number> {
    const started = performance.now();
    for (let attempt = 0; attempt < 100; attempt++) {
      const [ready, issued] = await Promise.all([timed('/readyz'), issuePayment()]);
      if (issued.status === 201) mintedByRecovery++;
      if (ready.status === 200 && issued.status === 201) return Math.round(performance.now() - started);
      await delay(100);
    }
    throw new Error('no recovery within 10 s');
  }

  const unavailable = (dependency: string) => ({ error: `service unavailable: ${dependency}` });
  const er950 = {
    errors: {
      ER950: {
        code: 'ER950',
        message: 'Service temporarily unavailable.',
        solution: 'Retry shortly; the service recovers by itself.',
      },
    },
  };

  function assertDatabaseDown(observed: Record<string, Observation>) {
    for (const surface of ['POST /client_auth_token', 'POST /introspect']) {
      assert.equal(observed[surface]?.status, 503, surface);
      assert.deepEqual(observed[surface]?.body, unavailable('database'), surface);
    }
    for (const surface of ['POST /api/v1/authenticate', 'GET /api/v1/user/login-token']) {
      assert.equal(observed[surface]?.status, 503, surface);
      assert.deepEqual(observed[surface]?.body, er950, surface);
    }
    assert.equal(observed['POST /api/v2/user/login-with-token']?.status, 503);
    assert.deepEqual(observed['GET /readyz']?.body, {
      status: 'unavailable',
      checks: { database: 'down', redis: 'ok' },
    });
    assert.equal(observed['GET /readyz']?.status, 503);
    // No dependency needed: still served.
    assert.equal(observed['GET /healthz']?.status, 200);
    assert.equal(observed['GET /.well-known/jwks.json']?.status, 200);
    for (const [surface, o] of Object.entries(observed)) assert.ok(o.ms < boundMs, `${surface} took ${o.ms} ms`);
  }

  function assertRedisDown(observed: Record<string, Observation>) {
    for (const surface of ['POST /client_auth_token', 'POST /introspect']) {
      assert.equal(observed[surface]?.status, 503, surface);
      assert.deepEqual(observed[surface]?.body, unavailable('redis'), surface);
    }
    // Login is rate limited through Redis: without it, refused rather than unlimited.
    assert.equal(observed['POST /api/v1/authenticate']?.status, 503);
    assert.deepEqual(observed['POST /api/v1/authenticate']?.body, er950);
    // One-time tokens live in PostgreSQL: they keep working.
    assert.equal(observed['GET /api/v1/user/login-token']?.status, 200);
    assert.equal(observed['POST /api/v2/user/login-with-token']?.status, 200);
    assert.deepEqual(observed['GET /readyz']?.body, {
      status: 'unavailable',
      checks: { database: 'ok', redis: 'down' },
    });
    assert.equal(observed['GET /healthz']?.status, 200);
    for (const [surface, o] of Object.entries(observed)) assert.ok(o.ms < boundMs, `${surface} took ${o.ms} ms`);
  }

  /** Concurrent signed requests until stopped; every answer kept. */
  function startLoad(concurrency: number) {
    let running = true;
    const results: Array<Observation & { requestId: string }> = [];
    const loops = Array.from({ length: concurrency }, async () => {
      while (running) results.push(await issuePayment());
    });
    return async () => {
      running = false;
      await Promise.all(loops);
      return results;
    };
  }

  /** Runs `during` with the dependency cut, always restoring it (and stopping any load) afterwards. */
  async function withFault<T>(proxy: TcpProxy, mode: ProxyFault, during: () => Promise<T>): Promise<T> {
    await proxy.cut(mode);
    try {
      // Let the pools notice their dead connections, so probes meet the outage rather than a stale socket.
      await delay(300);
      return await during();
    } finally {
      await proxy.restore();
    }
  }

  test('PostgreSQL refused mid-load: 503 "database" fast, never 500, nothing half-written, recovery', async (t) => {
    assert.equal((await issuePayment()).status, 201);
    const spare = await loginToken();
    const stopLoad = startLoad(4);
    let load: Awaited<ReturnType<typeof stopLoad>>;
    let recoveredMs: number;
    try {
      await delay(300);
      await withFault(database, 'refuse', async () => {
        assertDatabaseDown(await probeSurfaces('PostgreSQL refused', spare));
      });
      recoveredMs = await waitForRecovery();
      await delay(200);
    } finally {
      load = await stopLoad();
    }

    const statuses = new Map<number, number>();
    for (const r of load) statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
    t.diagnostic(`load: ${JSON.stringify(Object.fromEntries(statuses))}; recovered ${recoveredMs} ms after restore`);
    assert.ok((statuses.get(201) ?? 0) > 0 && (statuses.get(503) ?? 0) > 0);
    assert.deepEqual([...statuses.keys()].sort(), [201, 503]);
    for (const r of load.filter((r) => r.status === 503)) {
      assert.deepEqual(r.body, unavailable('database'));
      assert.ok(r.ms < boundMs, `a 503 took ${r.ms} ms`);
    }

    // Every payment has its reference row and every payment request's reference its payment: each transaction
    // committed whole or not at all.
    const db = await cluster.db();
    const orphans = await db
      .selectFrom('payments as p')
      .fullJoin('client_token_references as r', 'r.payment_id', 'p.id')
      .select(['p.id', 'r.reference_id'])
      .where((eb) =>
        eb.or([
          eb('r.reference_id', 'is', null),
          eb.and([eb('p.id', 'is', null), eb('r.reference_id', 'like', 'ref-%')]),
        ]),
      )
      .execute();
    assert.deepEqual(orphans, []);
    // A request refused during the outage, retried (signed afresh) with its reference_id, gets one payment.
    const refused = load.find((r) => r.status === 503) as { requestId: string };
    const retried = signedHttpRequest(
      partner.hmac,
      {
        participant_code: 'FAULT1',
        permissions: ['crypto-pay'],
        reference_id: `ref-${refused.requestId}`,
        payment_details: { purchase_amount: '12.50', denominated_currency: 'USD' },
      },
      { timestamp: Math.floor(Date.now() / 1000) + 2 },
    );
    assert.equal((await timed(retried.path, retried.init)).status, 201);
    const payments = await db
      .selectFrom('payments')
      .select('id')
      .where('reference_id', '=', `ref-${refused.requestId}`)
      .execute();
    assert.equal(payments.length, 1);
  });

  test('PostgreSQL unreachable (blackholed): 503 within the connection timeout, readyz names it, recovery', async () => {
    const spare = await loginToken();
    await withFault(database, 'blackhole', async () => {
      assertDatabaseDown(await probeSurfaces('PostgreSQL blackholed', spare));
    });
    await waitForRecovery();
  });

  test('PostgreSQL hung mid-load (connections open, nothing answers): 503 within the bound, recovery', async (t) => {
    const spare = await loginToken();
    // Load keeps transactions open on the connections at the moment they hang.
    const stopLoad = startLoad(4);
    let load: Awaited<ReturnType<typeof stopLoad>>;
    try {
      await delay(300);
      await withFault(database, 'stall', async () => {
        const started = performance.now();
        assertDatabaseDown(await probeSurfaces('PostgreSQL hung', spare));
        // Hung for longer than any timeout, so statements in flight (inside transactions too) must give up.
        await delay(6000 - (performance.now() - started));
      });
      await waitForRecovery();
    } finally {
      load = await stopLoad();
    }
    const refused = load.filter((r) => r.status === 503);
    t.diagnostic(
      `load: ${load.length} requests, ${refused.length} × 503, slowest ${Math.max(...load.map((r) => r.ms))} ms`,
    );
    assert.ok(load.every((r) => r.status === 201 || r.status === 503));
    for (const r of refused) assert.ok(r.ms < boundMs, `a 503 took ${r.ms} ms`);
  });

  test('Redis refused: client tokens fail closed with 503, none minted; one-time tokens still work; recovery', async () => {
    const spare = await loginToken();
    const issuedBefore = await issuedCount();
    const recoveryBefore = mintedByRecovery;
    const stopLoad = startLoad(2);
    let load: Awaited<ReturnType<typeof stopLoad>>;
    let during: Array<Observation & { requestId: string }> = [];
    try {
      await delay(200);
      await withFault(redis, 'refuse', async () => {
        const mintedBefore = answered201.length;
        assertRedisDown(await probeSurfaces('Redis refused', spare));
        during = await Promise.all([issuePayment(), issuePayment(), issuePayment()]);
        for (const r of during) assert.deepEqual([r.status, r.body], [503, unavailable('redis')]);
        // Nothing the load sent while Redis was away was answered 201 either.
        assert.equal(answered201.length, mintedBefore);
      });
      await waitForRecovery();
    } finally {
      load = await stopLoad();
    }
    assert.ok(load.every((r) => r.status === 201 || r.status === 503));

    // Nothing was minted unchecked: no success audit row and no issued-counter increment for a refused request.
    await waitForAuditFlush();
    const refusedIds = [...during, ...load.filter((r) => r.status === 503)].map((r) => r.requestId);
    const minted = await (await cluster.db())
      .selectFrom('audit_events')
      .select('request_id')
      .where('request_id', 'in', refusedIds)
      .where('outcome', '=', 'success')
      .execute();
    assert.deepEqual(minted, []);
    const issuedAfter = await issuedCount();
    // Outside the load, only waitForRecovery's own probes minted.
    const recoveryMinted = mintedByRecovery - recoveryBefore;
    assert.equal(issuedAfter - issuedBefore, load.filter((r) => r.status === 201).length + recoveryMinted);
  });

  test('Redis unreachable (blackholed): the same, within the command timeout', async () => {
    const spare = await loginToken();
    await withFault(redis, 'blackhole', async () => {
      assertRedisDown(await probeSurfaces('Redis blackholed', spare));
    });
    await waitForRecovery();
  });

  test('Redis hung: client tokens refused within the command timeout, recovery', async () => {
    const spare = await loginToken();
    await withFault(redis, 'stall', async () => {
      assertRedisDown(await probeSurfaces('Redis hung', spare));
    });
    await waitForRecovery();
  });

  test('every 201 answered through the faults has its success audit row', async () => {
    await waitForAuditFlush();
    const db = await cluster.db();
    const rows = await db
      .selectFrom('audit_events')
      .select(['request_id', 'detail'])
      .where('action', '=', 'client_token.issue')
      .where('outcome', '=', 'success')
      .execute();
    const audited = new Set(rows.map((r) => r.request_id));
    assert.deepEqual(
      answered201.filter((id) => !audited.has(id)),
      [],
    );
  });

  test('metrics counted the dependency errors', async () => {
    const metrics = (await timed('/metrics')).body as string;
    assert.match(metrics, /handoff_dependency_errors_total\{dependency="database"\} [1-9]/);
    assert.match(metrics, /handoff_dependency_errors_total\{dependency="redis"\} [1-9]/);
    assert.match(metrics, /handoff_requests_rejected_total\{surface="client-token",reason="unavailable"\} [1-9]/);
    assert.doesNotMatch(metrics, /status="500"/);
  });

  test('fault matrix (fault × surface → observed answer)', (t) => {
    for (const [fault, column] of matrix) {
      t.diagnostic(`== ${fault}`);
      for (const [surface, answer] of column) t.diagnostic(`${surface.padEnd(34)} ${answer}`);
    }
    assert.equal(matrix.size, faults);
    const seen = new Set<string>();
    for (const l of instance.logs().filter((l) => Number(l.level) >= 40)) {
      const key = `${l.msg} ${l.route ?? ''} ${(l.err as { message?: string })?.message}`;
      if (!seen.has(key)) t.diagnostic(key);
      seen.add(key);
    }
  });

  async function issuedCount(): Promise<number> {
    const metrics = (await timed('/metrics')).body as string;
    const match = /handoff_tokens_issued_total\{kind="client_access_token"\} (\d+)/.exec(metrics);
    return Number(match?.[1] ?? 0);
  }

  /** The audit buffer flushes every 200 ms once the database answers; wait until the newest 201 is in. */
  async function waitForAuditFlush(): Promise<void> {
    const db = await cluster.db();
    const last = answered201.at(-1);
    for (let attempt = 0; attempt < 50 && last; attempt++) {
      const row = await db.selectFrom('audit_events').select('id').where('request_id', '=', last).executeTakeFirst();
      if (row) return;
      await delay(100);
    }
  }
});
