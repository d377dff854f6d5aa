import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  startTime: number;
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  totalMs: number;
  /** Self time by function, largest first. */
  functions: Array<{ name: string; where: string; ms: number; share: number }>;
  /** Self time by origin: a package, node internals, Handoff's own source, GC, idle. */
  origins: Array<{ origin: string; ms: number; share: number }>;
}

function originOf(url: string, name: string): string {
  if (name === '(garbage collector)' || name === '(idle)' || name === '(program)') return name;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
  if (pkg) return pkg;
  if (url.includes('/packages/server/src/')) return 'handoff (src)';
  if (url.startsWith('node:') || url === '') return 'node (built-in and native)';
  return url;
}

/** A stretch of time on the monotonic clock V8 stamps samples with (`process.hrtime`), in microseconds. */
export interface TimeWindow {
  fromUs: number;
  toUs: number;
}

/** Now on the clock of profile samples: V8 and `process.hrtime` both read CLOCK_MONOTONIC. */
export const monotonicMicros = () => Number(process.hrtime.bigint() / 1000n);

/**
 * Self time per function and per origin, from a V8 `.cpuprofile` (`node --cpu-prof`); with `window`, only the
 * samples taken inside it (the measured load, not start-up or warm-up).
 */
export function summariseProfile(file: string, top = 20, window?: TimeWindow): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (window && (at < window.fromUs || at > window.toUs)) return;
    selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
  });
  const functions = new Map<string, { name: string; where: string; us: number }>();
  const origins = new Map<string, number>();
  let totalUs = 0;
  for (const [id, us] of selfUs) {
    const frame = (byId.get(id) as ProfileNode).callFrame;
    const name = frame.functionName || '(anonymous)';
    const where = frame.url
      ? `${frame.url.replace(/^.*\/(node_modules|packages)\//, '$1/')}:${frame.lineNumber + 1}`
      : '';
    const key = `${name}@${where}`;
    const entry = functions.get(key) ?? { name, where, us: 0 };
    entry.us += us;
    functions.set(key, entry);
    const origin = originOf(frame.url, name);
    origins.set(origin, (origins.get(origin) ?? 0) + us);
    totalUs += us;
  }
  const busyUs = totalUs - (origins.get('(idle)') ?? 0);
  return {
    totalMs: totalUs / 1000,
    functions: [...functions.values()]
      .filter((f) => f.name !== '(idle)')
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((f) => ({ name: f.name, where: f.where, ms: f.us / 1000, share: f.us / busyUs })),
    origins: [...origins.entries()]
      .filter(([origin]) => origin !== '(idle)')
      .sort((a, b) => b[1] - a[1])
      .map(([origin, us]) => ({ origin, ms: us / 1000, share: us / busyUs })),
  };
}

/** Renders a summary as markdown: shares are of the busy (non-idle) time of the main thread. */
export function formatProfile(label: string, summary: ProfileSummary): string {
  const pct = (share: number) => `${(share * 100).toFixed(1)}%`;
  return [
    `### CPU profile: ${label} (main thread, busy time)`,
    '',
    '| self time | origin |',
    '|---|---|',
    ...summary.origins.slice(0, 12).map((o) => `| ${pct(o.share)} | ${o.origin} |`),
    '',
    '| self time | function | where |',
    '|---|---|---|',
    ...summary.functions.map((f) => `| ${pct(f.share)} | ${f.name} | ${f.where} |`),
  ].join('\n');
}

/**
 * The main thread's `.cpuprofile` in a directory: node writes one per thread, named
 * `CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile`, and the main thread is thread 0 (tsx's loader is another).
 */
export function mainThreadProfile(dir: string): string | undefined {
  const file = readdirSync(dir)
    .filter((f) => /\.0\.\d+\.cpuprofile$/.test(f))
    .sort()
    .at(-1);
  return file ? path.join(dir, file) : undefined;
}

// `node --import tsx bench/lib/profile.ts FILE.cpuprofile`: summarise a profile taken by hand.
if (process.argv[1] === import.meta.filename) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: profile.ts FILE.cpuprofile [TOP]');
    process.exit(2);
  }
  console.log(formatProfile(path.basename(file), summariseProfile(file, Number(process.argv[3] ?? 25))));
}
