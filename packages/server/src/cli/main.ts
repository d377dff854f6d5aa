import { Command } from 'commander';
import { OperatorError } from '../admin/accounts.ts';
import { StartupError } from '../server.ts';
import { DataDirLockedError } from '../store/data-dir.ts';
import { migrate } from '../store/database.ts';
import { registerAuditCommand } from './audit.ts';
import { registerCredentialCommands } from './credentials.ts';
import { registerImportCommand } from './import.ts';
import { registerKeyCommands } from './keys.ts';
import { registerPartnerCommands } from './partners.ts';
import { registerPruneCommand } from './prune.ts';
import { registerUserCommands } from './users.ts';
import { withStore } from './with-store.ts';

const program = new Command()
  .name('handoff')
  .description('Handoff token service: run the server and manage partners, users, credentials and keys.')
  .showHelpAfterError()
  .configureOutput({ outputError: (text, write) => write(text) });

program
  .command('serve')
  .description('start the HTTP server (configuration from the environment; see README)')
  // Loaded on demand: the other commands need neither the HTTP app nor its schemas.
  .action(async () => (await import('./serve.ts')).serve());

program
  .command('migrate')
  .description('apply pending database migrations')
  .option('--json', 'machine-readable output')
  .action((options: { json?: boolean }) =>
    withStore('migrate', async ({ db }) => {
      const applied = await migrate(db);
      if (options.json) console.log(JSON.stringify({ applied }));
      else console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
    }),
  );

registerPartnerCommands(program);
registerCredentialCommands(program);
registerUserCommands(program);
registerKeyCommands(program);
registerImportCommand(program);
registerAuditCommand(program);
registerPruneCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  const known = error instanceof OperatorError || error instanceof DataDirLockedError || error instanceof StartupError;
  console.error(`handoff: ${known ? (error as Error).message : `unexpected error: ${(error as Error).message}`}`);
  process.exitCode = 1;
}
