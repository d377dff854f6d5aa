import type { Measurement } from './measure.ts';

export type RowId =
  | 'bare-http'
  | 'oidc-provider'
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

/** Servers compared up together, loaded in turn (`alternate`): each one's req/s per round, by row id. */
export interface Paired {
  rounds: number;
  seconds: number;
  rps: Partial<Record<RowId, number[]>>;
}

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

/** Round by round `a / b`, and their median. */
function pairedRatios(paired: Paired, a: RowId, b: RowId): { rounds: number[]; median: number } | undefined {
  const xs = paired.rps[a];
  const ys = paired.rps[b];
  if (!xs || !ys || xs.length === 0) return undefined;
  const rounds = xs.map((x, i) => x / (ys[i] as number));
  return { rounds, median: median(rounds) };
}

/** One table per group of servers loaded in turn: each round's req/s, Handoff's ratios, and their medians. */
export function renderPaired(paired: Paired): string {
  const groups: Array<{ columns: [RowId, string][]; ratios: [RowId, RowId, string, number][] }> = [
    {
      columns: [
        ['bare-http', 'bare node:http'],
        ['oidc-provider', 'node-oidc-provider'],
        ['handoff-pg-redis', 'Handoff client_auth_token, PostgreSQL + Redis'],
      ],
      ratios: [
        ['handoff-pg-redis', 'oidc-provider', '× node-oidc-provider', 2],
        ['handoff-pg-redis', 'bare-http', '× bare', 3],
      ],
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
  const tables: string[] = [];
  for (const group of groups) {
    const columns = group.columns.filter(([id]) => paired.rps[id]);
    if (columns.length === 0) continue;
    const ratios = group.ratios.map(([a, b, name, digits]) => ({ name, digits, values: pairedRatios(paired, a, b) }));
    const lines = [
      `| round | ${columns.map(([, name]) => `${name} req/s`).join(' | ')} | ${ratios.map((r) => r.name).join(' | ')} |`,
      `|---|${columns.map(() => '---:').join('|')}|${ratios.map(() => '---:').join('|')}|`,
    ];
    for (let i = 0; i < paired.rounds; i++) {
      const rps = columns.map(([id]) => Math.round(paired.rps[id]?.[i] ?? Number.NaN).toLocaleString('en-US'));
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
  const pg = byId.get('handoff-pg-redis');
  if (pg)
    checks.push({
      name: 'client_auth_token p99 at 50 connections',
      value: pg.p99Ms,
      bound: 25,
      kind: 'max',
      pass: pg.p99Ms <= 25,
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

export function renderChecks(checks: readonly Check[], enforced: boolean): string {
  const lines = ['| target | measured | bound | result |', '|---|---:|---:|---|'];
  for (const c of checks) {
    const result = c.pass ? 'pass' : enforced ? '**FAIL**' : 'below (not enforced in --quick)';
    lines.push(
      `| ${c.name} | ${fixed(c.value, 2)} ${c.unit} | ${c.kind === 'min' ? '≥' : '≤'} ${c.bound.toFixed(2)} ${c.unit} | ${result} |`,
    );
  }
  return lines.join('\n');
}
