/**
 * Bulk import at scale: generates a CSV of N users (default 1,000,000), imports it with the engine behind
 * `handoff user import` into a fresh database, imports it again (the idempotent re-run), and prints rows/s and
 * peak memory. Run: node --import tsx bench/import.ts [--rows N] [--store postgres|pglite] [--json]
 * env: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres; a fresh database is created in it)
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { createPartnerAccount } from '../packages/server/src/admin/accounts.ts';
import { type ImportTotals, importUsers } from '../packages/server/src/admin/import/import-users.ts';
import { ImportProgress } from '../packages/server/src/admin/import/progress.ts';
import { readRecords } from '../packages/server/src/admin/import/records.ts';
import { migrate, openDatabase } from '../packages/server/src/store/database.ts';
import { findPartnerByCode } from '../packages/server/src/store/partners.ts';
import { benchDatabaseUrl } from './lib/stores.ts';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    store: { type: 'string', default: 'postgres' },
    json: { type: 'boolean', default: false },
  },
});
const rows = Number(values.rows);
if (!Number.isInteger(rows) || rows < 1) throw new Error('--rows must be a positive whole number');
if (values.store !== 'postgres' && values.store !== 'pglite') throw new Error('--store must be postgres or pglite');

/**
 * The generated population: every 10th user has a partner identifier, every 10,000th a password (scrypt is slow by
 * design: a million would take hours), and every 1,000th row is malformed so the reject path is exercised.
 */
function row(i: number): string {
  if (i % 1000 === 999) return `broken-${i},,,,,`;
  const identifier = i % 10 === 0 ? `bench${String(i).padStart(10, '0')}`.padEnd(40, 'x') : '';
  const password = i % 10_000 === 0 ? `password-${i}` : '';
  return `user${i}@bench.example,+1${String(2_000_000_000 + i)},approved,${identifier},${password},Name${i}`;
}

async function generate(file: string): Promise<number> {
  const out = fs.createWriteStream(file);
  out.write('email,phone_number,status,identifier,password,first_name\n');
  for (let i = 0; i < rows; i++) if (!out.write(`${row(i)}\n`)) await once(out, 'drain');
  out.end();
  await once(out, 'close');
  return fs.statSync(file).size;
}

async function freshDatabase(): Promise<{ url: string | undefined; drop(): Promise<void> }> {
  if (values.store === 'pglite') return { url: undefined, drop: async () => {} };
  const admin = benchDatabaseUrl;
  const name = `handoff_bench_import_${randomBytes(4).toString('hex')}`;
  const run = async (statement: string) => {
    const client = new pg.Client({ connectionString: admin });
    await client.connect();
    await client.query(statement);
    await client.end();
  };
  await run(`CREATE DATABASE ${name}`);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => run(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

const mib = (bytes: number) => Math.round(bytes / 1024 / 1024);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'handoff-bench-import-'));
const file = path.join(dir, 'users.csv');
const database = await freshDatabase();
try {
  const generatedAt = performance.now();
  const size = await generate(file);
  console.error(
    `generated ${rows.toLocaleString('en-US')} rows (${mib(size)} MiB CSV) in ${((performance.now() - generatedAt) / 1000).toFixed(1)} s`,
  );
  const handle = await openDatabase({ databaseUrl: database.url });
  try {
    await migrate(handle.db);
    await createPartnerAccount(handle.db, randomBytes(32), { name: 'Bench', platformCode: 'BENCH1' });
    const partner = await findPartnerByCode(handle.db, 'BENCH1');
    if (!partner) throw new Error('partner not created');

    const runs: Array<{ pass: string; seconds: number; rowsPerSecond: number; totals: ImportTotals }> = [];
    for (const pass of ['first', 'again (idempotent)']) {
      const input = fs.createReadStream(file, { highWaterMark: 256 * 1024 });
      const progress = new ImportProgress(process.stderr, size, () => input.bytesRead);
      const totals = await importUsers(handle.db, readRecords(input, 'csv'), {
        partnerId: partner.id,
        onBatch: (t) => progress.update(t),
      });
      progress.finish(totals);
      const seconds = progress.elapsedSeconds;
      runs.push({ pass, seconds, rowsPerSecond: Math.round(totals.rows / seconds), totals });
    }
    const usage = process.resourceUsage();
    const result = {
      rows,
      store: values.store,
      csvMiB: mib(size),
      runs,
      peakRssMiB: Math.round(usage.maxRSS / 1024),
      node: process.version,
      cpus: os.cpus().length,
    };
    if (values.json) console.log(JSON.stringify(result));
    else {
      console.log(`bulk import of ${rows.toLocaleString('en-US')} rows (${mib(size)} MiB CSV) into ${values.store}`);
      for (const r of runs) {
        const t = r.totals;
        console.log(
          `  ${r.pass.padEnd(19)} ${r.seconds.toFixed(1).padStart(6)} s  ${r.rowsPerSecond.toLocaleString('en-US').padStart(7)} rows/s  ` +
            `imported ${t.imported}, skipped ${t.skipped}, rejected ${t.rejected}`,
        );
      }
      console.log(
        `  peak RSS ${result.peakRssMiB} MiB (this process: parser and import engine${values.store === 'pglite' ? ' and the database' : ''})`,
      );
    }
  } finally {
    await handle.close();
  }
} finally {
  await database.drop();
  fs.rmSync(dir, { recursive: true, force: true });
}
