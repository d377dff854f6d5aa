import { type Config, parseConfig } from '../config.ts';
import { openStore, StartupError } from '../server.ts';
import { type Db, migrate } from '../store/database.ts';

/** Reads the config from the environment, or exits with one line per bad variable. */
export function loadConfig(): Config {
  const parsed = parseConfig(process.env);
  if (parsed.errors) {
    for (const error of parsed.errors) console.error(`handoff: invalid configuration: ${error}`);
    process.exit(1);
  }
  return parsed.config;
}

/**
 * Runs an operator command against the configured store (migrated first, unless the command is `migrate` itself,
 * which reports what it applied), closing it afterwards.
 */
export async function withStore<T>(
  command: string,
  work: (store: { db: Db; masterKey: Buffer; config: Config }) => Promise<T>,
): Promise<T> {
  const config = loadConfig();
  const store = await openStore(config, { command });
  try {
    if (command !== 'migrate') await migrate(store.db);
    return await work({ db: store.db, masterKey: store.masterKey, config });
  } catch (error) {
    if ((error as { code?: string }).code === 'ECONNREFUSED') {
      throw new StartupError(`cannot reach the database at ${redact(config.databaseUrl)}`);
    }
    throw error;
  } finally {
    await store.close();
  }
}

const redact = (url: string | undefined) => (url ?? '').replace(/\/\/[^@/]*@/, '//***@');
