import { type Command, Option } from 'commander';
import { type SigningAlgorithm, signingAlgorithms } from '../config.ts';
import { KeyRing, rotateSigningKey } from '../crypto/signing-keys.ts';
import { output } from './output.ts';
import { withStore } from './with-store.ts';

export function registerKeyCommands(program: Command): void {
  const keys = program.command('keys').description('token signing keys');

  keys
    .command('list')
    .description('list signing keys and their state (pending, active, retiring, expired)')
    .option('--json', 'machine-readable output')
    .action((options: { json?: boolean }) =>
      withStore('keys list', async ({ db, masterKey }) => {
        const ring = new KeyRing(db, masterKey, Date.now);
        await ring.load();
        const rows = ring.all().map((k) => ({
          kid: k.kid,
          alg: k.alg,
          state: ring.stateOf(k),
          created_at: k.createdAt.toISOString(),
          activates_at: k.activatesAt.toISOString(),
        }));
        output(options.json, rows, () =>
          rows
            .map((r) => `${r.kid}  ${r.alg.padEnd(5)}  ${r.state.padEnd(8)}  signs from ${r.activates_at}`)
            .join('\n'),
        );
      }),
    );

  keys
    .command('rotate')
    .description('publish a new signing key now; it signs once JWKS caches have seen it')
    .addOption(new Option('--alg <alg>', 'algorithm (default: HANDOFF_SIGNING_ALG)').choices(signingAlgorithms))
    .option('--activate-in <seconds>', 'delay before it signs (default: HANDOFF_KEY_ACTIVATION_DELAY)')
    .option('--json', 'machine-readable output')
    .action((options: { alg?: SigningAlgorithm; activateIn?: string; json?: boolean }) =>
      withStore('keys rotate', async ({ db, masterKey, config }) => {
        const delay = options.activateIn === undefined ? config.keyActivationDelaySeconds : Number(options.activateIn);
        if (!Number.isInteger(delay) || delay < 0) throw new Error('--activate-in must be a whole number of seconds');
        const key = await rotateSigningKey(db, masterKey, options.alg ?? config.signingAlg, new Date(), delay);
        const value = { kid: key.kid, alg: key.alg, activates_at: key.activatesAt.toISOString() };
        output(
          options.json,
          value,
          () =>
            `published ${value.kid} (${value.alg}); it signs from ${value.activates_at}; the old key stays published until its tokens expire`,
        );
      }),
    );
}
