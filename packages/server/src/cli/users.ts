import { type Command, Option } from 'commander';
import { createUser } from '../admin/accounts.ts';
import { participantStatuses } from '../store/participants.ts';
import type { ParticipantKind, ParticipantStatus } from '../store/schema.ts';
import { output } from './output.ts';
import { withStore } from './with-store.ts';

interface CreateOptions {
  partner: string;
  email: string;
  password?: string;
  status?: ParticipantStatus;
  identifier?: string;
  participantCode?: string;
  phone?: string;
  kind?: ParticipantKind;
  json?: boolean;
}

export function registerUserCommands(program: Command): void {
  const user = program.command('user').description("manage partners' end users (participants)");

  user
    .command('create')
    .description('create an end user')
    .requiredOption('--partner <platformCode>', 'the partner the user belongs to')
    .requiredOption('--email <email>', 'email address (unique per partner)')
    .option('--password <password>', 'password for POST /api/v1/user/login')
    .addOption(new Option('--status <status>', 'participant status').choices(participantStatuses).default('approved'))
    .option('--identifier <identifier>', 'link a partner-managed identifier (36-255 characters A-Z a-z 0-9)')
    .option('--participant-code <code>', '6 characters A-Z/0-9 (default: generated)')
    .option('--phone <e164>', 'phone number, E.164')
    .addOption(
      new Option('--kind <kind>', 'participant kind').choices(['individual', 'merchant']).default('individual'),
    )
    .option('--json', 'machine-readable output')
    .action((options: CreateOptions) =>
      withStore('user create', async ({ db }) => {
        const created = await createUser(
          db,
          {
            partnerCode: options.partner,
            email: options.email,
            password: options.password,
            status: options.status,
            identifier: options.identifier,
            participantCode: options.participantCode,
            phoneNumber: options.phone,
            kind: options.kind,
          },
          new Date(),
        );
        const value = {
          uuid: created.uuid,
          participant_code: created.participantCode,
          email: created.email,
          status: created.status,
        };
        output(options.json, value, () => `user ${value.participant_code} (${value.uuid}) created, ${value.status}`);
      }),
    );
}
