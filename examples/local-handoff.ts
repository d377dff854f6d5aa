/**
 * Scaffolding for the walkthrough (and the SDK's tests): a throwaway Handoff on loopback. It creates the partner
 * and any fixtures with the operator CLI first — the embedded store belongs to one process, so the CLI must be
 * done before `handoff serve` takes it — then starts the server on a free port and waits until it is ready.
 * With `DATABASE_URL` in `env` the store is PostgreSQL and the CLI also works while the server runs.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const bin = path.resolve(import.meta.dirname, '../packages/server/bin/handoff.mjs');
const run = promisify(execFile);

export interface PartnerAccount {
  platform_code: string;
  /** HMAC credential of the client-token surface. */
  hmac: { api_key: string; secret: string; passphrase: string };
  /** `X-Api-Key` of the partner API. */
  api_key: string;
  username: string;
  password: string;
}

export interface LocalHandoff {
  /** Base URL, also the public URL and the token issuer. */
  url: string;
  partner: PartnerAccount;
  /** Runs `handoff <args> --json` against this server's store and returns the parsed output. */
  cli(...args: string[]): Promise<unknown>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitUntilReady(url: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`handoff serve exited with ${child.exitCode}:\n${output()}`);
    const status = await fetch(`${url}/readyz`).then(
      (response) => response.status,
      () => 0,
    );
    if (status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`handoff serve not ready within 30 s:\n${output()}`);
}

export async function startLocalHandoff(
  options: {
    /** Extra environment (e.g. DATABASE_URL, REDIS_URL, HANDOFF_MASTER_KEY for PostgreSQL). */
    env?: Record<string, string>;
    /** Fixtures to create with the CLI before the server starts. */
    setup?: (cli: LocalHandoff['cli'], partner: PartnerAccount) => Promise<void>;
  } = {},
): Promise<LocalHandoff> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'handoff-local-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const { DATABASE_URL: _database, REDIS_URL: _redis, ...inherited } = process.env;
  const env = {
    ...inherited,
    HOST: '127.0.0.1',
    PORT: String(port),
    HANDOFF_PUBLIC_URL: url,
    HANDOFF_DATA_DIR: dataDir,
    HANDOFF_LOG_LEVEL: 'warn',
    ...options.env,
  };
  const cli = async (...args: string[]) => {
    const { stdout } = await run(process.execPath, [bin, ...args, '--json'], { env });
    return JSON.parse(stdout) as unknown;
  };
  let child: ChildProcess | undefined;
  const stop = async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child?.once('exit', resolve));
      child.kill('SIGTERM');
      const forced = setTimeout(() => child?.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(forced);
    }
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    const partner = (await cli('partner', 'create', '--name', 'Walkthrough Platform')) as PartnerAccount;
    await options.setup?.(cli, partner);
    child = spawn(process.execPath, [bin, 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const output: string[] = [];
    child.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    // The server must not outlive this process, whatever happens to it.
    const server = child;
    process.once('exit', () => server.kill('SIGKILL'));
    await waitUntilReady(url, child, () => output.join(''));
    return { url, partner, cli, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
