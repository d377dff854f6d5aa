import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

const root = path.resolve(import.meta.dirname, '../../..');
// The walkthrough always runs on the embedded default; the suite's PostgreSQL pass would only repeat it.
const skip = process.env.HANDOFF_TEST_DATABASE_URL ? 'store-independent: runs in the embedded pass' : false;

test('examples/walkthrough.ts runs both flows against a local server and exits 0', { skip }, async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'examples/walkthrough.ts'], {
    cwd: root,
    timeout: 120_000,
  });
  for (const line of [
    '- verified offline: ADA001 may crypto-buy, participant-profile',
    '- the verifier, checking revocation, refuses it: token has been revoked',
    '- send the user to http://127.0.0.1:',
    '- a second redemption is refused: ER333 Login token not found.',
    'walkthrough complete',
  ]) {
    assert.ok(stdout.includes(line), `${line}\n---\n${stdout}`);
  }
});
