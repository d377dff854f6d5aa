import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { decodeJwt } from 'jose';
import { createPartnerAccount, createUser, type NewPartnerAccount } from '../src/admin/accounts.ts';
import { Cluster, clusterSkip, delay, type Instance, signedHttpRequest } from './cluster.ts';

describe('graceful shutdown: SIGTERM under load', { skip: clusterSkip }, () => {
  let cluster: Cluster;
  let instance: Instance;
  let partner: NewPartnerAccount;

  before(async () => {
    cluster = await Cluster.start({ instances: 1 });
    instance = cluster.instances[0] as Instance;
    const { db, masterKey } = await cluster.store();
    partner = await createPartnerAccount(db, masterKey, { name: 'Shutdown', platformCode: 'STOP01' });
    await createUser(db, { partnerCode: 'STOP01', email: 'stop@example.com', participantCode: 'STOPU1' }, new Date());
  });
  after(() => cluster?.destroy());

  test('exit 0, and every 201 the clients got has its client_token.issue success audit row', async (t) => {
    const issued = new Map<string, string>();
    const outcomes = new Map<string, number>();
    let sequence = 0;
    let stopping = false;
    // Eight clients in a loop until the instance stops answering; each request carries its own request id.
    const clients = Array.from({ length: 8 }, async () => {
      for (let failures = 0; failures < 3; ) {
        const requestId = `sigterm-${++sequence}`;
        const { path, init } = signedHttpRequest(
          partner.hmac,
          { participant_code: 'STOPU1', permissions: ['crypto-buy'], reference_id: requestId },
          { requestId },
        );
        const outcome = await fetch(`${instance.url}${path}`, init).then(
          async (response) => {
            if (response.status === 201) {
              issued.set(requestId, ((await response.json()) as { message: { token: string } }).message.token);
            } else if (response.status === 503) {
              // Draining: the catalogue's shape, and the connection is closed so the client goes elsewhere.
              assert.deepEqual(await response.json(), { error: 'service unavailable: shutting down' });
              assert.equal(response.headers.get('connection'), 'close');
            } else await response.arrayBuffer();
            return String(response.status);
          },
          () => 'connection refused or reset',
        );
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
        if (outcome !== '201') {
          failures++;
          // Before SIGTERM nothing but 201 is expected.
          assert.ok(stopping, `${outcome} before shutdown`);
        }
      }
    });
    while (issued.size < 150) await delay(20);
    stopping = true;
    const exit = instance.stop('SIGTERM');
    await Promise.all(clients);
    const report = await exit;
    t.diagnostic(`answers: ${JSON.stringify(Object.fromEntries(outcomes))}; exit ${JSON.stringify(report)}`);

    assert.deepEqual(report, { code: 0, signal: null });
    const logs = instance.logs().map((line) => line.msg);
    assert.ok(logs.includes('shutting down') && logs.at(-1) === 'stopped');

    const rows = await (await cluster.db())
      .selectFrom('audit_events')
      .select(['request_id', 'detail'])
      .where('action', '=', 'client_token.issue')
      .where('outcome', '=', 'success')
      .execute();
    const audited = new Map(rows.map((row) => [row.request_id, row.detail?.jti]));
    const missing = [...issued.keys()].filter((id) => !audited.has(id));
    assert.deepEqual(missing, [], `${missing.length} of ${issued.size} issued tokens have no audit row`);
    // And each row names the very token the client received.
    for (const [requestId, token] of issued) assert.equal(audited.get(requestId), decodeJwt(token).jti);
  });
});
