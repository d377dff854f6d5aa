import path from 'node:path';
import { benchEnv, createFixtures } from '../lib/handoff.ts';
import { alternate, type BenchSettings, measure } from '../lib/measure.ts';
import type { Paired, Row, Soak } from '../lib/report.ts';
import { SignedRequestSource } from '../lib/requests.ts';
import { checkClientTokens, clientTokenTarget, soak, startServer, stopServer } from './handoff-servers.ts';
import { startBareHttp } from './reference-servers.ts';

export interface EmbeddedOptions {
  users: number;
  /** Length of each of the two memory-soak loads (0 = none). */
  soakSeconds: number;
  /** Rounds of this server and bare node:http loaded in turn (0 = none). */
  pairedRounds: number;
  pairedSeconds: number;
}

/** The default deployment: one process, embedded PGlite in a data directory, replay guard and limits in memory. */
export async function benchEmbedded(
  settings: BenchSettings,
  options: EmbeddedOptions,
): Promise<{ rows: Row[]; soaks: Soak[]; paired: Paired['groups'] }> {
  const env = { ...benchEnv, HANDOFF_DATA_DIR: path.join(settings.workDir, 'embedded-data') };
  // The embedded store admits one process at a time: fixtures first, then the server.
  const fixtures = await createFixtures(env, options.users, 0);
  const source = SignedRequestSource.forFixtures(fixtures);
  const server = await startServer(settings, 'handoff embedded', env);
  try {
    await checkClientTokens(server, source, fixtures);
    const target = clientTokenTarget([server], source);
    const measured = await measure(settings, 'handoff-embedded', target);
    const row: Row = {
      id: 'handoff-embedded',
      label: 'Handoff POST /client_auth_token, embedded (PGlite, memory)',
      comparedWith: 'oidc-provider',
      ...measured,
    };
    const soaks: Soak[] = [];
    if (options.soakSeconds > 0) {
      soaks.push({
        id: row.id,
        ...(await soak(settings, 'handoff-embedded', target, measured.rps, options.soakSeconds)),
      });
    }
    const paired: Paired['groups'] = [];
    if (options.pairedRounds > 0) {
      const bare = await startBareHttp();
      try {
        const contenders = [
          { id: 'bare-http', target: bare.target, rps: 0 },
          { id: 'handoff-embedded', target, rps: measured.rps },
        ] as const;
        paired.push(await alternate(settings, contenders, options.pairedRounds, options.pairedSeconds));
      } finally {
        await bare.server.process.stop();
      }
    }
    return { rows: [row], soaks, paired };
  } finally {
    await stopServer(settings, server);
  }
}
