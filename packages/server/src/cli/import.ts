import { once } from 'node:events';
import fs from 'node:fs';
import type { Readable } from 'node:stream';
import { type Command, Option } from 'commander';
import { OperatorError, requirePartner } from '../admin/accounts.ts';
import { defaultBatchSize, importUsers, type RejectedRow } from '../admin/import/import-users.ts';
import { ImportProgress } from '../admin/import/progress.ts';
import { formatOf, importFields, readRecords } from '../admin/import/records.ts';
import { output } from './output.ts';
import { withStore } from './with-store.ts';

interface ImportCommandOptions {
  partner: string;
  format?: string;
  rejects?: string;
  batchSize: string;
  json?: boolean;
}

function openSource(file: string): { input: Readable; size: number | undefined; bytesRead: () => number } {
  if (file === '-') {
    let bytes = 0;
    process.stdin.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    return { input: process.stdin, size: undefined, bytesRead: () => bytes };
  }
  let size: number;
  try {
    size = fs.statSync(file).size;
  } catch (error) {
    throw new OperatorError(
      `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
  const input = fs.createReadStream(file, { highWaterMark: 256 * 1024 });
  return { input, size, bytesRead: () => input.bytesRead };
}

/** `handoff user import`: attached to the `user` command group. */
export function registerImportCommand(program: Command): void {
  const user = program.commands.find((command) => command.name() === 'user') ?? program.command('user');
  user
    .command('import <file>')
    .description(
      `bulk-import end users from CSV (header row) or JSON Lines (- reads stdin); fields: ${importFields.join(', ')}. ` +
        'Rows already present (same email, or same participant_code) are skipped, so a re-run adds nothing twice. ' +
        'Values are trimmed; status defaults to approved.',
    )
    .requiredOption('--partner <platformCode>', 'the partner the users belong to')
    .addOption(new Option('--format <format>', 'default: from the file name').choices(['csv', 'jsonl']))
    .option('--rejects <file>', 'write rejected rows to this file (JSON Lines: line, reasons) instead of stderr')
    .option('--batch-size <rows>', 'rows per multi-row insert', String(defaultBatchSize))
    .option('--json', 'print the summary as JSON')
    .action((file: string, options: ImportCommandOptions) => {
      // Mistakes in the command line fail before the store is opened.
      const batchSize = Number(options.batchSize);
      if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 5000) {
        throw new OperatorError('--batch-size must be a whole number from 1 to 5000');
      }
      const format = file === '-' ? formatOf('stdin.jsonl', options.format ?? 'jsonl') : formatOf(file, options.format);
      const source = openSource(file);
      return withStore('user import', async ({ db }) => {
        const partner = await requirePartner(db, options.partner);
        const progress = new ImportProgress(process.stderr, source.size, source.bytesRead);
        const rejects = options.rejects ? fs.createWriteStream(options.rejects) : undefined;
        const reportReject = (row: RejectedRow) => {
          if (rejects) rejects.write(`${JSON.stringify(row)}\n`);
          else progress.log(`line ${row.line}: ${row.reasons.join('; ')}`);
        };
        try {
          const totals = await importUsers(db, readRecords(source.input, format), {
            partnerId: partner.id,
            batchSize,
            onBatch: (t) => progress.update(t),
            onReject: reportReject,
          });
          progress.finish(totals);
          const seconds = Math.round(progress.elapsedSeconds * 10) / 10;
          const rate = Math.round(totals.rows / Math.max(progress.elapsedSeconds, 0.001));
          output(options.json, { ...totals, seconds, rows_per_second: rate }, () =>
            [
              `${partner.platformCode}: ${totals.imported} imported, ${totals.skipped} skipped (already present), ` +
                `${totals.rejected} rejected, of ${totals.rows} rows in ${seconds} s (${rate} rows/s)`,
              ...(totals.rejected > 0 && options.rejects ? [`rejected rows: ${options.rejects}`] : []),
            ].join('\n'),
          );
        } finally {
          if (rejects) {
            rejects.end();
            await once(rejects, 'close');
          }
        }
      });
    });
}
