import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { listenForParticipantChanges } from '../src/store/participant-changes.ts';
import { participantKey } from '../src/store/participants.ts';
import { startTestApp, type TestApp, testDatabaseUrl } from './harness.ts';

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 25));
  assert.ok(condition(), `timed out waiting for ${what}`);
}

describe('participant change announcements (PostgreSQL)', {
  skip: testDatabaseUrl ? false : 'needs HANDOFF_TEST_DATABASE_URL',
}, () => {
  let t: TestApp;
  let outside: pg.Client;
  before(async () => {
    t = await startTestApp();
    // The KYC pipeline's view: its own connection and its own SQL.
    outside = new pg.Client({ connectionString: t.ctx.config.databaseUrl });
    await outside.connect();
  });
  after(async () => {
    await outside.end();
    await t.close();
  });

  test('every update or delete of a participant row is announced with its cache key; a lost connection is reported and restored', async () => {
    await t.createPartner({ platformCode: 'PLCH01' });
    const user = await t.createUser({ partnerCode: 'PLCH01', participantCode: 'CHNG01' });
    const other = await t.createUser({ partnerCode: 'PLCH01', participantCode: 'CHNG02' });
    const events: string[] = [];
    const listener = await listenForParticipantChanges(t.ctx.config.databaseUrl as string, 2000, {
      changed: (key) => events.push(`changed ${key}`),
      lost: () => events.push('lost'),
      restored: () => events.push('restored'),
    });
    try {
      assert.deepEqual(events, ['lost', 'restored'], 'untrusted until LISTEN is in place');
      assert.equal(listener.listening, true);
      const key = participantKey(user.partnerId, 'CHNG01');
      await outside.query(`UPDATE participants SET status = 'locked' WHERE id = $1`, [user.uuid]);
      await until(() => events.length === 3, 'the update');
      assert.equal(events[2], `changed ${key}`);
      await outside.query(`UPDATE participants SET first_name = 'X' WHERE id = ANY($1)`, [[user.uuid, other.uuid]]);
      await until(() => events.length === 5, 'the two-row update');
      assert.deepEqual(events.slice(3).sort(), [
        `changed ${key}`,
        `changed ${participantKey(user.partnerId, 'CHNG02')}`,
      ]);

      // The connection dies (a failover, a restart): reported at once, then LISTEN again.
      await outside.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = 'LISTEN handoff_participants' AND datname = current_database()`,
      );
      await until(() => events.at(-1) === 'restored' && events.length === 7, 'the reconnection');
      assert.deepEqual(events.slice(5), ['lost', 'restored']);
      await outside.query(`DELETE FROM participants WHERE id = $1`, [other.uuid]);
      await until(() => events.length === 8, 'the delete');
      assert.equal(events[7], `changed ${participantKey(user.partnerId, 'CHNG02')}`);
    } finally {
      await listener.close();
    }
    assert.equal(listener.listening, false);
  });
});
