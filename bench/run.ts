import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { buildHandoff, repoRoot } from './lib/handoff.ts';
import { chooseGenerator } from './lib/load.ts';
import type { BenchSettings } from './lib/measure.ts';
import { killAllNow, stopAll } from './lib/processes.ts';
import {
  evaluate,
  type Paired,
  type Row,
  type RowId,
  renderChecks,
  renderPaired,
  renderScheduling,
  renderTable,
  type Soak,
} from './lib/report.ts';
import { benchDatabaseUrl, benchRedisUrl } from './lib/stores.ts';
import { benchEmbedded } from './suites/embedded.ts';
import { benchPostgres } from './suites/postgres.ts';
import { benchBareHttp, benchOidcProvider } from './suites/reference-servers.ts';

const usage = `npm run bench [-- options]
  --quick            smoke run (~1-2 min): short loads, no memory soak; figures are printed, targets not enforced
  --only ID,ID       run only these targets (ids: bare-http, oidc-provider, handoff-embedded, handoff-pg-redis,
                     handoff-login-token, handoff-login-with-token, bare-pg-insert, bare-pg-update,
                     handoff-pg-redis-x2, handoff-pg-redis-info-logs,
                     handoff-pg-redis-no-cache)
  --seconds N        measured seconds per target (default 15, quick 4)
  --connections N    concurrent connections (default 50)
  --profile          run Handoff under node --cpu-prof and print the top self-time functions
  --no-soak          skip the 2 × 60 s memory soak of a full run
  --soak-seconds N   length of each of the two soak loads (default 60)
  --paired-rounds N  rounds of the servers compared up together, loaded in turn (default 5, quick 2; 0 = none):
                     the embedded store with bare node:http, PostgreSQL + Redis with bare node:http and
                     node-oidc-provider, login tokens with the bare INSERT and UPDATE servers (each when all its
                     targets are measured); the ratios checked
  --paired-seconds N length of each load in those rounds (default 5, quick 2)
  --keep             keep the scratch directory (server logs, pools) and print its path
  --generator NAME   wrk (default; installed with apt-get when missing) or autocannon
env: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres), BENCH_REDIS_URL (redis://127.0.0.1:6379)`;

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    seconds: { type: 'string' },
    connections: { type: 'string' },
    profile: { type: 'boolean', default: false },
    'no-soak': { type: 'boolean', default: false },
    'soak-seconds': { type: 'string' },
    'paired-rounds': { type: 'string' },
    'paired-seconds': { type: 'string' },
    generator: { type: 'string' },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log(usage);
  process.exit(0);
}

const quick = values.quick;
const only = values.only ? new Set(values.only.split(',').map((s) => s.trim())) : undefined;
// The login-token routes belong to the partner API; a tree without it skips their targets (and says so).
const hasPartnerApi = existsSync(path.join(repoRoot, 'packages/server/src/routes/partner-api'));
const loginTokenRows = new Set<RowId>([
  'handoff-login-token',
  'handoff-login-with-token',
  'bare-pg-insert',
  'bare-pg-update',
]);
const wanted = (id: RowId) => (!only || only.has(id)) && (hasPartnerApi || !loginTokenRows.has(id));
const log = (line: string) => console.log(line);

// Never hang CI: past this, everything started is killed and the run fails.
const deadlineMs = (quick ? 5 : 40) * 60_000;
const watchdog = setTimeout(() => {
  console.error(`bench: still running after ${deadlineMs / 60_000} min; stopping everything`);
  killAllNow();
  process.exit(1);
}, deadlineMs);
watchdog.unref();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAllNow();
    process.exit(130);
  });
}
process.once('exit', killAllNow);

buildHandoff();
const workDir = mkdtempSync(path.join(os.tmpdir(), 'handoff-bench-'));
const resultsDir = path.join(repoRoot, 'bench/results');
const settings: BenchSettings = {
  generator: values.generator === 'autocannon' ? 'autocannon' : chooseGenerator(log),
  workDir,
  quick,
  warmupSeconds: quick ? 1 : 5,
  measureSeconds: Number(values.seconds ?? (quick ? 4 : 15)),
  connections: Number(values.connections ?? 50),
  rateGuess: 25_000,
  profileDir: values.profile
    ? path.join(resultsDir, 'profiles', new Date().toISOString().replace(/[:.]/g, '-'))
    : undefined,
  profiles: [],
  windows: [],
  log,
};

// The memory soak: two successive loads of this many seconds on each Handoff store (0 = none).
const soakSeconds = quick || values['no-soak'] ? 0 : Number(values['soak-seconds'] ?? 60);
const pairedRounds = Number(values['paired-rounds'] ?? (quick ? 2 : 5));
const pairedSeconds = Number(values['paired-seconds'] ?? (quick ? 2 : 5));
const rows: Row[] = [];
const paired: Paired = { rounds: pairedRounds, seconds: pairedSeconds, groups: [] };
const soaks: Soak[] = [];
const started = Date.now();
// Other work on the machine moves req/s and latency: the load average before and after says how quiet it was.
const loadBefore = os.loadavg()[0] as number;
let failed = false;
try {
  if (!hasPartnerApi) log('bench: no partner API in this tree (routes/partner-api/): login-token targets skipped');
  log(
    `bench: ${quick ? 'quick' : 'full'} run, ${settings.generator}, ${settings.connections} connections, ` +
      `${settings.measureSeconds} s per target after ${settings.warmupSeconds} s warm-up, ${os.cpus().length} cores, node ${process.version}`,
  );
  const step = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    const t0 = Date.now();
    log(`- ${name} …`);
    const result = await work();
    log(`  done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    return result;
  };
  if (wanted('bare-http')) rows.push(await step('bare node:http', () => benchBareHttp(settings)));
  if (wanted('oidc-provider')) rows.push(await step('node-oidc-provider', () => benchOidcProvider(settings)));
  if (wanted('handoff-embedded')) {
    const result = await step('Handoff embedded', () =>
      benchEmbedded(settings, {
        users: quick ? 1000 : 3000,
        soakSeconds,
        pairedRounds: wanted('bare-http') ? pairedRounds : 0,
        pairedSeconds,
      }),
    );
    rows.push(...result.rows);
    soaks.push(...result.soaks);
    paired.groups.push(...result.paired);
  }
  const postgresRows: RowId[] = [
    'handoff-pg-redis',
    'handoff-login-token',
    'handoff-login-with-token',
    'bare-pg-insert',
    'bare-pg-update',
    'handoff-pg-redis-x2',
    'handoff-pg-redis-info-logs',
    'handoff-pg-redis-no-cache',
  ];
  if (postgresRows.some(wanted)) {
    const result = await step('Handoff on PostgreSQL + Redis, login tokens, node:http + PostgreSQL', () =>
      benchPostgres(settings, {
        adminUrl: benchDatabaseUrl,
        redisUrl: benchRedisUrl,
        users: quick ? 1000 : 3000,
        soakSeconds,
        variants: !quick,
        pairedRounds,
        pairedSeconds,
        wanted,
      }),
    );
    rows.push(...result.rows);
    soaks.push(...result.soaks);
    paired.groups.push(...result.paired);
  }
} catch (error) {
  failed = true;
  console.error(`bench failed: ${(error as Error).stack ?? error}`);
} finally {
  await stopAll();
  if (values.keep) log(`scratch directory kept: ${workDir}`);
  else rmSync(workDir, { recursive: true, force: true });
}

const order: RowId[] = [
  'bare-http',
  'oidc-provider',
  'handoff-embedded',
  'handoff-pg-redis',
  'handoff-pg-redis-x2',
  'handoff-pg-redis-info-logs',
  'handoff-pg-redis-no-cache',
  'bare-pg-insert',
  'handoff-login-token',
  'bare-pg-update',
  'handoff-login-with-token',
];
rows.sort((a, b) => order.indexOf(a.id) - order.indexOf(b.id));
const checks = evaluate(rows, soaks, paired);
const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
if (rows.length > 0) {
  log('');
  log(
    `## Results (${command}; ${settings.generator}, ${settings.connections} connections, ${settings.measureSeconds} s each; ` +
      `load average ${loadBefore.toFixed(1)} before, ${(os.loadavg()[0] as number).toFixed(1)} after)`,
  );
  log('');
  log(renderTable(rows));
  log("\nScheduling of each server's main thread over its measured run (/proc/<pid>/task/<pid>/schedstat):\n");
  log(renderScheduling(rows));
  for (const soak of soaks) {
    log(
      `\nMemory soak, ${soak.id}: RSS ${soak.rssMb.map((mb) => `${Math.round(mb)} MB`).join(' → ')} after successive ${soak.seconds} s loads at ${soak.rps.map((r) => Math.round(r)).join(' / ')} req/s`,
    );
  }
  if (paired.groups.length > 0) {
    log(
      `\nPaired rounds: the servers compared up together, each loaded ${paired.seconds} s in turn, the order rotated every round\n`,
    );
    log(renderPaired(paired));
  }
  log('');
  log(renderChecks(checks, !quick));
}

mkdirSync(resultsDir, { recursive: true });
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const resultFile = path.join(resultsDir, `${stamp}-${quick ? 'quick' : 'full'}.json`);
writeFileSync(
  resultFile,
  `${JSON.stringify(
    {
      command,
      mode: quick ? 'quick' : 'full',
      at: new Date().toISOString(),
      seconds: (Date.now() - started) / 1000,
      machine: {
        cpus: os.cpus().length,
        cpu: os.cpus()[0]?.model,
        node: process.version,
        loadAverage: { before: loadBefore, after: os.loadavg()[0] },
        generator: settings.generator,
      },
      settings: {
        connections: settings.connections,
        warmupSeconds: settings.warmupSeconds,
        measureSeconds: settings.measureSeconds,
      },
      rows,
      soaks,
      paired,
      checks,
      profiles: settings.profiles,
      failed,
    },
    null,
    2,
  )}\n`,
);
log(`\nresults: ${path.relative(process.cwd(), resultFile)} (${((Date.now() - started) / 1000).toFixed(0)} s)`);

const missedTargets = !quick && checks.some((c) => !c.pass);
process.exit(failed ? 1 : missedTargets ? 2 : 0);
