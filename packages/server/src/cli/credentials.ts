import type { Command } from 'commander';
import { OperatorError, requirePartner } from '../admin/accounts.ts';
import {
  createApiKey,
  createHmacCredential,
  listHmacCredentials,
  revokeApiKey,
  revokeHmacCredential,
} from '../store/credentials.ts';
import { output } from './output.ts';
import { withStore } from './with-store.ts';

export function registerCredentialCommands(program: Command): void {
  const credential = program.command('credential').description('HMAC credentials of the client-token surface');

  credential
    .command('create')
    .description('create an HMAC credential (secret and passphrase shown once)')
    .requiredOption('--partner <platformCode>', 'the partner')
    .option('--label <label>', 'a note for operators')
    .option('--json', 'machine-readable output')
    .action((options: { partner: string; label?: string; json?: boolean }) =>
      withStore('credential create', async ({ db, masterKey }) => {
        const partner = await requirePartner(db, options.partner);
        const created = await createHmacCredential(db, masterKey, partner.id, options.label ?? null);
        const value = { api_key: created.api_key, secret: created.secret, passphrase: created.passphrase };
        output(options.json, value, () =>
          [
            `Credential created for ${partner.platformCode}. Store these now: they are not shown again.`,
            `  api key:    ${value.api_key}`,
            `  secret:     ${value.secret}`,
            `  passphrase: ${value.passphrase}`,
          ].join('\n'),
        );
      }),
    );

  credential
    .command('list')
    .description("list a partner's HMAC credentials (never their secrets)")
    .requiredOption('--partner <platformCode>', 'the partner')
    .option('--json', 'machine-readable output')
    .action((options: { partner: string; json?: boolean }) =>
      withStore('credential list', async ({ db }) => {
        const partner = await requirePartner(db, options.partner);
        const rows = (await listHmacCredentials(db, partner.id)).map((c) => ({
          api_key: c.api_key,
          label: c.label,
          created_at: c.created_at.toISOString(),
          revoked_at: c.revoked_at?.toISOString() ?? null,
        }));
        output(options.json, rows, () =>
          rows.map((r) => `${r.api_key}  ${r.revoked_at ? 'revoked' : 'active '}  ${r.label ?? ''}`).join('\n'),
        );
      }),
    );

  credential
    .command('revoke <apiKey>')
    .description('revoke an HMAC credential (effective on every instance within the credential cache time, 5 s)')
    .option('--json', 'machine-readable output')
    .action((apiKey: string, options: { json?: boolean }) =>
      withStore('credential revoke', async ({ db }) => {
        if (!(await revokeHmacCredential(db, apiKey, new Date()))) {
          throw new OperatorError('no active credential with that api key');
        }
        output(options.json, { api_key: apiKey, revoked: true }, () => `revoked ${apiKey}`);
      }),
    );

  const apiKey = program.command('api-key').description('API keys of the partner API (X-Api-Key)');

  apiKey
    .command('create')
    .description('create an API key (shown once)')
    .requiredOption('--partner <platformCode>', 'the partner')
    .option('--label <label>', 'a note for operators')
    .option('--json', 'machine-readable output')
    .action((options: { partner: string; label?: string; json?: boolean }) =>
      withStore('api-key create', async ({ db }) => {
        const partner = await requirePartner(db, options.partner);
        const created = await createApiKey(db, partner.id, options.label ?? null);
        output(
          options.json,
          created,
          () => `API key for ${partner.platformCode} (not shown again): ${created.api_key}`,
        );
      }),
    );

  apiKey
    .command('revoke <idOrPrefix>')
    .description(
      'revoke an API key by id or by its first 10 characters (effective everywhere within the cache time, 5 s)',
    )
    .requiredOption('--partner <platformCode>', 'the partner')
    .option('--json', 'machine-readable output')
    .action((idOrPrefix: string, options: { partner: string; json?: boolean }) =>
      withStore('api-key revoke', async ({ db }) => {
        const partner = await requirePartner(db, options.partner);
        if (!(await revokeApiKey(db, partner.id, idOrPrefix, new Date()))) {
          throw new OperatorError('no active API key with that id or prefix');
        }
        output(options.json, { revoked: idOrPrefix }, () => `revoked ${idOrPrefix}`);
      }),
    );
}
