import type { Measurement, PairedLoad } from './measure.ts';

export type RowId =
  | 'bare-http'
  | 'oidc-provider'
  | 'minimal-hot-path'
  | 'handoff-embedded'
  | 'handoff-pg-redis'
  | 'handoff-pg-redis-info-logs'
  | 'handoff-pg-redis-no-cache'
  | 'handoff-pg-redis-x2'
  | 'bare-pg-insert'
  | 'handoff-login-token'
  | 'bare-pg-update'
  | 'handoff-login-with-token';

export interface Row extends Measurement {
  id: RowId;
  label: string;
  /** What the row is compared with besides bare node:http (the row that does the same essential work). */
  comparedWith?: RowId;
}

export interface Soak {
  id: RowId;
  /** Length of each load. */
  seconds: number;
  /** RSS after each successive load. */
  rssMb: number[];
  rps: number[];
}

/**
 * Servers compared up together, loaded in turn (`alternate`): one group per set of servers up at once, each
 * server's loads round by round, by row id. A row id names one server within its group (bare node:http is started
 * beside the embedded store and again beside the production shape).
 */
export interface Paired {
  rounds: number;
  seconds: number;
  groups: Array<Partial<Record<RowId, PairedLoad[]>>>;
}

export const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

/** Round by round `a / b` in the group where both were loaded in turn, and their median. */
function pairedRatios(paired: Paired, a: RowId, b: RowId): { rounds: number[]; median: number } | undefined {
  const group = paired.groups.find((g) => g[a] && g[b]);
  const xs = group?.[a];
  const ys = group?.[b];
  if (!xs || !ys || xs.length === 0) return undefined;
  const rounds = xs.map((x, i) => x.rps / (ys[i] as PairedLoad).rps);
  return { rounds, median: median(rounds) };
}

/** A server's p99 round by round, and their median. */
function pairedP99(paired: Paired, id: RowId): { rounds: number[]; median: number } | undefined {
  const loads = paired.groups.find((g) => g[id])?.[id];
  if (!loads || loads.length === 0) return undefined;
  const rounds = loads.map((l) => l.p99Ms);
  return { rounds, median: median(rounds) };
}

/** How each group of paired servers is shown: its columns and Handoff's ratios, numerator first. */
const pairedViews: Array<{ columns: [RowId, string][]; ratios: [RowId, RowId, string, number][]; p99?: RowId }> = [
  {
    columns: [
      ['bare-http', 'bare node:http'],
      ['handoff-embedded', 'Handoff client_auth_token, embedded'],
    ],
    ratios: [['handoff-embedded', 'bare-http', '× bare', 3]],
  },
  {
    columns: [
      ['bare-http', 'bare node:http'],
      ['oidc-provider', 'node-oidc-provider'],
      ['minimal-hot-path', "the issue's minimal hot path + Redis"],
      ['handoff-pg-redis', 'Handoff client_auth_token, PostgreSQL + Redis'],
    ],
    ratios: [
      ['handoff-pg-redis', 'oidc-provider', '× node-oidc-provider', 2],
      ['handoff-pg-redis', 'bare-http', '× bare', 3],
      ['minimal-hot-path', 'oidc-provider', 'minimal × node-oidc-provider', 2],
      ['handoff-pg-redis', 'minimal-hot-path', '× minimal', 2],
    ],
    p99: 'handoff-pg-redis',
  },
  {
    columns: [
      ['bare-pg-insert', 'bare INSERT'],
      ['handoff-login-token', 'Handoff login-token'],
      ['bare-pg-update', 'bare UPDATE'],
      ['handoff-login-with-token', 'Handoff login-with-token'],
    ],
    ratios: [
      ['handoff-login-token', 'bare-pg-insert', 'issue × bare INSERT', 2],
      ['handoff-login-with-token', 'bare-pg-update', 'redeem × bare UPDATE', 2],
    ],
  },
];

/** One table per group of servers loaded in turn: each round's req/s, Handoff's ratios, and their medians. */
export function renderPaired(paired: Paired): string {
  const tables: string[] = [];
  for (const group of paired.groups) {
    // A group is shown by the view whose first ratio's numerator (the Handoff server) it holds.
    const view = pairedViews.find((v) => group[v.ratios[0]?.[0] as RowId]);
    if (!view) continue;
    const columns = view.columns.filter(([id]) => group[id]);
    const ratios = view.ratios.map(([a, b, name, digits]) => ({ name, digits, values: pairedRatios(paired, a, b) }));
    if (view.p99) ratios.push({ name: 'Handoff p99 ms', digits: 1, values: pairedP99(paired, view.p99) });
    const lines = [
      `| round | ${columns.map(([, name]) => `${name} req/s`).join(' | ')} | ${ratios.map((r) => r.name).join(' | ')} |`,
      `|---|${columns.map(() => '---:').join('|')}|${ratios.map(() => '---:').join('|')}|`,
    ];
    for (let i = 0; i < paired.rounds; i++) {
      const rps = columns.map(([id]) => Math.round(group[id]?.[i]?.rps ?? Number.NaN).toLocaleString('en-US'));
      const rounds = ratios.map((r) => fixed(r.values?.rounds[i] ?? Number.NaN, r.digits));
      lines.push(`| ${i + 1} | ${rps.join(' | ')} | ${rounds.join(' | ')} |`);
    }
    const medians = ratios.map((r) => fixed(r.values?.median ?? Number.NaN, r.digits));
    lines.push(`| median | ${columns.map(() => '').join(' | ')} | ${medians.join(' | ')} |`);
    tables.push(lines.join('\n'));
  }
  return tables.join('\n\n');
}

export interface Check {
  name: string;
  value: number;
  bound: number;
  kind: 'min' | 'max';
  pass: boolean;
  unit: string;
}

const fixed = (n: number, digits: number) => (Number.isFinite(n) ? n.toFixed(digits) : '–');

export function renderTable(rows: readonly Row[]): string {
  const byId = new Map(rows.map((r) => [r.id, r]));
  const bare = byId.get('bare-http');
  const lines = [
    '| target | req/s | p50 ms | p99 ms | CPU µs/req | RSS MB | × bare node:http | compared with |',
    '|---|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const row of rows) {
    const other = row.comparedWith ? byId.get(row.comparedWith) : undefined;
    lines.push(
      `| ${row.label} | ${Math.round(row.rps).toLocaleString('en-US')} | ${fixed(row.p50Ms, 2)} | ${fixed(row.p99Ms, 2)} | ${Math.round(row.cpuMicrosPerRequest)} | ${Math.round(row.rssMb)} | ${bare ? fixed(row.rps / bare.rps, 3) : '–'} | ${other ? `${fixed(row.rps / other.rps, 2)}× ${other.label}` : ''} |`,
    );
  }
  return lines.join('\n');
}

/**
 * Each server's main thread (its event loop) during the measured run, from the kernel's scheduler statistics: on
 * a CPU + waiting for one ≈ 100% means the event loop always had work, and the waiting share is what the other
 * processes and threads on the same cores took from it.
 */
export function renderScheduling(rows: readonly Row[]): string {
  const share = (x: number) => `${Math.round(x * 100)}%`;
  const lines = [
    '| target | event loop on a CPU | waiting for a CPU | preempted per request |',
    '|---|---:|---:|---:|',
  ];
  for (const row of rows) {
    const { running, waiting, preemptionsPerRequest } = row.eventLoop;
    lines.push(`| ${row.label} | ${share(running)} | ${share(waiting)} | ${fixed(preemptionsPerRequest, 2)} |`);
  }
  return lines.join('\n');
}

/** The issue's targets, checked on whatever rows this run measured. */
export function evaluate(rows: readonly Row[], soaks: readonly Soak[], paired?: Paired): Check[] {
  const byId = new Map(rows.map((r) => [r.id, r]));
  const checks: Check[] = [];
  const ratio = (name: string, a: RowId, b: RowId, bound: number) => {
    // Where the two were also loaded in turn, the median of those rounds is the figure checked (steadier on a
    // machine whose speed drifts); the table above still shows the ratio of the two main runs.
    const rounds = paired ? pairedRatios(paired, a, b) : undefined;
    if (rounds) {
      const value = rounds.median;
      const named = `${name} (median of ${paired?.rounds} paired rounds)`;
      checks.push({ name: named, value, bound, kind: 'min', pass: value >= bound, unit: '×' });
      return;
    }
    const x = byId.get(a);
    const y = byId.get(b);
    if (x && y)
      checks.push({ name, value: x.rps / y.rps, bound, kind: 'min', pass: x.rps / y.rps >= bound, unit: '×' });
  };
  ratio('client_auth_token, PostgreSQL + Redis, vs node-oidc-provider', 'handoff-pg-redis', 'oidc-provider', 2.0);
  ratio('client_auth_token, PostgreSQL + Redis, vs bare node:http', 'handoff-pg-redis', 'bare-http', 0.15);
  // p99 likewise: the median of the rounds' p99 where the production shape was loaded in turn with the others.
  const p99Rounds = paired ? pairedP99(paired, 'handoff-pg-redis') : undefined;
  const p99 = p99Rounds?.median ?? byId.get('handoff-pg-redis')?.p99Ms;
  if (p99 !== undefined)
    checks.push({
      name: `client_auth_token p99 at 50 connections${p99Rounds ? ` (median of ${paired?.rounds} paired rounds)` : ''}`,
      value: p99,
      bound: 25,
      kind: 'max',
      pass: p99 <= 25,
      unit: 'ms',
    });
  ratio('client_auth_token, embedded, vs bare node:http', 'handoff-embedded', 'bare-http', 0.18);
  ratio('login-token issue vs bare INSERT', 'handoff-login-token', 'bare-pg-insert', 0.7);
  ratio('login-with-token redeem vs bare UPDATE', 'handoff-login-with-token', 'bare-pg-update', 0.7);
  for (const soak of soaks) {
    const label = byId.get(soak.id)?.label ?? soak.id;
    const last = soak.rssMb.at(-1) as number;
    checks.push({
      name: `${label}: RSS after ${soak.seconds} s of load`,
      value: last,
      bound: 200,
      kind: 'max',
      pass: last <= 200,
      unit: 'MB',
    });
    if (soak.rssMb.length >= 2) {
      const [first, second] = soak.rssMb as [number, number];
      // Allocator and JIT noise is a few MB; a leak or an unbounded cache grows with every run.
      const growth = second - first;
      checks.push({
        name: `${label}: RSS growth from the 1st to the 2nd ${soak.seconds} s load`,
        value: growth,
        bound: Math.max(10, first * 0.05),
        kind: 'max',
        pass: growth <= Math.max(10, first * 0.05),
        unit: 'MB',
      });
    }
  }
  return checks;
}

/** Two decimals, or as many more (up to four) as it takes for a figure that missed its bound not to read as it. */
function measuredDigits(c: Check): number {
  let digits = 2;
  while (digits < 4 && !c.pass && Number(c.value.toFixed(digits)) === c.bound) digits++;
  return digits;
}

export function renderChecks(checks: readonly Check[], enforced: boolean): string {
  const lines = ['| target | measured | bound | result |', '|---|---:|---:|---|'];
  for (const c of checks) {
    const result = c.pass ? 'pass' : enforced ? '**FAIL**' : 'below (not enforced in --quick)';
    lines.push(
      `| ${c.name} | ${fixed(c.value, measuredDigits(c))} ${c.unit} | ${c.kind === 'min' ? '≥' : '≤'} ${c.bound.toFixed(2)} ${c.unit} | ${result} |`,
    );
  }
  return lines.join('\n');
}
