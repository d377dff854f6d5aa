import assert from 'node:assert/strict';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';
import { importUsers, type RejectedRow } from '../src/admin/import/import-users.ts';
import { ImportProgress } from '../src/admin/import/progress.ts';
import { type ImportFormat, readRecords } from '../src/admin/import/records.ts';
import { verifyPassword } from '../src/crypto/passwords.ts';
import { findParticipantByEmail } from '../src/store/participants.ts';
import { findPartnerByCode } from '../src/store/partners.ts';
import { runCli } from './cluster.ts';
import { startTestApp, storeName, type TestApp } from './harness.ts';

const identifierOf = (seed: string) => seed.padEnd(40, '0');

describe(`bulk user import (${storeName})`, () => {
  let t: TestApp;
  let partnerId: string;
  let dir: string;

  before(async () => {
    t = await startTestApp();
    await t.createPartner({ platformCode: 'IMPORT' });
    await t.createPartner({ platformCode: 'OTHER1' });
    partnerId = ((await findPartnerByCode(t.ctx.db, 'IMPORT')) as { id: string }).id;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'handoff-import-'));
  });
  after(async () => {
    await t.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const participantsOf = async (id = partnerId) =>
    Number(
      (
        await t.ctx.db
          .selectFrom('participants')
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .where('partner_id', '=', id)
          .where('kind', '=', 'individual')
          .executeTakeFirstOrThrow()
      ).n,
    );

  async function run(text: string, format: ImportFormat, id = partnerId) {
    const rejected: RejectedRow[] = [];
    const totals = await importUsers(t.ctx.db, readRecords(Readable.from([text]), format), {
      partnerId: id,
      batchSize: 3,
      onReject: (row) => rejected.push(row),
    });
    return { totals, rejected };
  }

  test('100,000 generated rows stream in, in constant memory; the same file again adds nothing', async (t_) => {
    const file = path.join(dir, 'users.csv');
    const rows = 100_000;
    await writeLines(
      file,
      'email,phone_number,status,first_name,last_name',
      rows,
      (i) => `user${i}@example.com,+1415555${String(i % 10_000).padStart(4, '0')},approved,First${i},Last${i}`,
    );
    const heapBefore = retainedHeap();
    let heapPeak = heapBefore;
    let batches = 0;
    const started = performance.now();
    const first = await importUsers(t.ctx.db, readRecords(fs.createReadStream(file), 'csv'), {
      partnerId,
      onBatch: () => {
        // What the import keeps alive, sampled every 20 batches (a full collection costs a few ms).
        if (++batches % 20 === 0) heapPeak = Math.max(heapPeak, retainedHeap());
      },
    });
    const seconds = (performance.now() - started) / 1000;
    assert.deepEqual(first, { rows, imported: rows, skipped: 0, rejected: 0 });
    assert.equal(await participantsOf(), rows);
    const mib = (bytes: number) => Math.round(bytes / 1024 / 1024);
    t_.diagnostic(
      `${rows} rows in ${seconds.toFixed(1)} s (${Math.round(rows / seconds)} rows/s); ` +
        `retained heap +${mib(heapPeak - heapBefore)} MiB at most; peak RSS of the test process ` +
        `${Math.round(process.resourceUsage().maxRSS / 1024)} MiB (${storeName}${storeName === 'pglite' ? ', database in this process' : ''})`,
    );
    // Two batches in flight at most: what stays alive does not grow with the file (100,000 rows held: ~60 MiB).
    assert.ok(heapPeak - heapBefore < 16 * 1024 * 1024, `retained heap grew by ${mib(heapPeak - heapBefore)} MiB`);

    const again = await importUsers(t.ctx.db, readRecords(fs.createReadStream(file), 'csv'), { partnerId });
    assert.deepEqual(again, { rows, imported: 0, skipped: rows, rejected: 0 });
    assert.equal(await participantsOf(), rows);
  });

  test('rejected rows are reported with their line numbers and every reason; the rest import', async () => {
    const csv = [
      'email,phone,participant_code,status,identifier,first_name,last_name,password',
      'ok1@example.com,+14155550100,OKAY01,submitted,,Ada,Lovelace,',
      'not-an-email,12345,okay02,weird,short,,,tiny',
      ',,,,,,,',
      '"ok2@example.com",,,,,,,',
      'too,few',
      'ok2@example.com,,,,,,,',
      'ok3@example.com,,OKAY01,,,,,',
      'OK1@EXAMPLE.COM,,,,,,,',
    ].join('\n');
    const { totals, rejected } = await run(csv, 'csv');
    assert.deepEqual(totals, { rows: 8, imported: 2, skipped: 2, rejected: 4 });
    assert.deepEqual(byLine(rejected), [
      {
        line: 3,
        reasons: [
          'email: must be an email address',
          'phone_number: must be E.164, e.g. +14155550100',
          'participant_code: must be 6 characters A-Z or 0-9',
          'status: must be one of submitted, pending_approval, approved, rejected, locked, pending_unlock, pending_disable, disabled, divested, closed',
          'identifier: must be 36-255 characters A-Z, a-z or 0-9',
          'password: must be 8 to 256 characters',
        ],
      },
      { line: 4, reasons: ['email or participant_code is required'] },
      { line: 6, reasons: ['not as many values as the header has columns'] },
      { line: 8, reasons: ['participant_code: already in use'] },
    ]);
    const ada = await findParticipantByEmail(t.ctx.db, partnerId, 'ok1@example.com');
    assert.deepEqual(
      [ada?.participantCode, ada?.status, ada?.phoneNumber, ada?.firstName, ada?.lastName],
      ['OKAY01', 'submitted', '+14155550100', 'Ada', 'Lovelace'],
    );
    assert.equal((await findParticipantByEmail(t.ctx.db, partnerId, 'ok2@example.com'))?.status, 'approved');
  });

  test('JSON Lines: identifiers linked, passwords hashed, conflicts rejected whole, other partners untouched', async () => {
    const otherId = ((await findPartnerByCode(t.ctx.db, 'OTHER1')) as { id: string }).id;
    const lines = [
      { email: 'jl1@example.com', identifier: identifierOf('jsonl1'), password: 'correct horse battery' },
      { email: 'jl2@example.com', identifier: identifierOf('jsonl1') },
      { email: 'jl3@example.com', status: null, first_name: '' },
      { email: 'jl4@example.com', phone_number: 14155550100 },
      { email: 'jl5@example.com', nickname: 'x' },
    ].map((o) => JSON.stringify(o));
    const { totals, rejected } = await run(`${lines.join('\n')}\n[1]\n{broken\n\n`, 'jsonl');
    assert.deepEqual(totals, { rows: 7, imported: 2, skipped: 0, rejected: 5 });
    assert.deepEqual(byLine(rejected), [
      { line: 2, reasons: ['identifier: already in use'] },
      { line: 4, reasons: ['phone_number: must be a string'] },
      { line: 5, reasons: ['unknown field "nickname"'] },
      { line: 6, reasons: ['not a JSON object'] },
      { line: 7, reasons: ['not valid JSON'] },
    ]);
    const jl1 = await findParticipantByEmail(t.ctx.db, partnerId, 'jl1@example.com');
    assert.ok(jl1?.passwordHash && (await verifyPassword('correct horse battery', jl1.passwordHash)));
    const link = await t.ctx.db
      .selectFrom('identifiers')
      .select(['participant_id', 'status'])
      .where('identifier', '=', identifierOf('jsonl1'))
      .executeTakeFirst();
    assert.deepEqual(link, { participant_id: jl1.uuid, status: 'linked' });
    assert.equal(await findParticipantByEmail(t.ctx.db, partnerId, 'jl2@example.com'), undefined);

    // The same emails under another partner are other people; an identifier is unique system-wide.
    const other = await run(
      `${JSON.stringify({ email: 'jl1@example.com' })}\n${JSON.stringify({ email: 'x@example.com', identifier: identifierOf('jsonl1') })}`,
      'jsonl',
      otherId,
    );
    assert.deepEqual(other.totals, { rows: 2, imported: 1, skipped: 0, rejected: 1 });
    assert.equal(await participantsOf(otherId), 1);
  });

  test('progress: a redrawn bar with rate and ETA on a terminal, plain lines otherwise', () => {
    const totals = { rows: 500, imported: 480, skipped: 10, rejected: 10 };
    const written: string[] = [];
    const tty = new ImportProgress({ isTTY: true, columns: 200, write: (s) => written.push(s) }, 1000, () => 500, 0);
    tty.update(totals);
    tty.log('line 7: email: must be an email address');
    tty.finish(totals);
    const clearLine = '\r\x1b[K';
    assert.ok(written[0]?.startsWith(clearLine));
    assert.match(
      written[0]?.slice(clearLine.length) ?? '',
      /^\[#{12}-{12}\] {2}50% 500 rows · [\d,]+ rows\/s · ETA \d+:\d\d · 480 imported, 10 skipped, 10 rejected$/,
    );
    assert.equal(written[1], '\r\x1b[Kline 7: email: must be an email address\n');
    assert.equal(written.at(-1), '\n');

    const plain: string[] = [];
    const pipe = new ImportProgress({ isTTY: false, write: (s) => plain.push(s) }, 1000, () => 500, 0);
    pipe.update(totals);
    pipe.finish(totals);
    assert.equal(plain.length, 1);
    assert.match(
      plain[0] ?? '',
      /^import: 50% · 500 rows · [\d,]+ rows\/s · ETA \d+:\d\d · 480 imported, 10 skipped, 10 rejected\n$/,
    );
  });

  // The CLI shares the test's PostgreSQL database; the embedded store is one process's (a CLI beside this test would
  // need its own data directory, several seconds per command), and the engine under it is the one tested above.
  const cliSkip = storeName === 'pglite' ? 'the CLI runs against PostgreSQL (HANDOFF_TEST_DATABASE_URL)' : false;
  test('the CLI: `handoff user import` summary, --json, --rejects FILE, exit codes', { skip: cliSkip }, async () => {
    const env = cliEnvironment(t);
    const file = path.join(dir, 'cli.jsonl');
    fs.writeFileSync(file, `${JSON.stringify({ email: 'cli1@example.com' })}\n${JSON.stringify({ email: 'bad' })}\n`);
    const rejects = path.join(dir, 'rejects.jsonl');
    const first = await runCli(['user', 'import', '--partner', 'IMPORT', file, '--json', '--rejects', rejects], env);
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(
      { ...JSON.parse(first.stdout), seconds: 0, rows_per_second: 0 },
      { rows: 2, imported: 1, skipped: 0, rejected: 1, seconds: 0, rows_per_second: 0 },
    );
    assert.equal(
      fs.readFileSync(rejects, 'utf8'),
      `${JSON.stringify({ line: 2, reasons: ['email: must be an email address'] })}\n`,
    );

    const again = await runCli(['user', 'import', '--partner', 'IMPORT', file], env);
    assert.equal(again.code, 0);
    assert.match(again.stdout, /^IMPORT: 0 imported, 1 skipped \(already present\), 1 rejected, of 2 rows in [\d.]+ s/);
    assert.match(again.stderr, /^line 2: email: must be an email address$/m);

    const fatal = await runCli(['user', 'import', '--partner', 'IMPORT', path.join(dir, 'missing.csv')], env);
    assert.equal(fatal.code, 1);
    assert.match(fatal.stderr, /handoff: cannot read .*missing\.csv: ENOENT/);
    fs.writeFileSync(path.join(dir, 'typo.csv'), 'e-mail\nx@example.com\n');
    const header = await runCli(['user', 'import', '--partner', 'IMPORT', path.join(dir, 'typo.csv')], env);
    assert.equal(header.code, 1);
    assert.match(header.stderr, /handoff: unknown column "e-mail" in the header/);
  });
});

// A full garbage collection on demand, so the heap measured is what is retained, not what awaits collection.
v8.setFlagsFromString('--expose-gc');
const collectGarbage = vm.runInNewContext('gc') as () => void;
function retainedHeap(): number {
  collectGarbage();
  return process.memoryUsage().heapUsed;
}

/** Rejections arrive as found: read errors at once, conflicts when their batch is inserted. */
const byLine = (rows: RejectedRow[]) => [...rows].sort((a, b) => a.line - b.line);

/** Writes `count` generated lines after a header, honouring backpressure. */
async function writeLines(file: string, header: string, count: number, line: (i: number) => string) {
  const out = fs.createWriteStream(file);
  out.write(`${header}\n`);
  for (let i = 0; i < count; i++) {
    if (!out.write(`${line(i)}\n`)) await once(out, 'drain');
  }
  await new Promise<void>((resolve) => out.end(() => resolve()));
}

/** The CLI on the test's PostgreSQL database. */
function cliEnvironment(t: TestApp): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    HANDOFF_LOG_LEVEL: 'silent',
    DATABASE_URL: t.ctx.config.databaseUrl as string,
    HANDOFF_MASTER_KEY: t.ctx.masterKey.toString('base64'),
  };
}
