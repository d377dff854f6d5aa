// A/B: two Handoff servers (two checkouts, or one checkout with two environments) up together on one store and
// loaded in turn, round after round, so both see the same machine. Prints each round and the median ratio B / A
// of req/s and of CPU per request. A change worth a few percent cannot be seen by comparing whole runs minutes apart
// on a shared machine (±20% between identical runs); loads seconds apart, many rounds, can.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { benchEnv, buildHandoff, createFixtures, type Env, repoRoot, serverRoot } from './lib/handoff.ts';
import { chooseGenerator } from './lib/load.ts';
import { alternate, type BenchSettings, type Contender, type LoadTarget, type PairedLoad } from './lib/measure.ts';
import { killAllNow, stopAll } from './lib/processes.ts';
import { median } from './lib/report.ts';
import { cyclingPool, SignedRequestSource } from './lib/requests.ts';
import { benchDatabaseUrl, benchRedisUrl } from './lib/stores.ts';
import { checkClientTokens, clientTokenTarget, startServer, stopServer } from './suites/handoff-servers.ts';
import { loginTokenRequests, openProductionStore, redemptionPool } from './suites/postgres.ts';

const usage = `npm run bench:ab -- [options]
  --a DIR            checkout of server A (default: this one, or BENCH_HANDOFF_ROOT)
  --b DIR            checkout of server B (default: this one)
  --env-a K=V        an environment setting for A only (repeatable); --env-b likewise for B
  --target NAME      client-token (default: POST /client_auth_token, PostgreSQL + Redis), client-token-embedded
                     (each server on its own embedded store), login-token, login-with-token (PostgreSQL)
  --own-store        each server on its own PostgreSQL database and Redis prefix (default: one store for both)
  --rounds N         rounds, each loading A and B once, the order alternating (default 10)
  --seconds N        length of each load (default 5)
  --connections N    concurrent connections (default 50)
env: BENCH_DATABASE_URL, BENCH_REDIS_URL as for npm run bench`;

const { values } = parseArgs({
  options: {
    a: { type: 'string' },
    b: { type: 'string' },
    'env-a': { type: 'string', multiple: true, default: [] },
    'env-b': { type: 'string', multiple: true, default: [] },
    target: { type: 'string', default: 'client-token' },
    'own-store': { type: 'boolean', default: false },
    rounds: { type: 'string', default: '10' },
    seconds: { type: 'string', default: '5' },
    connections: { type: 'string', default: '50' },
    help: { type: 'boolean', default: false },
  },
});
const targets = ['client-token', 'client-token-embedded', 'login-token', 'login-with-token'];
if (values.help || !targets.includes(values.target)) {
  console.log(usage);
  process.exit(values.help ? 0 : 1);
}

const parseEnv = (pairs: string[]): Env =>
  Object.fromEntries(
    pairs.map((pair) => {
      const at = pair.indexOf('=');
      if (at < 1) {
        console.error(`--env-a / --env-b take KEY=VALUE, not ${pair}\n\n${usage}`);
        process.exit(1);
      }
      return [pair.slice(0, at), pair.slice(at + 1)];
    }),
  );
const sides = [
  { id: 'A', root: path.resolve(values.a ?? serverRoot), env: parseEnv(values['env-a']) },
  { id: 'B', root: path.resolve(values.b ?? repoRoot), env: parseEnv(values['env-b']) },
] as const;
const rounds = Number(values.rounds);
const seconds = Number(values.seconds);
const connections = Number(values.connections);
for (const [name, value] of [
  ['--rounds', rounds],
  ['--seconds', seconds],
  ['--connections', connections],
] as const) {
  if (!Number.isInteger(value) || value < 1) {
    console.error(`${name} takes a whole number of at least 1\n\n${usage}`);
    process.exit(1);
  }
}

process.once('exit', killAllNow);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

const log = (line: string) => console.log(line);
const workDir = mkdtempSync(path.join(os.tmpdir(), 'handoff-ab-'));
const settings: BenchSettings = {
  generator: chooseGenerator(log),
  workDir,
  quick: false,
  warmupSeconds: 2,
  measureSeconds: seconds,
  connections,
  // Pools of distinct requests are sized from this guess at first (×2.5), then from the fastest rate seen.
  rateGuess: 8_000,
  profileDir: undefined,
  profiles: [],
  windows: [],
  log,
};

/** Starts both servers on the target's store(s) and returns the contenders; `cleanup` undoes everything. */
async function setUp(cleanup: Array<() => Promise<unknown>>): Promise<Contender<'A' | 'B'>[]> {
  for (const side of sides) buildHandoff(side.root);
  if (values.target === 'client-token-embedded') {
    const contenders: Contender<'A' | 'B'>[] = [];
    for (const side of sides) {
      // The embedded store admits one process: each server has its own data directory and fixtures.
      const env = { ...benchEnv, HANDOFF_DATA_DIR: path.join(workDir, `data-${side.id}`), ...side.env };
      const fixtures = await createFixtures(env, 3000, 0);
      const source = SignedRequestSource.forFixtures(fixtures);
      const server = await startServer(settings, `ab-${side.id}`, env, side.root);
      cleanup.push(() => stopServer(settings, server));
      await checkClientTokens(server, source, fixtures);
      contenders.push({ id: side.id, target: clientTokenTarget([server], source), rps: settings.rateGuess });
    }
    return contenders;
  }
  // One store for both unless --own-store: the servers then share the replay guard, so they share one request
  // source and no request goes to both.
  const open = async () => {
    const store = await openProductionStore(benchDatabaseUrl, benchRedisUrl, 3000);
    cleanup.push(() => store.close());
    return store;
  };
  const shared = values['own-store'] ? undefined : await open();
  const contenders: Contender<'A' | 'B'>[] = [];
  for (const side of sides) {
    const store = shared ?? (await open());
    const server = await startServer(settings, `ab-${side.id}`, { ...store.env, ...side.env }, side.root);
    cleanup.push(() => stopServer(settings, server));
    await checkClientTokens(server, store.source, store.fixtures);
    const base = { origins: [server.origin], pids: [server.process.pid] };
    let target: LoadTarget;
    if (values.target === 'login-token') {
      const requests = loginTokenRequests(store);
      target = { ...base, pool: () => cyclingPool(requests) };
    } else if (values.target === 'login-with-token') {
      const redeemPath = '/api/v2/user/login-with-token';
      target = {
        ...base,
        pool: (_i, s, rps) =>
          redemptionPool(store.database.url, store.fixtures, redeemPath, store.apiKey, Math.ceil(rps * s) + 500),
      };
    } else {
      target = clientTokenTarget([server], store.source);
    }
    contenders.push({ id: side.id, target, rps: values.target === 'login-token' ? 0 : settings.rateGuess });
  }
  return contenders;
}

const cleanup: Array<() => Promise<unknown>> = [];
let loads: Partial<Record<'A' | 'B', PairedLoad[]>> = {};
try {
  for (const side of sides) {
    const settingsText = Object.entries(side.env)
      .map(([k, v]) => ` ${k}=${v}`)
      .join('');
    log(`${side.id}: ${path.relative(process.cwd(), side.root) || '.'}${settingsText}`);
  }
  log(
    `target ${values.target}, ${rounds} rounds of ${seconds} s each, ${settings.connections} connections, ${os.cpus().length} cores`,
  );
  const contenders = await setUp(cleanup);
  loads = await alternate(settings, contenders, rounds, seconds);
} finally {
  for (const undo of cleanup.reverse()) await undo().catch((error) => log(`cleanup: ${error}`));
  await stopAll();
  rmSync(workDir, { recursive: true, force: true });
}

const a = loads.A ?? [];
const b = loads.B ?? [];
const rows = a.map((x, i) => ({ a: x, b: b[i] as PairedLoad }));
const rpsRatios = rows.map((r) => r.b.rps / r.a.rps);
const cpuRatios = rows.map((r) => r.b.cpuMicrosPerRequest / r.a.cpuMicrosPerRequest);
const f = (n: number, digits = 0) => n.toFixed(digits);
log('');
log('| round | A req/s | B req/s | B / A | A µs/req | B µs/req | B / A | A p99 ms | B p99 ms |');
log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
rows.forEach((r, i) => {
  log(
    `| ${i + 1} | ${f(r.a.rps)} | ${f(r.b.rps)} | ${f(rpsRatios[i] as number, 3)} | ${f(r.a.cpuMicrosPerRequest)} | ` +
      `${f(r.b.cpuMicrosPerRequest)} | ${f(cpuRatios[i] as number, 3)} | ${f(r.a.p99Ms, 1)} | ${f(r.b.p99Ms, 1)} |`,
  );
});
const spread = (xs: number[]) => `median ${f(median(xs), 3)} (${f(Math.min(...xs), 3)}–${f(Math.max(...xs), 3)})`;
log('');
log(`req/s B / A: ${spread(rpsRatios)}; B wins ${rpsRatios.filter((x) => x > 1).length} of ${rows.length} rounds`);
log(`CPU µs per request B / A: ${spread(cpuRatios)}`);

const resultsDir = path.join(repoRoot, 'bench/results');
mkdirSync(resultsDir, { recursive: true });
const file = path.join(resultsDir, `${new Date().toISOString().replace(/[:.]/g, '-')}-ab.json`);
writeFileSync(
  file,
  `${JSON.stringify({ argv: process.argv.slice(2), sides, target: values.target, rounds: rows }, null, 2)}\n`,
);
log(`results: ${path.relative(process.cwd(), file)}`);
