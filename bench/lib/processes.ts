import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';

export { freePort } from '../../packages/server/test/subprocess.ts';

/**
 * Every process the bench starts goes through here, so each one is stopped on any exit path: normal end, error,
 * Ctrl-C, or the watchdog. Children get their own process group and are stopped by their pid only.
 */
const running = new Set<Started>();

export interface Started {
  name: string;
  pid: number;
  child: ChildProcess;
  /** The tail of what the process wrote (stdout unless captured, and stderr), for error messages. */
  output(): string;
  /** Captured stdout (with `stdout: 'capture'`). */
  stdout(): string;
  exited: Promise<number | null>;
  stop(timeoutMs?: number): Promise<void>;
}

export interface StartOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  /**
   * `capture`: keep all of stdout (a report to parse); a file path: write it there (a server's log lines, so the
   * bench process does not spend CPU reading them during a run); default: keep its tail for error messages.
   */
  stdout?: 'capture' | { file: string };
}

export function startProcess(name: string, command: string, args: readonly string[], options: StartOptions = {}) {
  const logFile = typeof options.stdout === 'object' ? openSync(options.stdout.file, 'a') : undefined;
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', logFile ?? 'pipe', 'pipe'],
    detached: true,
  });
  if (logFile !== undefined) closeSync(logFile);
  if (child.pid === undefined) throw new Error(`${name}: could not start ${command}`);
  let tail = '';
  let stdout = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString()).slice(-8000);
  };
  child.stdout?.on('data', (chunk: Buffer) => {
    if (options.stdout === 'capture') stdout += chunk.toString();
    else keep(chunk);
  });
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code, signal) => {
      running.delete(started);
      resolve(code ?? (signal ? -1 : null));
    });
  });
  const started: Started = {
    name,
    pid: child.pid,
    child,
    output: () => (typeof options.stdout === 'object' ? `${tail}\n${fileTail(options.stdout.file)}` : tail),
    stdout: () => stdout,
    exited,
    async stop(timeoutMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      signalGroup(child.pid as number, 'SIGTERM');
      const timer = setTimeout(() => signalGroup(child.pid as number, 'SIGKILL'), timeoutMs);
      await exited;
      clearTimeout(timer);
    },
  };
  running.add(started);
  return started;
}

function fileTail(file: string): string {
  try {
    return readFileSync(file, 'utf8').slice(-4000);
  } catch {
    return '';
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  }
}

/** Stops what is still running (SIGTERM, then SIGKILL after a grace period). */
export async function stopAll(timeoutMs = 5_000): Promise<void> {
  await Promise.all([...running].map((p) => p.stop(timeoutMs)));
}

/** Last resort on a synchronous exit path: no waiting possible, so SIGKILL. */
export function killAllNow(): void {
  for (const p of running) signalGroup(p.pid, 'SIGKILL');
}

/** Polls `url` until it answers (any status), the process dies, or the time is up. */
export async function waitForHttp(process: Started, url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let dead = false;
  void process.exited.then(() => {
    dead = true;
  });
  while (Date.now() < deadline) {
    if (dead) throw new Error(`${process.name} exited before answering:\n${process.output()}`);
    try {
      await fetch(url, { signal: AbortSignal.timeout(1000) });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`${process.name} did not answer ${url} within ${timeoutMs} ms:\n${process.output()}`);
}

const clockTicksPerSecond = 100; // USER_HZ, 100 on every Linux ABI the bench runs on.

function statCpu(file: string): { name: string; micros: number } {
  const stat = readFileSync(file, 'utf8');
  // The command name may hold spaces and parentheses: fields are counted after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return {
    name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')),
    micros: (ticks * 1_000_000) / clockTicksPerSecond,
  };
}

/** User + system CPU time of a process (all its threads), in microseconds, from /proc. */
export function cpuMicros(pid: number): number {
  return statCpu(`/proc/${pid}/stat`).micros;
}

/**
 * CPU time per kind of thread (node's main thread, libuv's pool that runs crypto.sign, V8's GC and compiler
 * workers…), in microseconds: where a process's CPU goes beyond the JavaScript profile of its main thread.
 */
export function cpuMicrosByThread(pid: number): Map<string, number> {
  const byName = new Map<string, number>();
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      const { name, micros } = statCpu(`/proc/${pid}/task/${task}/stat`);
      const kind = task === String(pid) ? 'main' : name.replace(/\d+$/, '').trim();
      byName.set(kind, (byName.get(kind) ?? 0) + micros);
    } catch {
      // The thread ended between listing and reading.
    }
  }
  return byName;
}

/** Resident set size in bytes, from /proc. */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1];
  return kb ? Number(kb) * 1024 : Number.NaN;
}

/**
 * The main thread's scheduling from the kernel: nanoseconds on a CPU and waiting on the run queue (ready to run, no
 * CPU free), and how many times it was preempted. On cores shared with the load generator, Redis, PostgreSQL and
 * the server's own helper threads, an event loop can be ready all the time and still run only part of it.
 */
export function mainThreadSchedule(pid: number): { runNs: number; waitNs: number; preempted: number } {
  const [runNs = 0, waitNs = 0] = readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ').map(Number);
  const status = readFileSync(`/proc/${pid}/task/${pid}/status`, 'utf8');
  const preempted = Number(/nonvoluntary_ctxt_switches:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return { runNs, waitNs, preempted };
}
