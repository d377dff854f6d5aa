import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { type Env, type Fixtures, type HandoffServer, startHandoff } from '../lib/handoff.ts';
import { type BenchSettings, type LoadTarget, loadTogether } from '../lib/measure.ts';
import { rssBytes } from '../lib/processes.ts';
import { formatProfile, mainThreadProfile, summariseProfile } from '../lib/profile.ts';
import type { SignedRequestSource } from '../lib/requests.ts';
import { checkClientAuthToken } from '../lib/verify.ts';

const safeName = (name: string) => name.replace(/[^A-Za-z0-9]+/g, '-');

/** Starts `handoff serve`, under the CPU profiler when the run asked for profiles. */
export function startServer(settings: BenchSettings, name: string, env: Env, root?: string): Promise<HandoffServer> {
  const profileDir = settings.profileDir ? path.join(settings.profileDir, safeName(name)) : undefined;
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  return startHandoff(name, env, {
    logFile: path.join(settings.workDir, `${safeName(name)}.log`),
    cpuProfileDir: profileDir,
    ...(root === undefined ? {} : { root }),
  });
}

/** Stops a server gracefully (SIGTERM: the profile is written on exit) and summarises its profile if any. */
export async function stopServer(settings: BenchSettings, server: HandoffServer): Promise<void> {
  await server.process.stop();
  if (!settings.profileDir) return;
  const file = mainThreadProfile(path.join(settings.profileDir, safeName(server.name)));
  if (!file) return;
  for (const window of settings.windows.filter((w) => w.pids.includes(server.process.pid))) {
    const text = `${formatProfile(`${server.name}, ${window.label}`, summariseProfile(file, 20, window))}\n\nprofile: ${path.relative(process.cwd(), file)}`;
    settings.profiles.push(text);
    settings.log(text);
  }
}

/** POST /client_auth_token on each instance, every request signed and never sent before. */
export function clientTokenTarget(servers: readonly HandoffServer[], source: SignedRequestSource): LoadTarget {
  return {
    origins: servers.map((s) => s.origin),
    pids: servers.map((s) => s.process.pid),
    // Valid for the run plus time to write the pool and start the generator.
    pool: (_instance, seconds, rps) => source.clientAuthTokenPool(Math.ceil(rps * seconds) + 500, seconds + 30),
  };
}

/** One request of the kind the load sends: 201, a JWT that verifies, and its replay refused. */
export async function checkClientTokens(server: HandoffServer, source: SignedRequestSource, fixtures: Fixtures) {
  const request = source.clientAuthTokenPool(1, 30).at(0);
  const body = JSON.parse(request.body as string) as { participant_code: string; permissions: string[] };
  await checkClientAuthToken(server.origin, request, {
    platformCode: fixtures.partner.platform_code,
    participantCode: body.participant_code,
    permissions: body.permissions,
  });
}

/**
 * Memory under sustained load: `runs` successive loads of `seconds` (in segments, each with freshly signed requests),
 * RSS read after each. A bounded process reaches a plateau in the first run and stays there in the next.
 */
export async function soak(
  settings: BenchSettings,
  label: string,
  target: LoadTarget,
  rps: number,
  seconds: number,
  runs = 2,
): Promise<{ seconds: number; rssMb: number[]; rps: number[] }> {
  const segment = 15;
  const rssMb: number[] = [];
  const rates: number[] = [];
  // Pools of distinct requests are sized from the fastest rate seen so far, with room: a server measured on a
  // machine that was busy at that moment may run much faster in the soak, and a pool that runs out fails the run.
  let fastest = rps;
  for (let run = 1; run <= runs; run++) {
    let requests = 0;
    let elapsed = 0;
    for (let done = 0; done < seconds; done += segment) {
      const result = await loadTogether(
        settings,
        `${label}-soak${run}`,
        target,
        Math.min(segment, seconds - done),
        fastest * 2.5,
      );
      fastest = Math.max(fastest, result.rps / target.origins.length);
      requests += result.requests;
      elapsed += result.seconds;
    }
    rates.push(requests / elapsed);
    rssMb.push(target.pids.reduce((n, pid) => n + rssBytes(pid), 0) / 2 ** 20);
    const parts = await Promise.all(target.origins.map(memoryParts));
    settings.log(
      `  ${label}: ${Math.round(requests / elapsed)} req/s over ${seconds} s, RSS ${Math.round(rssMb.at(-1) as number)} MB (${parts.join('; ')})`,
    );
  }
  return { seconds, rssMb, rps: rates };
}

/** Where an instance's memory is, from its own /metrics: V8's heap (used / reserved) and memory outside it. */
async function memoryParts(origin: string): Promise<string> {
  const text = await (await fetch(`${origin}/metrics`)).text();
  const mb = (name: string) => {
    const value = new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1];
    return value === undefined ? '?' : Math.round(Number(value) / 2 ** 20);
  };
  return `heap ${mb('nodejs_heap_size_used_bytes')} / ${mb('nodejs_heap_size_total_bytes')} MB, external ${mb('nodejs_external_memory_bytes')} MB`;
}
