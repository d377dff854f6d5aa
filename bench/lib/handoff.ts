import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { launchEnv } from '../../packages/server/bin/launch-env.mjs';
import { freePort, type Started, startProcess, waitForHttp } from './processes.ts';

export const repoRoot = path.resolve(import.meta.dirname, '../..');
// BENCH_HANDOFF_ROOT: another checkout's server to measure with this bench (before/after comparisons).
export const serverRoot = path.resolve(process.env.BENCH_HANDOFF_ROOT ?? repoRoot);
const cliOf = (root: string) => path.join(root, 'packages/server/bin/handoff.mjs');
const cliPath = cliOf(serverRoot);
const seedPath = path.join(serverRoot, 'bench/fixtures/seed-users.ts');

export type Env = Record<string, string | undefined>;

/**
 * Builds the server as `npm start` runs it (dist/handoff.mjs, which the `handoff` binary prefers when fresh), so
 * the bench measures the build and not the sources through tsx. A checkout without the build script is run as is.
 */
export function buildHandoff(root = serverRoot): void {
  const script = path.join(root, 'scripts/build.mjs');
  if (!existsSync(script)) return;
  const result = spawnSync(process.execPath, [script], { cwd: root, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`building the server failed: ${result.stderr || result.error}`);
}

/**
 * What every Handoff target shares: warn-level logs (per-request info lines are measured as a target of their own)
 * and rate limits far above what the bench sends, so the limiters run but never answer 429.
 */
export const benchEnv: Env = {
  HOST: '127.0.0.1',
  HANDOFF_LOG_LEVEL: 'warn',
  HANDOFF_RATE_LIMIT_PER_MINUTE: '10000000',
  HANDOFF_PARTNER_RATE_LIMIT_PER_MINUTE: '10000000',
  HANDOFF_IP_RATE_LIMIT_PER_MINUTE: '10000000',
};

/** Runs a short-lived process to completion and returns its stdout; a failure carries its output. */
async function runToCompletion(name: string, args: readonly string[], env: Env, timeoutMs: number): Promise<string> {
  const child = startProcess(name, process.execPath, args, { env, stdout: 'capture', cwd: repoRoot });
  const timer = setTimeout(() => void child.stop(1000), timeoutMs);
  const code = await child.exited;
  clearTimeout(timer);
  if (code !== 0) throw new Error(`${name} failed (exit ${code}):\n${child.output()}`);
  return child.stdout();
}

/** `handoff <args> --json` through the real CLI binary. */
export async function handoffCli<T>(args: readonly string[], env: Env): Promise<T> {
  const stdout = await runToCompletion(
    `handoff ${args.slice(0, 2).join(' ')}`,
    [cliPath, ...args, '--json'],
    env,
    60_000,
  );
  return JSON.parse(stdout) as T;
}

export interface PartnerAccount {
  platform_code: string;
  hmac: { api_key: string; secret: string; passphrase: string };
  api_key: string;
}

export interface SeededUser {
  uuid: string;
  participantCode: string;
  identifier?: string;
}

export interface Fixtures {
  partner: PartnerAccount;
  partnerId: string;
  users: SeededUser[];
}

/**
 * A partner (through the CLI, as an operator would), one user through the CLI, and `userCount` more through the
 * store (bench/fixtures/seed-users.ts); the first `identified` seeded users get a linked identifier.
 */
export async function createFixtures(env: Env, userCount: number, identified: number): Promise<Fixtures> {
  const partner = await handoffCli<PartnerAccount>(['partner', 'create', '--name', 'Bench Platform'], env);
  const first = await handoffCli<{ uuid: string; participant_code: string }>(
    ['user', 'create', '--partner', partner.platform_code, '--email', 'first-user@bench.example'],
    env,
  );
  const seeded = JSON.parse(
    await runToCompletion(
      'seed users',
      ['--import', 'tsx', seedPath, partner.platform_code, String(userCount), String(identified)],
      env,
      120_000,
    ),
  ) as { partnerId: string; users: SeededUser[] };
  return {
    partner,
    partnerId: seeded.partnerId,
    users: [...seeded.users, { uuid: first.uuid, participantCode: first.participant_code }],
  };
}

export interface HandoffServer {
  name: string;
  origin: string;
  process: Started;
}

/**
 * `handoff serve` on a free loopback port, in the environment `npm start` gives it (launch-env.mjs), its log lines
 * to `logFile`; with `cpuProfileDir`, under `--cpu-prof`; the server of the checkout at `root` (default:
 * `BENCH_HANDOFF_ROOT`, else this one).
 */
export async function startHandoff(
  name: string,
  env: Env,
  options: { logFile: string; cpuProfileDir?: string | undefined; root?: string },
): Promise<HandoffServer> {
  const port = await freePort();
  const nodeArgs = options.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`] : [];
  const cli = options.root === undefined ? cliPath : cliOf(options.root);
  const server = startProcess(name, process.execPath, [...nodeArgs, cli, 'serve'], {
    env: launchEnv({ ...process.env, ...env, PORT: String(port) }),
    cwd: repoRoot,
    stdout: { file: options.logFile },
  });
  const origin = `http://127.0.0.1:${port}`;
  await waitForHttp(server, `${origin}/healthz`);
  return { name, origin, process: server };
}

/** A bench target script (bench/targets/*.ts) on a free loopback port. */
export async function startScript(name: string, script: string, env: Env, readyPath = '/'): Promise<HandoffServer> {
  const port = await freePort();
  const server = startProcess(
    name,
    process.execPath,
    ['--import', 'tsx', path.join(repoRoot, 'bench/targets', script)],
    {
      env: { ...env, PORT: String(port) },
      cwd: repoRoot,
    },
  );
  const origin = `http://127.0.0.1:${port}`;
  await waitForHttp(server, `${origin}${readyPath}`);
  return { name, origin, process: server };
}
