import { buildApp } from '../app.ts';
import { createLogger } from '../logger.ts';
import { openServerContext } from '../server.ts';
import { limitHeapGrowth } from './heap-growth.ts';
import { loadConfig } from './with-store.ts';

/**
 * `handoff serve`: the composition root. SIGTERM/SIGINT stop accepting, let in-flight requests finish, flush the
 * audit buffer and exit 0.
 */
export async function serve(): Promise<void> {
  const config = loadConfig();
  limitHeapGrowth(process.execArgv, config.nodeOptions);
  const logger = createLogger(config);
  const server = await openServerContext(config, { logger, command: 'serve' });
  const app = buildApp(server.ctx);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const forced = setTimeout(() => {
      logger.error('shutdown took over 20 s; exiting');
      process.exit(1);
    }, 20_000);
    forced.unref();
    await app.close();
    await server.close();
    logger.info('stopped');
    process.exit(0);
  };
  // Kept for the whole shutdown: Ctrl-C under `npm start` reaches the server twice (from the terminal and from the
  // launcher), and a second signal without a handler would kill it before the audit buffer is flushed.
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  const address = await app.listen({ port: config.port, host: config.host });
  logger.info(
    { address, store: server.ctx.dbKind, redis: Boolean(config.redisUrl), publicUrl: config.publicUrl },
    'handoff listening',
  );
}
