import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** The operator's entry point, run as a real process: what `npx handoff …` runs. */
export const handoffBin = path.resolve(import.meta.dirname, '../bin/handoff.mjs');
/** What `npm start` runs: `handoff serve` in a child process with the launch environment. */
export const startBin = path.resolve(import.meta.dirname, '../bin/start.mjs');

/**
 * The parent's environment without any Handoff configuration (nor the test runner's own variables), plus `env`:
 * a subprocess sees exactly the configuration its test gives it.
 */
export function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const clean: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (/^(HANDOFF_|DATABASE_URL$|REDIS_URL$|PORT$|HOST$|NODE_TEST_CONTEXT$)/.test(name)) continue;
    clean[name] = value;
  }
  return { ...clean, ...env };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `handoff <args>` to completion (bounded: killed after `timeoutMs`). */
export function runHandoff(args: string[], env: Record<string, string>, timeoutMs = 60_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [handoffBin, ...args], { env: childEnv(env), stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Parses a `--json` answer, failing with the process's stderr when it did not succeed. */
export function jsonOf<T = Record<string, unknown>>(result: CliResult): T {
  if (result.code !== 0) throw new Error(`exit ${result.code}: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

/** Stderr without Node's deprecation warnings, which are not ours to assert on. */
export const ownStderr = (stderr: string): string[] =>
  stderr
    .split('\n')
    .filter(
      (line) => line !== '' && !/DeprecationWarning|FastifyDeprecation|--trace-warnings|--trace-deprecation/.test(line),
    );

/** A port nothing listens on right now (the kernel picks it; we release it for the server to take). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** A fresh data directory for the embedded store, removed by the returned function. */
export function tempDataDir(): { dir: string; remove(): void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'handoff-test-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface ServeProcess {
  child: ChildProcess;
  url: string;
  output(): string;
  /** Polls `GET /healthz` until it answers 200; returns how long that took. */
  waitHealthy(timeoutMs: number): Promise<number>;
  /** SIGTERM, then the exit code and how long the process took to exit (SIGKILL after `timeoutMs`). */
  stop(timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
}

/**
 * `handoff serve` on a free loopback port, as a real process; with `launcher`, through `npm start`'s launcher, in a
 * process group of its own (as a terminal would start it: a signal to the group reaches launcher and server).
 */
export async function startServe(
  env: Record<string, string>,
  options: { launcher?: boolean } = {},
): Promise<ServeProcess> {
  const port = await freePort();
  const started = Date.now();
  const child = spawn(process.execPath, options.launcher ? [startBin] : [handoffBin, 'serve'], {
    env: childEnv({ HOST: '127.0.0.1', PORT: String(port), ...env }),
    stdio: 'pipe',
    detached: options.launcher === true,
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const url = `http://127.0.0.1:${port}`;
  return {
    child,
    url,
    output: () => output,
    async waitHealthy(timeoutMs) {
      const deadline = started + timeoutMs;
      while (Date.now() < deadline) {
        if (child.exitCode !== null) throw new Error(`handoff serve exited with ${child.exitCode}: ${output}`);
        try {
          const response = await fetch(`${url}/healthz`);
          if (response.ok) return Date.now() - started;
        } catch {
          // Not listening yet.
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error(`handoff serve did not answer /healthz within ${timeoutMs} ms: ${output}`);
    },
    async stop(timeoutMs = 10_000) {
      const begin = Date.now();
      if (child.exitCode !== null || child.signalCode !== null) return { ...(await exited), ms: 0 };
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const result = await exited;
      clearTimeout(timer);
      return { ...result, ms: Date.now() - begin };
    },
  };
}
