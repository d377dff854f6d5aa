import { type Generator, type LoadResult, prepareLoad } from './load.ts';
import { cpuMicros, cpuMicrosByThread, mainThreadSchedule, rssBytes } from './processes.ts';
import { monotonicMicros, type TimeWindow } from './profile.ts';
import type { RowId } from './report.ts';
import type { RequestPool } from './requests.ts';

export interface BenchSettings {
  generator: Generator;
  workDir: string;
  quick: boolean;
  warmupSeconds: number;
  measureSeconds: number;
  connections: number;
  /** Requests per second per instance to size warm-up pools of distinct requests before anything is measured. */
  rateGuess: number;
  /** With --profile: where `node --cpu-prof` writes, and the summaries collected for the report. */
  profileDir: string | undefined;
  profiles: string[];
  /** The measured part of each run, to summarise profiles on it alone. */
  windows: Array<{ label: string; pids: readonly number[] } & TimeWindow>;
  log(line: string): void;
}

export interface LoadTarget {
  /** One entry per instance; the connections are split evenly between them, one load generator each. */
  origins: readonly string[];
  /** The processes whose CPU and memory count as the server's. */
  pids: readonly number[];
  /** The requests for one instance's run of `seconds` at up to `rps` per second. */
  pool(instance: number, seconds: number, rps: number): RequestPool | Promise<RequestPool>;
}

export interface Measurement {
  requests: number;
  seconds: number;
  rps: number;
  p50Ms: number;
  /** With several instances: the worst instance's p99. */
  p99Ms: number;
  cpuMicrosPerRequest: number;
  /** The same CPU split by kind of thread (main, libuv pool, V8 workers…), µs per request. */
  cpuByThread: Record<string, number>;
  /**
   * The event loops' time over the run (the instances' average): share of wall time on a CPU, share waiting on the
   * run queue for one, and preemptions per request.
   */
  eventLoop: { running: number; waiting: number; preemptionsPerRequest: number };
  rssMb: number;
}

/** Runs one load on every instance at once and checks that every answer was a success. */
export async function loadTogether(
  settings: BenchSettings,
  label: string,
  target: LoadTarget,
  seconds: number,
  rpsPerInstance: number,
  /** Called once every pool is written, just before the generators start: the load's own window begins here. */
  onStart?: () => void,
): Promise<LoadResult> {
  const count = target.origins.length;
  const prepared = [];
  for (let i = 0; i < count; i++) {
    prepared.push(
      prepareLoad(settings.generator, {
        origin: target.origins[i] as string,
        pool: await target.pool(i, seconds, rpsPerInstance),
        connections: Math.max(1, Math.round(settings.connections / count)),
        durationSeconds: seconds,
        workDir: settings.workDir,
        label: `${label}-${i}`,
      }),
    );
  }
  onStart?.();
  const results = await Promise.all(prepared.map((p) => p.run()));
  const problems: string[] = [];
  for (const [i, r] of results.entries()) {
    if (r.non2xx > 0) problems.push(`${r.non2xx} answers outside 2xx`);
    if (r.socketErrors > 0) problems.push(`${r.socketErrors} socket errors or timeouts`);
    if (r.exhausted) problems.push(`instance ${i}: the pool of distinct requests ran out (it was sized too small)`);
  }
  if (problems.length > 0) throw new Error(`${label}: ${problems.join('; ')}`);
  return {
    requests: results.reduce((n, r) => n + r.requests, 0),
    seconds: Math.max(...results.map((r) => r.seconds)),
    rps: results.reduce((n, r) => n + r.rps, 0),
    p50Ms: Math.max(...results.map((r) => r.p50Ms)),
    p99Ms: Math.max(...results.map((r) => r.p99Ms)),
    non2xx: 0,
    socketErrors: 0,
    exhausted: false,
  };
}

const percent = (share: number) => `${Math.round(share * 100)}%`;

/**
 * Warm-up (JIT, pools, caches), then the measured run: throughput and latency from the load generator, CPU time
 * per request and memory from /proc for the server processes only.
 */
export async function measure(settings: BenchSettings, label: string, target: LoadTarget): Promise<Measurement> {
  const warm = await loadTogether(settings, `${label}-warmup`, target, settings.warmupSeconds, settings.rateGuess);
  // Distinct-request pools are sized from the warm-up rate, with room for a server that was still cold during a
  // short warm-up (a pool that runs out fails the run): never below the guess, which a fast machine can pass once
  // warm (the quick run's 1 s warm-up measured 2,000 req/s for a server that then ran 10,000).
  const expected = Math.max(settings.rateGuess, (warm.rps / target.origins.length) * 4);
  // Read when the generators start, not before the pools are written (seconds for a large pool).
  let threadsBefore: Map<string, number>[] = [];
  let scheduleBefore: ReturnType<typeof mainThreadSchedule>[] = [];
  let cpuBefore = 0;
  let fromUs = 0;
  const result = await loadTogether(settings, label, target, settings.measureSeconds, expected, () => {
    threadsBefore = target.pids.map(cpuMicrosByThread);
    scheduleBefore = target.pids.map(mainThreadSchedule);
    cpuBefore = target.pids.reduce((n, pid) => n + cpuMicros(pid), 0);
    fromUs = monotonicMicros();
  });
  const toUs = monotonicMicros();
  settings.windows.push({ label, pids: target.pids, fromUs, toUs });
  const eventLoop = { running: 0, waiting: 0, preemptionsPerRequest: 0 };
  // Over the generator's own measured duration: wrk first reads its pool (seconds for a large one) while the
  // server waits, and the server does nothing else meanwhile. Averaged over the instances.
  const wallNs = result.seconds * 1e9 * target.pids.length;
  target.pids.forEach((pid, i) => {
    const before = scheduleBefore[i] as ReturnType<typeof mainThreadSchedule>;
    const after = mainThreadSchedule(pid);
    eventLoop.running += (after.runNs - before.runNs) / wallNs;
    eventLoop.waiting += (after.waitNs - before.waitNs) / wallNs;
    eventLoop.preemptionsPerRequest += (after.preempted - before.preempted) / result.requests;
  });
  const cpuAfter = target.pids.reduce((n, pid) => n + cpuMicros(pid), 0);
  const cpuByThread: Record<string, number> = {};
  target.pids.forEach((pid, i) => {
    for (const [kind, micros] of cpuMicrosByThread(pid)) {
      const delta = micros - ((threadsBefore[i] as Map<string, number>).get(kind) ?? 0);
      cpuByThread[kind] = (cpuByThread[kind] ?? 0) + delta / result.requests;
    }
  });
  const perRequest = (cpuAfter - cpuBefore) / result.requests;
  const split = Object.entries(cpuByThread)
    .filter(([, us]) => us >= 1)
    .sort((a, b) => b[1] - a[1])
    .map(([kind, us]) => `${kind} ${Math.round(us)}`)
    .join(', ');
  settings.log(
    `  ${label}: ${Math.round(result.rps)} req/s, p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms, ` +
      `CPU ${Math.round(perRequest)} µs/req (${split}); event loop on a CPU ${percent(eventLoop.running)}, ` +
      `waiting for one ${percent(eventLoop.waiting)}, preempted ${eventLoop.preemptionsPerRequest.toFixed(2)}×/req`,
  );
  return {
    requests: result.requests,
    seconds: result.seconds,
    rps: result.rps,
    p50Ms: result.p50Ms,
    p99Ms: result.p99Ms,
    cpuMicrosPerRequest: perRequest,
    cpuByThread,
    eventLoop,
    rssMb: target.pids.reduce((n, pid) => n + rssBytes(pid), 0) / 2 ** 20,
  };
}

export interface Contender<Id extends string = RowId> {
  id: Id;
  target: LoadTarget;
  /** Requests per second it reached on its own, to size pools of distinct requests. */
  rps: number;
}

/** One server's load within a paired round. */
export interface PairedLoad {
  rps: number;
  p99Ms: number;
  /** The server processes' CPU time over the load, µs per request. */
  cpuMicrosPerRequest: number;
}

/**
 * Servers up together, loaded in turn: `rounds` rounds of `seconds` each, the order rotated every round. On shared
 * cores the machine's speed drifts over minutes; loads seconds apart see the same machine, so the ratio within a
 * round is steadier than between targets measured minutes apart, and the median of the rounds resists one
 * disturbed round. Returns each server's loads, round by round.
 */
export async function alternate<Id extends string>(
  settings: BenchSettings,
  contenders: readonly Contender<Id>[],
  rounds: number,
  seconds: number,
): Promise<Partial<Record<Id, PairedLoad[]>>> {
  const loads: Partial<Record<Id, PairedLoad[]>> = {};
  // Pools of distinct requests sized from the fastest rate seen, with room (the machine's speed drifts).
  const fastest = new Map(contenders.map((c) => [c.id, c.rps]));
  const cpu = (c: Contender<Id>) => c.target.pids.reduce((n, pid) => n + cpuMicros(pid), 0);
  const load = async (c: Contender<Id>, label: string, loadSeconds: number): Promise<PairedLoad> => {
    let before = 0;
    const rate = (fastest.get(c.id) ?? 0) * 2.5;
    const result = await loadTogether(settings, label, c.target, loadSeconds, rate, () => {
      before = cpu(c);
    });
    fastest.set(c.id, Math.max(fastest.get(c.id) ?? 0, result.rps / c.target.origins.length));
    return { rps: result.rps, p99Ms: result.p99Ms, cpuMicrosPerRequest: (cpu(c) - before) / result.requests };
  };
  for (const c of contenders) {
    // Warm whatever ran before: JIT, connections, caches.
    await load(c, `${c.id}-paired-warmup`, Math.min(2, seconds));
    loads[c.id] = [];
  }
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < contenders.length; i++) {
      const c = contenders[(round + i) % contenders.length] as Contender<Id>;
      loads[c.id]?.push(await load(c, `${c.id}-paired${round}`, seconds));
    }
    const line = contenders.map((c) => {
      const last = loads[c.id]?.at(-1) as PairedLoad;
      return `${c.id} ${Math.round(last.rps)} req/s p99 ${last.p99Ms.toFixed(1)} ms ${Math.round(last.cpuMicrosPerRequest)} µs`;
    });
    settings.log(`  round ${round + 1}: ${line.join(', ')}`);
  }
  return loads;
}
