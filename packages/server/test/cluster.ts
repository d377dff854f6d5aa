import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import { parseConfig } from '../src/config.ts';
import { openStore } from '../src/server.ts';
import type { Db } from '../src/store/database.ts';
import { type Credential, createTestDatabase, signHeaders, testDatabaseUrl, testRedisUrl } from './harness.ts';
import { deleteRedisPrefix } from './scratch-stores.ts';

/**
 * A load-balancer-style harness: N real `handoff serve` processes on loopback ports, sharing one fresh
 * PostgreSQL database and one Redis prefix, as several instances behind a load balancer would.
 */

const bin = path.resolve(import.meta.dirname, '../bin/handoff.mjs');

/** Why a multi-process test cannot run here, or false when it can. */
export const clusterSkip: string | false =
  testDatabaseUrl && testRedisUrl
    ? false
    : 'needs PostgreSQL and Redis: set HANDOFF_TEST_DATABASE_URL and HANDOFF_TEST_REDIS_URL';

// Children must not outlive a test process that crashes or is interrupted.
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export interface ExitReport {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** One `handoff serve` process. */
export class Instance {
  readonly stdout: string[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<ExitReport>;
  url = '';

  constructor(readonly child: ChildProcess) {
    running.add(child);
    const collect = (stream: NodeJS.ReadableStream | null, into: string[]) => {
      let rest = '';
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        const lines = (rest + chunk).split('\n');
        rest = lines.pop() ?? '';
        into.push(...lines);
      });
      stream?.on('end', () => {
        if (rest) into.push(rest);
      });
    };
    collect(child.stdout, this.stdout);
    collect(child.stderr, this.stderr);
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        running.delete(child);
        resolve({ code, signal });
      });
    });
  }

  /** The structured log lines (pino JSON) written so far. */
  logs(): Array<Record<string, unknown>> {
    return this.stdout.flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  }

  /** Resolves once the process logged its address and /readyz answers 200; rejects if it exits first. */
  async ready(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const exited = this.exited.then((report) => {
      throw new Error(`instance exited before it was ready (${JSON.stringify(report)}):\n${this.output()}`);
    });
    exited.catch(() => {});
    while (Date.now() < deadline) {
      const listening = this.logs().find((line) => line.msg === 'handoff listening');
      if (listening) {
        this.url = String(listening.address);
        const status = await fetch(`${this.url}/readyz`).then(
          (r) => r.status,
          () => 0,
        );
        if (status === 200) return;
      }
      await Promise.race([exited, delay(50)]);
    }
    throw new Error(`instance not ready within ${timeoutMs} ms:\n${this.output()}`);
  }

  /** SIGTERM (or another signal), then the exit code; SIGKILL if it hangs past `timeoutMs`. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 25_000): Promise<ExitReport> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  output(): string {
    return [...this.stdout.slice(-40), ...this.stderr.slice(-40)].join('\n');
  }
}

export interface ClusterOptions {
  instances: number;
  /** Extra environment for every instance (and the in-process store). */
  env?: Record<string, string>;
  /** Proxies the instances reach PostgreSQL and/or Redis through (the in-process store connects directly). */
  through?: { database?: TcpProxy; redis?: TcpProxy };
}

/** N instances on one fresh database and Redis prefix; `request` round-robins across them. */
export class Cluster {
  readonly instances: Instance[] = [];
  #next = 0;
  #store: Awaited<ReturnType<typeof openStore>> | undefined;

  private constructor(
    readonly env: Record<string, string>,
    private readonly dropDatabase: () => Promise<void>,
    private readonly through: NonNullable<ClusterOptions['through']> = {},
  ) {}

  static async start(options: ClusterOptions): Promise<Cluster> {
    if (!testDatabaseUrl || !testRedisUrl) throw new Error(clusterSkip || 'no database');
    const database = await createTestDatabase(testDatabaseUrl);
    const cluster = new Cluster(
      {
        DATABASE_URL: database.url,
        REDIS_URL: testRedisUrl,
        HANDOFF_REDIS_PREFIX: `test:${randomBytes(6).toString('hex')}:`,
        HANDOFF_MASTER_KEY: randomBytes(32).toString('base64'),
        // One public URL, as behind a load balancer: every instance is the same issuer.
        HANDOFF_PUBLIC_URL: 'http://handoff.test',
        HANDOFF_LOG_LEVEL: 'info',
        ...options.env,
      },
      database.drop,
      options.through ?? {},
    );
    try {
      // Started together on an empty database: migrations and the first signing key race, as in production.
      await Promise.all(Array.from({ length: options.instances }, () => cluster.startInstance()));
    } catch (error) {
      await cluster.destroy();
      throw error;
    }
    return cluster;
  }

  /** Spawns one more instance with this cluster's environment (plus `env`; an empty value removes a variable). */
  spawnInstance(env: Record<string, string> = {}): Instance {
    const merged: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      HOST: '127.0.0.1',
      PORT: '0',
      ...this.env,
      ...(this.through.database
        ? { DATABASE_URL: this.through.database.rewrite(this.env.DATABASE_URL as string) }
        : {}),
      ...(this.through.redis ? { REDIS_URL: this.through.redis.rewrite(this.env.REDIS_URL as string) } : {}),
      ...env,
    };
    for (const [name, value] of Object.entries(merged)) if (value === '') delete merged[name];
    const child = spawn(process.execPath, [bin, 'serve'], { env: merged, stdio: ['ignore', 'pipe', 'pipe'] });
    return new Instance(child);
  }

  async startInstance(env: Record<string, string> = {}): Promise<Instance> {
    const instance = this.spawnInstance(env);
    this.instances.push(instance);
    await instance.ready();
    return instance;
  }

  /** The next running instance, round robin. */
  next(): Instance {
    const live = this.instances.filter((i) => i.child.exitCode === null && i.child.signalCode === null);
    const instance = live[this.#next++ % live.length];
    if (!instance) throw new Error('no running instance');
    return instance;
  }

  /** The database, opened in this process for seeding and assertions. */
  async store() {
    if (!this.#store) {
      const parsed = parseConfig(this.env);
      if (parsed.errors) throw new Error(parsed.errors.join('\n'));
      this.#store = await openStore(parsed.config, { command: 'test' });
    }
    return this.#store;
  }

  async db(): Promise<Db> {
    return (await this.store()).db;
  }

  /** SIGTERMs every instance still running; the exit reports in instance order. */
  async stop(): Promise<ExitReport[]> {
    return Promise.all(this.instances.map((i) => i.stop()));
  }

  async destroy(): Promise<void> {
    await this.stop();
    await this.#store?.close();
    await this.dropDatabase();
    await deleteRedisPrefix(this.env.REDIS_URL as string, this.env.HANDOFF_REDIS_PREFIX as string);
  }
}

/** A signed client_auth_token request over HTTP, with real time (the instances run on the real clock). */
export function signedHttpRequest(
  credential: Credential,
  body: unknown,
  options: { path?: string; requestId?: string; timestamp?: number } = {},
): { path: string; init: RequestInit } {
  const requestPath = options.path ?? '/client_auth_token';
  const raw = JSON.stringify(body);
  return {
    path: requestPath,
    init: {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(options.requestId ? { 'x-request-id': options.requestId } : {}),
        ...signHeaders(credential, 'POST', requestPath, raw, options.timestamp ?? Math.floor(Date.now() / 1000)),
      },
      body: raw,
    },
  };
}

/**
 * A loopback TCP proxy in front of a dependency, which a test cuts and restores:
 * - `refuse`: every connection destroyed, no longer listening (connection refused: a stopped server);
 * - `blackhole`: every connection destroyed, new ones accepted and never answered (a host behind a dead route);
 * - `stall`: connections kept open but nothing flows either way, new ones blackholed (a hung server).
 */
export type ProxyFault = 'refuse' | 'blackhole' | 'stall';

export class TcpProxy {
  readonly #pairs = new Set<{ client: net.Socket; upstream: net.Socket | undefined }>();
  #server: net.Server | undefined;
  #fault: ProxyFault | undefined;
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  static async start(target: string): Promise<TcpProxy> {
    const url = new URL(target);
    const proxy = new TcpProxy(url.hostname, Number(url.port));
    await proxy.#listen();
    return proxy;
  }

  /** `target` with host and port replaced by the proxy's. */
  rewrite(target: string): string {
    const url = new URL(target);
    url.hostname = '127.0.0.1';
    url.port = String(this.port);
    return url.toString();
  }

  async #listen(): Promise<void> {
    const server = net.createServer((client) => this.#accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as net.AddressInfo).port;
    this.#server = server;
  }

  #accept(client: net.Socket): void {
    const pair = { client, upstream: undefined as net.Socket | undefined };
    this.#pairs.add(pair);
    const drop = () => {
      client.destroy();
      pair.upstream?.destroy();
      this.#pairs.delete(pair);
    };
    client.on('error', drop).on('close', drop);
    if (this.#fault) return;
    this.#connect(pair, drop);
  }

  #connect(pair: { client: net.Socket; upstream: net.Socket | undefined }, drop: () => void): void {
    const upstream = net.connect(this.targetPort, this.targetHost);
    pair.upstream = upstream;
    upstream.on('error', drop).on('close', drop);
    pair.client.pipe(upstream);
    upstream.pipe(pair.client);
  }

  #destroyAll(): void {
    for (const { client, upstream } of this.#pairs) {
      client.destroy();
      upstream?.destroy();
    }
    this.#pairs.clear();
  }

  async cut(fault: ProxyFault = 'refuse'): Promise<void> {
    this.#fault = fault;
    if (fault === 'stall') {
      for (const { client, upstream } of this.#pairs) {
        if (!upstream) continue;
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
      }
      return;
    }
    this.#destroyAll();
    if (fault === 'refuse') {
      const server = this.#server;
      this.#server = undefined;
      if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }

  async restore(): Promise<void> {
    const fault = this.#fault;
    this.#fault = undefined;
    for (const pair of this.#pairs) {
      if (pair.upstream && fault === 'stall') {
        // What was held back flows again, as when a hung server wakes up.
        pair.client.pipe(pair.upstream);
        pair.upstream.pipe(pair.client);
      } else if (!pair.upstream) {
        // Accepted while the dependency was unreachable: the client has given up on it by now.
        pair.client.destroy();
      }
    }
    if (!this.#server) await this.#listen();
  }

  async close(): Promise<void> {
    await this.cut('refuse');
  }
}

/** Runs `handoff …` to completion (killed after a minute); its exit code and output. */
export function runCli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
