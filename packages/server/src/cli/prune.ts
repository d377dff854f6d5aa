import type { Command } from 'commander';
import { pruneExpired } from '../store/pruning.ts';
import { output } from './output.ts';
import { withStore } from './with-store.ts';

export function registerPruneCommand(program: Command): void {
  program
    .command('prune')
    .description(
      'delete audit events past HANDOFF_AUDIT_RETENTION_DAYS and expired login tokens, refresh tokens, revocations, ' +
        'identifier-link requests and page sessions (run it daily, e.g. from cron; on PostgreSQL it is safe while instances serve)',
    )
    .option('--json', 'machine-readable output')
    .action((options: { json?: boolean }) =>
      withStore('prune', async ({ db, config }) => {
        const deleted = await pruneExpired(db, { now: new Date(), auditRetentionDays: config.auditRetentionDays });
        output(options.json, { deleted, audit_retention_days: config.auditRetentionDays }, () =>
          [
            `deleted (audit retention ${config.auditRetentionDays ? `${config.auditRetentionDays} days` : 'forever'}):`,
            ...Object.entries(deleted).map(([table, count]) => `  ${table.replaceAll('_', ' ')}: ${count}`),
          ].join('\n'),
        );
      }),
    );
}
