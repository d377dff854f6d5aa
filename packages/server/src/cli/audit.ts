import { type Command, Option } from 'commander';
import { OperatorError, requirePartner } from '../admin/accounts.ts';
import { listAuditEvents } from '../store/audit.ts';
import { withStore } from './with-store.ts';

const units: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

/** `--since`: an ISO date or time, or an age such as `30m`, `1h`, `7d`, `2w` counted back from `now`. */
export function parseSince(value: string, now: Date): Date {
  const age = /^(\d{1,6})([mhdw])$/.exec(value.trim());
  if (age) return new Date(now.getTime() - Number(age[1]) * (units[age[2] as string] as number));
  // Dates only (2026-11-01) or full ISO 8601 with a time; nothing Date.parse would guess at.
  if (/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value.trim())) {
    const date = new Date(value.trim());
    if (!Number.isNaN(date.getTime())) return date;
  }
  throw new OperatorError(
    `--since ${value}: use an ISO date or time (2026-11-01, 2026-11-01T12:00Z) or 30m, 1h, 7d, 2w`,
  );
}

export type AuditRow = Awaited<ReturnType<typeof listAuditEvents>>[number];

/** One JSON object per event (JSON Lines), the shape `--json` prints. */
export function auditRecord(row: AuditRow) {
  return {
    at: row.at.toISOString(),
    surface: row.surface,
    action: row.action,
    outcome: row.outcome,
    reason: row.reason,
    credential_id: row.credential_id,
    participant_id: row.participant_id,
    request_id: row.request_id,
    ip: row.ip,
    detail: row.detail,
  };
}

/** A plain-text table for people: one line per event, columns sized to their content. */
export function formatAuditTable(rows: readonly AuditRow[]): string {
  const header = ['AT', 'ACTION', 'OUTCOME', 'REASON', 'PARTICIPANT', 'IP', 'REQUEST ID'];
  const lines = rows.map((row) => [
    `${row.at.toISOString().slice(0, 19)}Z`,
    row.action,
    row.outcome,
    row.reason ?? '-',
    row.participant_id ?? '-',
    row.ip ?? '-',
    row.request_id ?? '-',
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...lines.map((line) => line[column]?.length ?? 0)),
  );
  return [header, ...lines]
    .map((cells) =>
      cells
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

interface AuditOptions {
  partner: string;
  since?: string;
  action?: string[];
  outcome?: 'success' | 'rejected';
  limit: string;
  json?: boolean;
}

export function registerAuditCommand(program: Command): void {
  program
    .command('audit')
    .description("show a partner's audit trail: who did what, for whom, when, from where (never token material)")
    .requiredOption('--partner <platformCode>', 'the partner')
    .option('--since <when>', 'from this ISO date/time, or this far back: 30m, 1h, 7d, 2w')
    .option('--action <actions...>', 'only these actions (e.g. client_token.issue login_token.redeem; commas work too)')
    .addOption(new Option('--outcome <outcome>', 'only successes or only rejections').choices(['success', 'rejected']))
    .option('--limit <n>', 'at most this many events, the newest', '1000')
    .option('--json', 'JSON Lines: one event per line')
    .action((options: AuditOptions) =>
      withStore('audit', async ({ db }) => {
        const limit = Number(options.limit);
        if (!Number.isInteger(limit) || limit < 1 || limit > 1_000_000) {
          throw new OperatorError('--limit must be a whole number from 1 to 1000000');
        }
        const partner = await requirePartner(db, options.partner);
        const rows = await listAuditEvents(db, {
          partnerId: partner.id,
          ...(options.since ? { since: parseSince(options.since, new Date()) } : {}),
          ...(options.action ? { actions: options.action.flatMap((a) => a.split(',')).filter(Boolean) } : {}),
          ...(options.outcome ? { outcome: options.outcome } : {}),
          limit,
          newest: true,
        });
        if (options.json) {
          for (const row of rows) process.stdout.write(`${JSON.stringify(auditRecord(row))}\n`);
        } else {
          console.log(rows.length === 0 ? `no audit events for ${partner.platformCode}` : formatAuditTable(rows));
        }
        if (rows.length === limit) {
          console.error(`handoff: showing the newest ${limit} events; narrow with --since or raise --limit`);
        }
      }),
    );
}
