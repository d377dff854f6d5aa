import type { Command } from 'commander';
import { createPartnerAccount, OperatorError } from '../admin/accounts.ts';
import { findPartnerByCode, listPartners, setPartnerStatus, updatePartnerSettings } from '../store/partners.ts';
import type { PartnerSettings } from '../store/schema.ts';
import { output } from './output.ts';
import { withStore } from './with-store.ts';

export function registerPartnerCommands(program: Command): void {
  const partner = program.command('partner').description('manage partner platforms');

  partner
    .command('create')
    .description('create a partner with an HMAC credential, an API key and a username/password (shown once)')
    .requiredOption('--name <name>', 'company name')
    .option('--platform-code <code>', '6 characters A-Z/0-9 (default: generated)')
    .option('--username <username>', 'login for POST /api/v1/authenticate (default: the platform code in lower case)')
    .option('--json', 'machine-readable output')
    .action((options: { name: string; platformCode?: string; username?: string; json?: boolean }) =>
      withStore('partner create', async ({ db, masterKey }) => {
        const account = await createPartnerAccount(db, masterKey, {
          name: options.name,
          ...(options.platformCode ? { platformCode: options.platformCode } : {}),
          ...(options.username ? { username: options.username } : {}),
        });
        output(options.json, account, () =>
          [
            `Partner ${account.platform_code} created. Store these now: they are not shown again.`,
            '',
            'HMAC credential (POST /client_auth_token):',
            `  api key:    ${account.hmac.api_key}`,
            `  secret:     ${account.hmac.secret}`,
            `  passphrase: ${account.hmac.passphrase}`,
            '',
            'Partner API (/api/v1):',
            `  X-Api-Key:  ${account.api_key}`,
            `  username:   ${account.username}`,
            `  password:   ${account.password}`,
          ].join('\n'),
        );
      }),
    );

  partner
    .command('list')
    .description('list partners')
    .option('--json', 'machine-readable output')
    .action((options: { json?: boolean }) =>
      withStore('partner list', async ({ db }) => {
        const partners = await listPartners(db);
        const rows = partners.map((p) => ({
          platform_code: p.platformCode,
          name: p.name,
          status: p.status,
          username: p.username,
          created_at: p.createdAt.toISOString(),
        }));
        output(options.json, rows, () =>
          rows.length === 0
            ? 'no partners yet: create one with `handoff partner create --name NAME`'
            : rows.map((r) => `${r.platform_code}  ${r.status.padEnd(8)}  ${r.name}`).join('\n'),
        );
      }),
    );

  partner
    .command('settings <platformCode>')
    .description(
      "show or change a partner's settings (token lifetimes, return origins, rate limit; instances apply them within 5 s)",
    )
    .option('--login-token-ttl <seconds>', 'login-token lifetime, 1-3600 (default 300)')
    .option('--client-token-ttl <seconds>', 'client access token lifetime ceiling, 1-3600 (default 3600)')
    .option('--return-origin <origin...>', 'allowed returnUrl origins for identifier linking (replaces the list)')
    .option('--rate-limit <perMinute>', 'HMAC requests per minute per credential (0 = server default)')
    .option('--json', 'machine-readable output')
    .action(
      (
        platformCode: string,
        options: {
          loginTokenTtl?: string;
          clientTokenTtl?: string;
          returnOrigin?: string[];
          rateLimit?: string;
          json?: boolean;
        },
      ) =>
        withStore('partner settings', async ({ db }) => {
          const partner = await findPartnerByCode(db, platformCode);
          if (!partner) throw new OperatorError(`no partner with platform code ${platformCode}`);
          const settings: PartnerSettings = { ...partner.settings };
          const seconds = (value: string, name: string, max: number) => {
            const n = Number(value);
            if (!Number.isInteger(n) || n < 1 || n > max)
              throw new OperatorError(`${name} must be a whole number from 1 to ${max}`);
            return n;
          };
          if (options.loginTokenTtl)
            settings.loginTokenTtlSeconds = seconds(options.loginTokenTtl, '--login-token-ttl', 3600);
          if (options.clientTokenTtl)
            settings.clientTokenTtlSeconds = seconds(options.clientTokenTtl, '--client-token-ttl', 3600);
          if (options.rateLimit !== undefined) {
            const n = Number(options.rateLimit);
            if (!Number.isInteger(n) || n < 0) throw new OperatorError('--rate-limit must be a whole number ≥ 0');
            if (n === 0) delete settings.rateLimitPerMinute;
            else settings.rateLimitPerMinute = n;
          }
          if (options.returnOrigin) {
            settings.allowedReturnOrigins = options.returnOrigin.map((origin) => {
              let url: URL;
              try {
                url = new URL(origin);
              } catch {
                throw new OperatorError(`--return-origin ${origin} is not an absolute URL`);
              }
              if (url.protocol !== 'https:' && url.protocol !== 'http:') {
                throw new OperatorError(`--return-origin ${origin} must be http(s)`);
              }
              return url.origin;
            });
          }
          await updatePartnerSettings(db, platformCode, settings);
          output(options.json, { platform_code: platformCode, settings }, () =>
            [
              `${platformCode} settings:`,
              ...Object.entries(settings).map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`),
            ].join('\n'),
          );
        }),
    );

  for (const [command, status] of [
    ['disable', 'disabled'],
    ['enable', 'active'],
  ] as const) {
    partner
      .command(`${command} <platformCode>`)
      .description(
        `${command} a partner (its credentials ${status === 'disabled' ? 'stop' : 'start'} working on every instance within the cache time, 5 s)`,
      )
      .option('--json', 'machine-readable output')
      .action((platformCode: string, options: { json?: boolean }) =>
        withStore(`partner ${command}`, async ({ db }) => {
          if (!(await setPartnerStatus(db, platformCode, status))) {
            throw new OperatorError(`no partner with platform code ${platformCode}`);
          }
          output(options.json, { platform_code: platformCode, status }, () => `${platformCode} is ${status}`);
        }),
      );
  }
}
