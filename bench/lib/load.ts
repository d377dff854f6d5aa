import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startProcess } from './processes.ts';
import { type RequestPool, writePoolFile } from './requests.ts';

export type Generator = 'wrk' | 'autocannon';

export interface LoadOptions {
  /** Where to send: `http://127.0.0.1:PORT`. */
  origin: string;
  pool: RequestPool;
  connections: number;
  durationSeconds: number;
  /** Scratch directory for the pool file and script. */
  workDir: string;
  label: string;
}

export interface LoadResult {
  requests: number;
  seconds: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Answers outside 2xx/3xx: any is a failed run (a wrong answer, a replay, a rate limit). */
  non2xx: number;
  socketErrors: number;
  /** A pool of distinct requests ran out and was repeated: the run is not valid. */
  exhausted: boolean;
}

/** wrk if installed (or installable from Debian's packages), else autocannon. */
export function chooseGenerator(log: (line: string) => void): Generator {
  const has = () => spawnSync('wrk', ['-v'], { stdio: 'ignore' }).error === undefined;
  if (has()) return 'wrk';
  log('wrk is not installed; trying apt-get install -y wrk');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () =>
    spawnSync('apt-get', ['install', '-y', '-qq', 'wrk'], { stdio: 'ignore', env, timeout: 180_000 });
  let result = install();
  if (result.status !== 0 && !result.error) {
    // A fresh machine may have no package lists yet.
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'ignore', env, timeout: 180_000 });
    result = install();
  }
  if (has()) return 'wrk';
  log('wrk could not be installed; falling back to autocannon (slower: it shares the CPU in Node)');
  return 'autocannon';
}

/** A load run whose requests are ready (pool files written), so several can start at the same moment. */
export interface PreparedLoad {
  run(): Promise<LoadResult>;
}

export function prepareLoad(generator: Generator, options: LoadOptions): PreparedLoad {
  return generator === 'wrk' ? prepareWrk(options) : { run: () => runAutocannon(options) };
}

/**
 * The wrk script: the pool is read once, `request()` hands requests out in order (wrapping only for pools that
 * may repeat), `done()` prints one JSON line the bench parses.
 */
const wrkScript = `
local pool_path = os.getenv("BENCH_POOL")
local may_cycle = os.getenv("BENCH_CYCLE") == "1"
local requests = {}
local count = 0
local index = 0
exhausted = 0

function init(args)
  local file = assert(io.open(pool_path, "rb"))
  local data = file:read("*a")
  file:close()
  for request in data:gmatch("([^%z]+)%z") do
    count = count + 1
    requests[count] = request
  end
  data = nil
  collectgarbage()
end

function request()
  index = index + 1
  if index > count then
    index = 1
    if not may_cycle then exhausted = 1 end
  end
  return requests[index]
end

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

function done(summary, latency, requests)
  local exhausted_any = 0
  for _, thread in ipairs(threads) do
    if thread:get("exhausted") == 1 then exhausted_any = 1 end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"status":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d,"p50_us":%d,"p99_us":%d,"exhausted":%d}\\n',
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99), exhausted_any))
end
`;

function prepareWrk(options: LoadOptions): PreparedLoad {
  const host = new URL(options.origin).host;
  const poolFile = path.join(options.workDir, `${options.label}.pool`);
  const scriptFile = path.join(options.workDir, 'pool.lua');
  writePoolFile(options.pool, host, poolFile);
  writeFileSync(scriptFile, wrkScript);
  return {
    run: async () => {
      try {
        return await runWrk(options, poolFile, scriptFile);
      } finally {
        rmSync(poolFile, { force: true });
      }
    },
  };
}

async function runWrk(options: LoadOptions, poolFile: string, scriptFile: string): Promise<LoadResult> {
  const wrk = startProcess(
    `wrk ${options.label}`,
    'wrk',
    [
      '-t1',
      `-c${options.connections}`,
      `-d${options.durationSeconds}s`,
      '--timeout',
      '5s',
      '-s',
      scriptFile,
      `${options.origin}/`,
    ],
    { env: { BENCH_POOL: poolFile, BENCH_CYCLE: options.pool.cycle ? '1' : '0' }, stdout: 'capture' },
  );
  const killer = setTimeout(() => void wrk.stop(1000), (options.durationSeconds + 60) * 1000);
  const code = await wrk.exited;
  clearTimeout(killer);
  const stdout = wrk.stdout();
  const line = /BENCH_RESULT (\{.*\})/.exec(stdout)?.[1];
  if (code !== 0 || !line) throw new Error(`wrk failed (exit ${code}):\n${stdout}\n${wrk.output()}`);
  const r = JSON.parse(line) as Record<string, number>;
  const seconds = (r.duration_us as number) / 1e6;
  return {
    requests: r.requests as number,
    seconds,
    rps: (r.requests as number) / seconds,
    p50Ms: (r.p50_us as number) / 1000,
    p99Ms: (r.p99_us as number) / 1000,
    non2xx: r.status as number,
    socketErrors: (r.connect as number) + (r.read as number) + (r.write as number) + (r.timeout as number),
    exhausted: r.exhausted === 1,
  };
}

async function runAutocannon(options: LoadOptions): Promise<LoadResult> {
  const { default: autocannon } = await import('autocannon');
  let next = 0;
  let exhausted = false;
  const take = () => {
    if (next >= options.pool.count) {
      next = 0;
      if (!options.pool.cycle) exhausted = true;
    }
    return options.pool.at(next++);
  };
  const result = await autocannon({
    url: options.origin,
    connections: options.connections,
    duration: options.durationSeconds,
    timeout: 5,
    requests: [
      {
        setupRequest: (request: Record<string, unknown>) => {
          const spec = take();
          return {
            ...request,
            method: spec.method,
            path: spec.path,
            headers: spec.headers,
            ...(spec.body === undefined ? {} : { body: spec.body }),
          };
        },
      },
    ],
  });
  return {
    requests: result.requests.total,
    seconds: result.duration,
    rps: result.requests.total / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    socketErrors: result.errors + result.timeouts,
    exhausted,
  };
}
